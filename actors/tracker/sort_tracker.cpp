#include "actors/tracker/sort_tracker.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "actors/tracker/assignment.hpp"
#include "actors/tracker/track_snapshot.hpp"

namespace weaver {

sort_tracker::sort_tracker(uint32_t camera_id, sort_config cfg) : camera_id_(camera_id), cfg_(cfg) {}

size_t sort_tracker::active() const {
  return static_cast<size_t>(std::count_if(tracks_.begin(), tracks_.end(), [](const track& t) { return t.id != 0; }));
}

track_batch sort_tracker::update(const detection_batch& b) {
  track_batch out;
  out.camera_id = camera_id_;
  out.seq = b.seq;
  out.time_ms = b.capture_ms;
  last_seq_ = b.seq;
  const auto& dets = b.detections;
  const int rows = static_cast<int>(tracks_.size());
  const int cols = static_cast<int>(dets.size());
  // Cost 1 - IoU against the predicted boxes; pairs below the IoU gate or of
  // different classes are infeasible.
  std::vector<double> cost(static_cast<size_t>(rows) * cols);
  for (int r = 0; r < rows; ++r) {
    box predicted = tracks_[r].filter.predict();
    for (int c = 0; c < cols; ++c) {
      double overlap = iou(predicted, dets[c].bbox);
      bool feasible = overlap > 0 && overlap >= cfg_.iou_threshold && dets[c].class_id == tracks_[r].class_id;
      cost[static_cast<size_t>(r) * cols + c] = feasible ? 1.0 - overlap : std::numeric_limits<double>::infinity();
    }
  }
  auto m = match(cost, rows, cols, 1.0);
  const int min_hits = std::max(cfg_.min_hits, 1);
  for (auto [r, c] : m.matches) {
    auto& t = tracks_[r];
    t.filter.update(dets[c].bbox);
    t.observe(dets[c], b);
    if (t.id != 0) {
      auto e = t.event(camera_id_, track_state::updated);
      e.feature = dets[c].feature;
      out.events.push_back(std::move(e));
    } else if (t.hits >= min_hits) {
      out.events.push_back(t.started(camera_id_, next_id_++, dets[c]));
    }
  }
  std::vector<char> drop(rows, 0);
  for (int r : m.unmatched_rows) {
    auto& t = tracks_[r];
    ++t.misses;
    if (t.lost(cfg_.max_age)) {
      if (t.id != 0) out.events.push_back(t.ended(camera_id_));
      drop[r] = 1;
    }
  }
  erase_flagged(tracks_, drop);
  for (int c : m.unmatched_cols) {
    tracks_.emplace_back(dets[c].bbox);
    auto& t = tracks_.back();
    t.observe(dets[c], b);
    if (t.hits >= min_hits) out.events.push_back(t.started(camera_id_, next_id_++, dets[c]));
  }
  sort_by_track_id(out);
  return out;
}

track_batch sort_tracker::flush(timestamp_ms t) {
  auto out = end_all(tracks_, camera_id_, last_seq_, t);
  tracks_.clear();
  return out;
}

} // namespace weaver

namespace weaver {

std::string sort_tracker::snapshot() const {
  nlohmann::json j{{"kind", "sort"}, {"next_id", next_id_}, {"last_seq", last_seq_}};
  auto& ts = j["tracks"] = nlohmann::json::array();
  for (const auto& t : tracks_) ts.push_back(track_to_json(t));
  return j.dump();
}

void sort_tracker::restore(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  if (j.value("kind", "") != "sort") throw std::invalid_argument("sort tracker: not a sort snapshot");
  std::vector<track> tracks;
  for (const auto& tj : j.at("tracks")) {
    track t{box{0, 0, 1, 1}};
    track_from_json(t, tj);
    tracks.push_back(std::move(t));
  }
  tracks_ = std::move(tracks);
  next_id_ = j.at("next_id").get<uint64_t>();
  last_seq_ = j.at("last_seq").get<uint64_t>();
}

} // namespace weaver
