#include "actors/tracker/tracker_actor.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

#include "actors/sent_bytes.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"
#include "schemas/compact.hpp"

namespace weaver {

namespace {

using self_ptr = tracker_actor::stateful_pointer<tracker_state>;

camera_tracker& sort_of(self_ptr self, uint32_t camera) {
  auto& st = self->state;
  auto it = st.trackers.find(camera);
  if (it == st.trackers.end())
    it = st.trackers.emplace(camera, make_camera_tracker(st.kind, camera, st.cfg, st.deep)).first;
  return *it->second;
}

// The tracker's output of one frame (or its flush), repaired when repair is
// on; the boxes that became final go to the MOT log.
track_batch repaired(self_ptr self, track_batch tb, bool flush, int width = 0, int height = 0) {
  auto& st = self->state;
  if (!st.repair) {
    if (st.log) st.log->write(tb);
    return tb;
  }
  auto& r = st.repairs.try_emplace(tb.camera_id, *st.repair).first->second;
  if (width > 0 && height > 0) r.set_frame(width, height);
  auto step = flush ? r.flush(tb) : r.update(tb);
  if (st.log && !step.boxes.empty()) {
    track_batch rows; // as updated events: the log writes those at their own frame
    rows.camera_id = tb.camera_id;
    rows.seq = tb.seq;
    for (const auto& b : step.boxes) {
      track_event e;
      e.camera_id = tb.camera_id;
      e.track_id = b.track_id;
      e.frame_seq = b.frame_seq;
      e.bbox = b.bbox;
      rows.events.push_back(std::move(e));
    }
    st.log->write(rows);
  }
  return std::move(step.batch);
}

// Adds one zone event to the batch's visits (open on an entry, closed with
// the entry's time on an exit) and counts it.
void add_zone_event(self_ptr self, const zone_event& e, std::vector<zone_visit>& visits) {
  static const logger log{"zones"};
  if (e.kind == zone_event_kind::enter)
    visits.push_back({e.camera_id, e.track_id, e.name, e.time_ms, -1});
  else if (e.kind == zone_event_kind::exit)
    visits.push_back({e.camera_id, e.track_id, e.name, e.entered_ms, std::max(e.time_ms, e.entered_ms)});
  metrics::global().zone_events(e.camera_id, e.name, to_string(e.kind)).Increment();
  if (self->state.stats) self->state.stats->zone_events++;
  log.debug("camera ", e.camera_id, " track ", e.track_id, ": ", to_string(e.kind), " ", e.name, " at ", e.time_ms);
}

// The shapes edited since the last batch, into the monitors; the stays
// they end wait for their camera's next batch.
void take_zone_edits(self_ptr self) {
  auto& st = self->state;
  if (!st.zone_edits || st.zone_edits->version() == st.zone_version) return;
  static const logger log{"zones"};
  for (auto& [camera, shapes] : st.zone_edits->changed_since(st.zone_version, &st.zone_version)) {
    auto it = st.zones.find(camera);
    if (it == st.zones.end()) it = st.zones.emplace(camera, zone_monitor{camera, {}, {}}).first;
    const size_t zones = shapes.zones.size(), lines = shapes.lines.size();
    auto closed = it->second.replace(std::move(shapes.zones), std::move(shapes.lines));
    for (const auto& e : closed) add_zone_event(self, e, st.closed_by_edit[camera]);
    log.info("camera ", camera, ": zones edited, now ", zones, " zone(s) and ", lines, " line(s); ", closed.size(),
             " stay(s) in removed zones closed");
  }
}

// Counts the batch's events and adds its zone visits: open on a zone
// entry, closed (with the entry's time) on the exit.
void count(self_ptr self, track_batch& tb) {
  auto& st = self->state;
  if (st.live) st.live->offer_tracks(tb); // before compaction drops what re-id does not read
  // Crops ride on the batch to storage, in this process or over the mesh.
  if (st.live && st.crops) {
    auto frame_of = [live = st.live.get()](uint32_t camera, uint64_t seq) { return live->frame_at(camera, seq); };
    for (auto& c : st.evidence.update(tb, frame_of))
      if (c.jpeg.size() <= max_crop_bytes) tb.crops.push_back(std::move(c));
  }
  // The camera's picture for a gateway in another process, when due: the
  // frame of this batch's boxes (the view was just told of them).
  if (st.live && st.live_frames.enabled())
    tb.live = st.live_frames.sample(tb.camera_id, st.live->latest(tb.camera_id), live_sampler::clock::now());
  take_zone_edits(self);
  if (auto c = st.closed_by_edit.find(tb.camera_id); c != st.closed_by_edit.end()) {
    for (auto& v : c->second) tb.zone_visits.push_back(std::move(v));
    st.closed_by_edit.erase(c);
  }
  if (auto z = st.zones.find(tb.camera_id); z != st.zones.end())
    for (const auto& e : z->second.update(tb)) add_zone_event(self, e, tb.zone_visits);
  uint64_t started = 0;
  for (auto& e : tb.events)
    if (e.state == track_state::started) ++started;
  metrics::global().tracks_started(tb.camera_id).Increment(static_cast<double>(started));
  if (st.stats) st.stats->tracks += started;
  if (st.compact && st.update_features && st.update_feature_ms > 0)
    compact::thin_update_features(tb, st.features_kept[tb.camera_id], st.update_feature_ms);
  if (st.compact) compact::compact_for_link(tb, st.update_features);
  // Counted as a link to another process carries it: compacted there, the
  // updates' features kept only for this process's re-id would be dropped.
  // (Uncompacted, every event keeps its feature on any link; thinned, they
  // are for re-id in another process and cross it.)
  if (st.compact && st.update_features && st.update_feature_ms == 0)
    count_sent_tracks(st.stats, "tracker->reid", tb);
  else
    count_sent(st.stats, "tracker->reid", tb);
}

// Snapshots every camera's tracker into state_file, atomically, after every
// message whose output re-id acknowledged and before acknowledging it
// upstream: what upstream stops re-sending is exactly what the snapshot
// holds (with `progress`, so a re-sent message is recognised). A kill -9
// keeps what was written (no fsync: a power cut is not covered).
void save(self_ptr self) {
  auto& st = self->state;
  if (!st.snapshots.due(true)) return;
  nlohmann::json j;
  for (const auto& [cam, t] : st.trackers) j[std::to_string(cam)] = t->snapshot();
  // Who is inside which zone since when: a restarted tracker must neither
  // enter again nor lose the stays still open.
  auto& zones = j["zones"] = nlohmann::json::object();
  for (const auto& [cam, z] : st.zones) zones[std::to_string(cam)] = z.snapshot();
  // Which tracker track continues which fragment, and what is held back.
  auto& repairs = j["repairs"] = nlohmann::json::object();
  for (const auto& [cam, r] : st.repairs) repairs[std::to_string(cam)] = r.snapshot();
  // The time of each camera's last frame: an end of stream flushes at it.
  auto& last = j["last_time"] = nlohmann::json::object();
  for (const auto& [cam, t] : st.last_time) last[std::to_string(cam)] = t;
  j["progress"] = st.progress.snapshot();
  st.snapshots.save(j.dump(), "tracker");
}

void restore(self_ptr self) {
  auto& st = self->state;
  static const logger log{"tracker"};
  auto text = st.snapshots.load();
  if (!text) return;
  try {
    auto j = nlohmann::json::parse(*text);
    nlohmann::json zones, repairs, last_time, progress;
    if (auto it = j.find("zones"); it != j.end()) {
      zones = std::move(*it);
      j.erase(it);
    }
    if (auto it = j.find("last_time"); it != j.end()) {
      last_time = std::move(*it);
      j.erase(it);
    }
    if (auto it = j.find("progress"); it != j.end()) {
      progress = std::move(*it);
      j.erase(it);
    }
    if (auto it = j.find("repairs"); it != j.end()) {
      repairs = std::move(*it);
      j.erase(it);
    }
    for (const auto& [cam, text] : j.items()) {
      auto id = static_cast<uint32_t>(std::stoul(cam));
      auto t = make_camera_tracker(st.kind, id, st.cfg, st.deep);
      t->restore(text.get<std::string>());
      st.trackers[id] = std::move(t);
    }
    if (zones.is_object())
      for (const auto& [cam, text] : zones.items())
        if (auto z = st.zones.find(static_cast<uint32_t>(std::stoul(cam))); z != st.zones.end())
          z->second.restore(text.get<std::string>());
    if (repairs.is_object() && st.repair)
      for (const auto& [cam, text] : repairs.items()) {
        tracklet_repair r{*st.repair};
        r.restore(text.get<std::string>());
        st.repairs.insert_or_assign(static_cast<uint32_t>(std::stoul(cam)), std::move(r));
      }
    if (last_time.is_object())
      for (const auto& [cam, t] : last_time.items())
        st.last_time[static_cast<uint32_t>(std::stoul(cam))] = t.get<timestamp_ms>();
    if (progress.is_string()) st.progress.restore(progress.get<std::string>());
    log.info("restored ", st.trackers.size(), " camera tracker(s) from ", st.snapshots.path());
  } catch (const std::exception& e) {
    st.trackers.clear();
    st.repairs.clear();
    st.last_time.clear();
    st.progress = stream_progress{};
    log.error("cannot restore ", st.snapshots.path(), " (starting empty): ", e.what());
  }
}

} // namespace

tracker_actor::behavior_type tracker_actor_impl(tracker_actor::stateful_pointer<tracker_state> self, sort_config cfg,
                                                reid_actor reid, run_stats_ptr stats, tracker_extras extras) {
  for (auto& z : extras.zones)
    if (!z.empty()) self->state.zones.emplace(z.camera_id(), std::move(z));
  self->state.zone_edits = std::move(extras.zone_edits);
  self->state.log = std::move(extras.log);
  self->state.dnn_appearance = extras.dnn_appearance;
  self->state.compact = extras.compact;
  self->state.update_features = extras.update_features;
  self->state.update_feature_ms = extras.update_feature_ms;
  self->state.live = std::move(extras.live);
  self->state.crops = std::move(extras.crops);
  self->state.live_frames = live_sampler{extras.live_frames};
  self->state.kind = extras.kind;
  self->state.deep = extras.deep;
  self->state.repair = extras.repair;
  self->state.snapshots = state_file{extras.state_file};
  self->state.cfg = cfg; // before restore: a snapshot holds tracks, not max_age / min_hits
  restore(self);
  self->state.reid = std::move(reid);
  self->state.stats = std::move(stats);
  return {[=](detection_batch& b) -> caf::typed_response_promise<caf::ok_atom> {
            auto& st = self->state;
            auto rp = self->make_response_promise<caf::ok_atom>();
            // Processed before (an upstream re-sent it, or a file camera replays
            // after a restart): its tracks are in re-id already.
            if (st.progress.covered(b.camera_id, b.capture_ms, b.seq)) {
              rp.deliver(caf::ok_atom::value);
              return rp;
            }
            auto t0 = std::chrono::steady_clock::now();
            if (st.dnn_appearance)
              for (auto& d : b.detections)
                if (!d.embedding.empty()) d.feature = std::move(d.embedding);
            auto& sort = sort_of(self, b.camera_id);
            auto tb = repaired(self, sort.update(b), false, b.width, b.height);
            st.last_time[b.camera_id] = b.capture_ms;
            if (st.zone_edits) st.zone_edits->note_frame(b.camera_id, b.width, b.height);
            st.progress.advance(b.camera_id, b.capture_ms, b.seq);
            metrics::global().tracks_active(b.camera_id).Set(static_cast<double>(sort.active()));
            metrics::global().stage_latency("track").Observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            count(self, tb);
            // await, not then: no other message changes the state until this one's
            // output is acknowledged and saved, so each snapshot holds whole
            // messages only (exactly those acknowledged upstream).
            self->request(st.reid, caf::infinite, std::move(tb))
              .await(
                [self, rp](caf::ok_atom) mutable {
                  save(self);
                  rp.deliver(caf::ok_atom::value);
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
            return rp;
          },
          [=](end_of_stream& eos) -> caf::typed_response_promise<caf::ok_atom> {
            auto& st = self->state;
            auto rp = self->make_response_promise<caf::ok_atom>();
            if (st.progress.ended(eos.camera_id)) {
              rp.deliver(caf::ok_atom::value);
              return rp;
            }
            // End every open track, then pass the end of stream on; a flush re-id
            // did not take fails the end of stream (its tracks never ended there).
            const auto last = st.last_time[eos.camera_id];
            auto tb = repaired(self, sort_of(self, eos.camera_id).flush(last), true);
            // The flush goes at the last frame's time with the next seq, a
            // position of its own in re-id's progress.
            tb.seq += 1;
            st.progress.advance(eos.camera_id, last, tb.seq);
            st.progress.end(eos.camera_id);
            count(self, tb);
            // The end of stream goes after the flush's answer, so re-id has both
            // in order whatever carries them (a bridge too).
            auto pass_on = [self, rp, eos](caf::error flush_error) mutable {
              self->request(self->state.reid, caf::infinite, eos)
                .await(
                  [self, rp, flush_error](caf::ok_atom) mutable {
                    save(self);
                    if (flush_error)
                      rp.deliver(flush_error);
                    else
                      rp.deliver(caf::ok_atom::value);
                  },
                  [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
            };
            self->request(st.reid, caf::infinite, std::move(tb))
              .await([pass_on](caf::ok_atom) mutable { pass_on(caf::error{}); },
                     [pass_on, camera = eos.camera_id](caf::error& e) mutable {
                       static const logger log{"tracker"};
                       log.error("camera ", camera, ": re-id did not take the end-of-stream flush: ", to_string(e));
                       pass_on(std::move(e));
                     });
            return rp;
          }};
}

} // namespace weaver
