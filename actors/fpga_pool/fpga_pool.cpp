#include "actors/fpga_pool/fpga_pool.hpp"

#include <caf/send.hpp>
#include <caf/sec.hpp>

#include "services/metrics.hpp"

namespace weaver {

namespace {

void dispatch(fpga_pool_actor::stateful_pointer<fpga_pool_state> self) {
  auto& st = self->state;
  std::vector<uint64_t> stale;
  auto plan = st.sched.schedule(steady_now_ns(), st.max_age_ns, &stale);
  for (auto ticket : stale) {
    auto it = st.jobs.find(ticket);
    if (it == st.jobs.end()) continue;
    auto cam = it->second.job.input->camera_id;
    metrics::global().frames_dropped(cam, "stale").Increment();
    if (st.stats) st.stats->frames_dropped++;
    it->second.rp.deliver(caf::make_error(caf::sec::request_timeout));
    st.jobs.erase(it);
  }
  auto handle = caf::actor_cast<fpga_pool_actor>(self);
  for (auto& d : plan) {
    auto& p = st.jobs.at(d.ticket);
    st.cards[d.card]->submit(d.ticket, p.job, [handle](inference_result r) {
      caf::anon_send(handle, std::move(r));
    });
  }
}

} // namespace

fpga_pool_actor::behavior_type
fpga_pool(fpga_pool_actor::stateful_pointer<fpga_pool_state> self,
          std::vector<std::shared_ptr<card>> cards, int64_t max_age_ms, run_stats_ptr stats) {
  auto& st = self->state;
  st.cards = std::move(cards);
  for (auto& c : st.cards) st.sched.add_card(c->name(), c->capacity());
  st.max_age_ns = max_age_ms * 1000000;
  st.stats = std::move(stats);
  return {
    [=](inference_job& job) -> caf::typed_response_promise<detection_batch> {
      auto& st = self->state;
      auto rp = self->make_response_promise<detection_batch>();
      auto ticket = st.next_ticket++;
      st.sched.enqueue(ticket, job.input->camera_id, job.admitted_ns);
      st.jobs.emplace(ticket, fpga_pool_state::pending{std::move(job), rp});
      dispatch(self);
      return rp;
    },
    [=](inference_result& r) {
      auto& st = self->state;
      st.sched.complete(r.ticket, r.service_s);
      metrics::global().card_jobs(r.card).Increment();
      metrics::global().stage_latency("detect").Observe(r.service_s);
      auto it = st.jobs.find(r.ticket);
      if (it != st.jobs.end()) {
        if (r.ok)
          it->second.rp.deliver(std::move(r.batch));
        else
          it->second.rp.deliver(caf::make_error(caf::sec::runtime_error, r.card + ": " + r.error));
        st.jobs.erase(it);
      }
      dispatch(self);
    }};
}

} // namespace weaver
