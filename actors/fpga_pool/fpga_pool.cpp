#include "actors/fpga_pool/fpga_pool.hpp"

#include <algorithm>

#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "base/errors.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"

namespace weaver {

namespace {

const logger log{"fpga_pool"};

using self_ptr = fpga_pool_actor::stateful_pointer<fpga_pool_state>;

void drop_jobs(fpga_pool_state& st, const std::vector<pool_scheduler::drop>& drops) {
  for (auto& d : drops) {
    metrics::global().frames_dropped(d.camera, d.reason).Increment();
    if (st.stats) st.stats->frames_dropped++;
    auto it = st.jobs.find(d.ticket);
    if (it == st.jobs.end()) continue;
    // frame_dropped tells the detector the pool counted the drop.
    it->second.rp.deliver(make_error(errc::frame_dropped, d.reason));
    st.jobs.erase(it);
  }
}

void dispatch(self_ptr self) {
  auto& st = self->state;
  std::vector<pool_scheduler::drop> drops;
  const int64_t now = steady_now_ns();
  auto plan = st.sched.schedule(now, &drops);
  drop_jobs(st, drops);
  auto handle = caf::actor_cast<fpga_pool_actor>(self);
  for (auto& d : plan) {
    std::vector<card_job> batch;
    batch.reserve(d.jobs.size());
    for (auto& j : d.jobs) {
      metrics::global().pool_wait().Observe(static_cast<double>(now - j.admitted_ns) / 1e9);
      batch.push_back(card_job{j.ticket, st.jobs.at(j.ticket).job});
    }
    auto id = d.batch;
    auto card = d.card;
    // The completion runs on a card thread: it only posts a message.
    st.cards[card]->submit(std::move(batch), [handle, id, card](batch_result r) {
      caf::anon_send(handle, card_done{id, card, std::move(r)});
    });
  }
}

void take_down(self_ptr self, size_t card, const std::string& reason, const std::string& what) {
  auto& st = self->state;
  const int64_t now = steady_now_ns();
  auto back = st.sched.card_down(card, now);
  const auto& name = st.cards[card]->name();
  metrics::global().card_errors(name, reason).Increment();
  metrics::global().card_up(name).Set(0);
  st.next_probe_ns[card] = now + st.settings.probe_ms * 1'000'000;
  log.warn("card ", name, " down (", reason, ": ", what, "); ", back.size(), " job(s) go back to the queues");
}

void tick(self_ptr self) {
  auto& st = self->state;
  const int64_t now = steady_now_ns();
  for (auto card : st.sched.overdue(now))
    take_down(self, card, "timeout",
              "no completion for " + std::to_string(st.sched.card_timeout_ns(card) / 1'000'000) + " ms");
  for (size_t i = 0; i < st.cards.size(); ++i) {
    if (st.sched.card_is_up(i) || now < st.next_probe_ns[i]) continue;
    std::string why;
    if (st.cards[i]->probe(&why)) {
      st.sched.card_up(i, now);
      metrics::global().card_up(st.cards[i]->name()).Set(1);
      log.info("card ", st.cards[i]->name(), " is back in the pool");
    } else {
      st.next_probe_ns[i] = now + st.settings.probe_ms * 1'000'000;
    }
  }
  std::vector<pool_scheduler::drop> drops;
  st.sched.expire(now, &drops);
  drop_jobs(st, drops);
  // Queue gauges on the timer, not per dispatch: one Set per camera per
  // dispatch would cost O(cameras) on the hot path.
  for (auto c : st.cameras) metrics::global().pool_queue_depth(c).Set(static_cast<double>(st.sched.queued(c)));
  // Busy ratios over the last quarter second or so.
  const double dt = static_cast<double>(now - st.gauge_mark_ns) / 1e9;
  if (dt >= 0.25) {
    for (size_t i = 0; i < st.cards.size(); ++i) {
      double busy = st.sched.card_busy_s(i, now);
      double ratio = (busy - st.busy_mark_s[i]) / (dt * st.cards[i]->info().capacity);
      metrics::global().card_busy(st.cards[i]->name()).Set(std::clamp(ratio, 0.0, 1.0));
      st.busy_mark_s[i] = busy;
    }
    st.gauge_mark_ns = now;
  }
  dispatch(self);
}

} // namespace

pool_scheduler::card_spec card_spec_of(const card& c, int64_t timeout_ms) {
  const auto& i = c.info();
  pool_scheduler::card_spec s;
  s.name = i.name;
  s.capacity = i.capacity;
  s.max_batch = i.max_batch;
  s.initial_service_s = i.nominal_service_s;
  for (int b = 1; b <= i.max_batch; ++b) s.batch_cost.push_back(c.batch_cost(b));
  s.timeout_ns = timeout_ms * 1'000'000;
  return s;
}

fpga_pool_actor::behavior_type fpga_pool(fpga_pool_actor::stateful_pointer<fpga_pool_state> self,
                                         std::vector<std::shared_ptr<card>> cards, pool_settings settings,
                                         run_stats_ptr stats) {
  auto& st = self->state;
  st.settings = settings;
  st.sched = pool_scheduler{settings.sched};
  st.cards = std::move(cards);
  for (auto& c : st.cards) {
    st.sched.add_card(card_spec_of(*c, settings.card_timeout_ms));
    metrics::global().card_up(c->name()).Set(1);
  }
  st.next_probe_ns.assign(st.cards.size(), 0);
  st.busy_mark_s.assign(st.cards.size(), 0.0);
  st.jobs_done.assign(st.cards.size(), 0);
  st.gauge_mark_ns = steady_now_ns();
  st.stats = std::move(stats);
  self->delayed_send(self, std::chrono::milliseconds{settings.tick_ms}, tick_atom::value);
  return {[=](inference_job& job) -> caf::typed_response_promise<detection_batch> {
            auto& st = self->state;
            auto rp = self->make_response_promise<detection_batch>();
            auto ticket = st.next_ticket++;
            auto camera = job.input->camera_id;
            auto admitted = job.admitted_ns ? job.admitted_ns : steady_now_ns();
            st.cameras.insert(camera);
            st.jobs.emplace(ticket, fpga_pool_state::pending{std::move(job), rp});
            std::vector<pool_scheduler::drop> drops;
            st.sched.enqueue(ticket, camera, admitted, &drops);
            drop_jobs(st, drops);
            dispatch(self);
            return rp;
          },
          [=](status_atom) -> std::string {
            auto& st = self->state;
            const int64_t now = steady_now_ns();
            nlohmann::json j;
            j["queued"] = st.sched.queued();
            j["in_flight"] = st.sched.in_flight();
            j["cards"] = nlohmann::json::array();
            for (size_t i = 0; i < st.cards.size(); ++i)
              j["cards"].push_back({{"name", st.cards[i]->name()},
                                    {"kind", st.cards[i]->info().kind},
                                    {"up", st.sched.card_is_up(i)},
                                    {"jobs_outstanding", st.sched.card_jobs(i)},
                                    {"jobs_done", st.jobs_done[i]},
                                    {"ewma_service_s", st.sched.ewma_service_s(i)},
                                    {"busy_s", st.sched.card_busy_s(i, now)}});
            return j.dump();
          },
          [=](card_done& d) {
            auto& st = self->state;
            const auto& name = st.cards[d.card]->name();
            auto& r = d.result;
            if (!r.ok) {
              // A late failure of a batch already failed over changes nothing.
              if (st.sched.outstanding(d.batch)) take_down(self, d.card, "error", r.error);
              dispatch(self);
              return;
            }
            if (!st.sched.complete(d.batch, r.service_s, steady_now_ns())) {
              const auto before = st.sched.card_timeout_ns(d.card);
              const auto after = st.sched.slow_completion(d.card, r.service_s);
              log.warn("card ", name, ": late results of batch ", d.batch, " ignored (failed over)",
                       after > before
                         ? "; slow, not hung: its timeout is now " + std::to_string(after / 1'000'000) + " ms"
                         : std::string{});
              return;
            }
            metrics::global().card_jobs(name).Increment(static_cast<double>(r.results.size()));
            st.jobs_done[d.card] += r.results.size();
            metrics::global().card_service(name).Observe(r.service_s);
            metrics::global().stage_latency("detect").Observe(r.service_s);
            for (auto& jr : r.results) {
              auto it = st.jobs.find(jr.ticket);
              if (it == st.jobs.end()) continue;
              if (jr.ok)
                it->second.rp.deliver(std::move(jr.batch));
              else
                it->second.rp.deliver(make_error(errc::card_failed, name + ": " + jr.error));
              st.jobs.erase(it);
            }
            dispatch(self);
          },
          [=](tick_atom) {
            tick(self);
            self->delayed_send(self, std::chrono::milliseconds{self->state.settings.tick_ms}, tick_atom::value);
          }};
}

} // namespace weaver
