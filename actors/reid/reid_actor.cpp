#include "actors/reid/reid_actor.hpp"

#include <nlohmann/json.hpp>

#include "actors/sent_bytes.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"

namespace weaver {

namespace {

using self_ptr = reid_actor::stateful_pointer<reid_state>;

// Snapshots the engine (with `progress`) after every message whose output
// storage committed and before acknowledging it upstream: what upstream
// stops re-sending is exactly what the snapshot holds.
void save(self_ptr self) {
  auto& st = self->state;
  if (!st.snapshots.due(true)) return;
  nlohmann::json j{{"engine", st.engine->snapshot()}, {"progress", st.progress.snapshot()}};
  st.snapshots.save(j.dump(), "reid");
}

// Stores a batch (if any), saves when `save_after` (a message is whole),
// then runs `then(error)` (empty: stored). await: no other message changes
// the engine before this one is saved.
template <class F>
void store(self_ptr self, presence_batch pb, F then, bool save_after = true) {
  auto& st = self->state;
  if (pb.rows.empty() && pb.identities.empty() && pb.merges.empty() && pb.zone_visits.empty() && pb.crops.empty()
      && !pb.live) {
    if (save_after) save(self);
    then(caf::error{});
    return;
  }
  metrics::global().identities().Increment(static_cast<double>(pb.identities.size()));
  if (st.stats) st.stats->identities += pb.identities.size();
  count_sent(st.stats, "reid->storage", pb);
  self->request(st.storage, caf::infinite, std::move(pb))
    .await(
      [self, then, save_after](caf::ok_atom) mutable {
        if (save_after) save(self);
        then(caf::error{});
      },
      [then](caf::error& e) mutable { then(std::move(e)); });
}

// Live person ids: the batch's open tracks matched when due, the outcomes of
// ended ones counted, each camera's table handed to the live view.
void guess_live(self_ptr self, const track_batch& tb, const presence_batch& pb, uint64_t people_before) {
  auto& st = self->state;
  if (!st.live && !st.mesh_live) return;
  const auto& engine = *st.engine;
  st.live_ids.on_tracks(
    tb, [&engine](uint32_t c, uint64_t t, const std::vector<float>& f) { return engine.open_match(c, t, f); },
    people_before);
  st.live_ids.on_final(pb.identities);
  const auto& now = st.live_ids.stats();
  auto& was = st.counted;
  auto add = [](const char* outcome, uint64_t n, uint64_t& before) {
    if (n > before) metrics::global().live_ids(outcome).Increment(static_cast<double>(n - before));
    before = n;
  };
  add("agreed", now.agreed, was.agreed);
  add("differed", now.differed, was.differed);
  add("unguessed_new", now.unguessed_new, was.unguessed_new);
  add("unguessed_known", now.unguessed_known, was.unguessed_known);
  // A person taken by a better match elsewhere changes other cameras' tables.
  if (st.live)
    for (auto camera : st.live->cameras()) st.live->offer_people(camera, st.live_ids.table(camera));
}

// A live frame from a tracker elsewhere: each box's open track's provisional person.
void name_live_boxes(const live_identity& ids, live_frame& f) {
  for (auto& b : f.boxes)
    if (auto p = ids.provisional(f.camera_id, b.track_id)) b.person = *p;
}

// Delivers ok, or the error, to `rp`.
auto reply_to(caf::typed_response_promise<caf::ok_atom> rp) {
  return [rp](caf::error e) mutable {
    if (e)
      rp.deliver(std::move(e));
    else
      rp.deliver(caf::ok_atom::value);
  };
}

} // namespace

reid_actor::behavior_type reid_actor_impl(reid_actor::stateful_pointer<reid_state> self, reid_config cfg,
                                          std::vector<uint32_t> cameras, storage_actor storage, run_stats_ptr stats,
                                          std::string state_file, reid_tap tap, std::shared_ptr<live_view> live,
                                          bool mesh_live) {
  auto& st = self->state;
  st.tap = std::move(tap);
  st.live = std::move(live);
  st.mesh_live = mesh_live && !st.live;
  st.engine = std::make_unique<reid_engine>(cfg);
  for (auto c : cameras) st.engine->add_camera(c);
  st.snapshots = weaver::state_file{std::move(state_file)};
  if (auto text = st.snapshots.load()) {
    static const logger log{"reid"};
    try {
      // {"engine", "progress"}; an older file is the engine's text alone.
      auto j = nlohmann::json::parse(*text, nullptr, false);
      if (j.is_object() && j.contains("engine") && j.contains("progress")) {
        st.engine->restore(j.at("engine").get<std::string>());
        st.progress.restore(j.at("progress").get<std::string>());
      } else {
        st.engine->restore(*text);
      }
      for (auto c : cameras) st.engine->add_camera(c);
      log.info("restored state from ", st.snapshots.path(), ": ", st.engine->people(), " people");
    } catch (const std::exception& e) {
      log.error("cannot restore ", st.snapshots.path(), " (starting empty): ", e.what());
    }
  }
  st.storage = std::move(storage);
  st.stats = std::move(stats);
  return {[=](track_batch& tb) -> caf::typed_response_promise<caf::ok_atom> {
            auto& st = self->state;
            auto rp = self->make_response_promise<caf::ok_atom>();
            // Processed before (the tracker re-sent it or regenerated it after a
            // restart): what it resolved is stored already.
            if (st.progress.covered(tb.camera_id, tb.time_ms, tb.seq)) {
              rp.deliver(caf::ok_atom::value);
              return rp;
            }
            // Crops and live frames only pass through (not into the recording:
            // re-id never reads them).
            auto crops = std::move(tb.crops);
            tb.crops.clear();
            auto live = std::move(tb.live);
            tb.live.reset();
            if (st.tap.batch) st.tap.batch(tb);
            const uint64_t people_before = st.engine->people();
            auto pb = st.engine->on_tracks(tb);
            guess_live(self, tb, pb, people_before);
            st.progress.advance(tb.camera_id, tb.time_ms, tb.seq);
            // Zone visits are per track; storage keeps them beside the identities.
            pb.zone_visits = std::move(tb.zone_visits);
            pb.crops = std::move(crops);
            if (live && st.mesh_live) name_live_boxes(st.live_ids, *live);
            pb.live = std::move(live);
            store(self, std::move(pb), reply_to(rp));
            return rp;
          },
          [=](end_of_stream& eos) -> caf::typed_response_promise<caf::ok_atom> {
            auto& st = self->state;
            auto rp = self->make_response_promise<caf::ok_atom>();
            if (st.progress.ended(eos.camera_id)) {
              rp.deliver(caf::ok_atom::value);
              return rp;
            }
            if (st.tap.end) st.tap.end(eos);
            // Store what the end of stream resolved, then pass it on to storage;
            // saved (as ended) once storage took both, not between: a restart in
            // between resolves the end of stream again from the state before it.
            auto pb = st.engine->on_end_of_stream(eos.camera_id);
            if (st.live) {
              st.live_ids.end_camera(eos.camera_id);
              track_batch none;
              none.camera_id = eos.camera_id;
              guess_live(self, none, pb, st.engine->people());
              const auto& n = st.live_ids.stats();
              static const logger log{"reid"};
              log.info("live person ids of ended tracks: ", n.agreed, " as final, ", n.differed, " another person, ",
                       n.unguessed_new, " none (a new person), ", n.unguessed_known, " none (a known person); ",
                       n.matches, " gallery scans");
            }
            store(
              self, std::move(pb),
              [self, rp, eos](caf::error e) mutable {
                if (e) {
                  rp.deliver(std::move(e));
                  return;
                }
                self->request(self->state.storage, caf::infinite, eos)
                  .await(
                    [self, rp, camera = eos.camera_id](caf::ok_atom) mutable {
                      self->state.progress.end(camera);
                      save(self);
                      rp.deliver(caf::ok_atom::value);
                    },
                    [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
              },
              false);
            return rp;
          }};
}

} // namespace weaver
