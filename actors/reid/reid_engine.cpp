#include "actors/reid/reid_engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "actors/detector/appearance.hpp"

namespace weaver {

namespace {

constexpr timestamp_ms min_time = std::numeric_limits<timestamp_ms>::min();
constexpr timestamp_ms max_time = std::numeric_limits<timestamp_ms>::max();

} // namespace

reid_engine::reid_engine(reid_config cfg) : cfg_(cfg) {
}

reid_engine::camera_state& reid_engine::camera(uint32_t camera_id) {
  return cameras_.try_emplace(camera_id, camera_state{min_time, false, {}})
    .first->second;
}

void reid_engine::add_camera(uint32_t camera_id) {
  camera(camera_id);
}

timestamp_ms reid_engine::safe_time() const {
  timestamp_ms limit = max_time;
  for (const auto& [id, cam] : cameras_) {
    if (cam.ended)
      continue;
    limit = std::min(limit, cam.latest_ms);
    for (const auto& [track, open] : cam.open)
      limit = std::min(limit, open.last_ms);
  }
  return limit;
}

presence_batch reid_engine::on_tracks(const track_batch& b) {
  auto& cam = camera(b.camera_id);
  cam.latest_ms = std::max(cam.latest_ms, b.time_ms);
  for (const auto& e : b.events) {
    switch (e.state) {
      case track_state::started:
        cam.open[e.track_id] = {e.time_ms, e.time_ms};
        break;
      case track_state::updated: {
        // try_emplace: a track whose start we missed begins now.
        auto& t = cam.open.try_emplace(e.track_id, open_track{e.time_ms, e.time_ms})
                    .first->second;
        t.last_ms = std::max(t.last_ms, e.time_ms);
        break;
      }
      case track_state::ended: {
        timestamp_ms start = e.time_ms;
        if (auto i = cam.open.find(e.track_id); i != cam.open.end()) {
          start = std::min(start, i->second.start_ms);
          cam.open.erase(i);
        }
        if (e.time_ms - start < cfg_.min_track_ms)
          break;
        pending_[track_key{e.time_ms, b.camera_id, e.track_id}]
          = ended_track{start, e.feature};
        break;
      }
    }
  }
  return resolve_before(safe_time());
}

presence_batch reid_engine::on_end_of_stream(uint32_t camera_id) {
  auto& cam = camera(camera_id);
  cam.ended = true;
  cam.open.clear(); // their ended events will not come any more
  return resolve_before(safe_time());
}

presence_batch reid_engine::flush() {
  presence_batch out;
  for (const auto& [key, t] : pending_)
    resolve(key, t, out);
  pending_.clear();
  return out;
}

presence_batch reid_engine::resolve_before(timestamp_ms limit) {
  presence_batch out;
  auto i = pending_.begin();
  // Strictly before: another camera may still end a track exactly at `limit`.
  // With no live camera left the limit is max_time and everything goes.
  for (; i != pending_.end() && (std::get<0>(i->first) < limit || limit == max_time);
       ++i)
    resolve(i->first, i->second, out);
  pending_.erase(pending_.begin(), i);
  return out;
}

void reid_engine::resolve(const track_key& key, const ended_track& t,
                          presence_batch& out) {
  const auto& [end_ms, camera_id, track_id] = key;
  size_t best = persons_.size();
  float best_sim = -std::numeric_limits<float>::infinity();
  if (!t.feature.empty()) {
    for (size_t p = 0; p < persons_.size(); ++p) {
      const auto& cand = persons_[p];
      if (cand.last_camera == camera_id
          || cand.last_exit_ms < t.start_ms - cfg_.max_gap_ms)
        continue;
      float sim = cosine_similarity(t.feature, cand.prototype);
      if (sim >= cfg_.match_threshold && sim > best_sim) {
        best = p;
        best_sim = sim;
      }
    }
  }
  const bool fresh = best == persons_.size();
  if (fresh)
    persons_.emplace_back();
  auto& who = persons_[best];
  if (!t.feature.empty()) {
    if (who.feature_sum.empty())
      who.feature_sum.assign(t.feature.size(), 0.0);
    if (who.feature_sum.size() == t.feature.size()) {
      double norm = 0;
      for (size_t k = 0; k < t.feature.size(); ++k) {
        who.feature_sum[k] += t.feature[k];
        norm += who.feature_sum[k] * who.feature_sum[k];
      }
      norm = std::sqrt(norm);
      who.prototype.resize(t.feature.size());
      for (size_t k = 0; k < t.feature.size(); ++k)
        who.prototype[k] = norm > 0 ? static_cast<float>(who.feature_sum[k] / norm) : 0.f;
    }
  }
  who.last_camera = camera_id;
  // Resolution runs in end-time order, so this only moves forward.
  who.last_exit_ms = fresh ? end_ms : std::max(who.last_exit_ms, end_ms);
  uint64_t person_id = best + 1;
  out.identities.push_back({camera_id, track_id, person_id, fresh ? 1.0f : best_sim});
  out.rows.push_back({person_id, camera_id, t.start_ms, end_ms});
}

} // namespace weaver
