#include "actors/reid/reid_actor.hpp"

#include "actors/sent_bytes.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"

namespace weaver {

namespace {

using self_ptr = reid_actor::stateful_pointer<reid_state>;

// Snapshots the engine once what it resolved is committed, at most once a
// second (and always when `force`), so a restart resumes from committed state.
void maybe_save(self_ptr self, bool force) {
  auto& st = self->state;
  if (st.snapshots.due(force)) st.snapshots.save(st.engine->snapshot(), "reid");
}

// Stores a batch (if any) and delivers `rp` (when valid) once committed.
void store(self_ptr self, presence_batch pb, caf::typed_response_promise<caf::ok_atom> rp,
           bool force_save = false) {
  auto& st = self->state;
  if (pb.rows.empty() && pb.identities.empty() && pb.merges.empty() && pb.zone_visits.empty()) {
    maybe_save(self, force_save);
    if (rp.pending()) rp.deliver(caf::ok_atom::value);
    return;
  }
  metrics::global().identities().Increment(static_cast<double>(pb.identities.size()));
  if (st.stats) st.stats->identities += pb.identities.size();
  count_sent(st.stats, "reid->storage", pb);
  self->request(st.storage, caf::infinite, std::move(pb))
    .then([self, rp, force_save](caf::ok_atom) mutable {
            maybe_save(self, force_save);
            if (rp.pending()) rp.deliver(caf::ok_atom::value);
          },
          [rp](caf::error& e) mutable { if (rp.pending()) rp.deliver(std::move(e)); });
}

} // namespace

reid_actor::behavior_type reid_actor_impl(reid_actor::stateful_pointer<reid_state> self,
                                          reid_config cfg, std::vector<uint32_t> cameras,
                                          storage_actor storage, run_stats_ptr stats,
                                          std::string state_file, reid_tap tap) {
  auto& st = self->state;
  st.tap = std::move(tap);
  st.engine = std::make_unique<reid_engine>(cfg);
  for (auto c : cameras) st.engine->add_camera(c);
  st.snapshots = weaver::state_file{std::move(state_file)};
  if (auto text = st.snapshots.load()) {
    static const logger log{"reid"};
    try {
      st.engine->restore(*text);
      for (auto c : cameras) st.engine->add_camera(c);
      log.info("restored state from ", st.snapshots.path(), ": ", st.engine->people(), " people");
    } catch (const std::exception& e) {
      log.error("cannot restore ", st.snapshots.path(), " (starting empty): ", e.what());
    }
  }
  st.storage = std::move(storage);
  st.stats = std::move(stats);
  return {
    [=](track_batch& tb) -> caf::typed_response_promise<caf::ok_atom> {
      auto rp = self->make_response_promise<caf::ok_atom>();
      if (self->state.tap.batch) self->state.tap.batch(tb);
      auto pb = self->state.engine->on_tracks(tb);
      // Zone visits are per track; storage keeps them beside the identities.
      pb.zone_visits = std::move(tb.zone_visits);
      store(self, std::move(pb), rp);
      return rp;
    },
    [=](end_of_stream& eos) -> caf::typed_response_promise<caf::ok_atom> {
      auto& st = self->state;
      auto rp = self->make_response_promise<caf::ok_atom>();
      if (st.tap.end) st.tap.end(eos);
      // Store what the end of stream resolved, then pass it on to storage
      // (messages from one actor to another arrive in order).
      store(self, st.engine->on_end_of_stream(eos.camera_id), {}, true);
      self->request(st.storage, caf::infinite, eos)
        .then([rp](caf::ok_atom) mutable { rp.deliver(caf::ok_atom::value); },
              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    }};
}

} // namespace weaver
