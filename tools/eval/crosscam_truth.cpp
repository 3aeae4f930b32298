#include "tools/eval/crosscam_truth.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "actors/camera/crop.hpp"

namespace weaver {

virtual_camera crop_camera(uint32_t id, int x, int y, int w, int h) {
  virtual_camera c;
  c.id = id;
  c.to_view = cv::Matx33d(1, 0, -x, 0, 1, -y, 0, 0, 1);
  c.size = {w, h};
  return c;
}

bool in_view(const virtual_camera& c, cv::Point2d p, cv::Point2d* at) {
  auto q = apply_homography(c.to_view, p);
  if (at) *at = q;
  return q.x >= 0 && q.x < c.size.width && q.y >= 0 && q.y < c.size.height;
}

namespace {

cv::Point2d foot(const box& b) { return {b.x + b.w / 2.0, b.y + b.h}; }

bool counted(int frame, int max_frames) { return max_frames <= 0 || frame < max_frames; }

} // namespace

std::vector<presence> true_presence(const std::map<int, std::vector<gt_box>>& gt,
                                    const std::vector<virtual_camera>& cameras, int max_gap_frames, int min_frames,
                                    int max_frames) {
  // (person, camera) -> frames seen, in order (the map iterates frames in order).
  std::map<std::pair<int, uint32_t>, std::vector<int>> seen;
  for (const auto& [frame, boxes] : gt) {
    if (!counted(frame, max_frames)) continue;
    for (const auto& g : boxes) {
      if (!g.consider) continue;
      for (const auto& c : cameras)
        if (in_view(c, foot(g.b))) seen[{g.id, c.id}].push_back(frame);
    }
  }
  std::vector<presence> out;
  for (const auto& [key, frames] : seen) {
    const uint32_t camera_id = key.second; // a structured binding cannot be captured before C++20
    const auto& cam =
      *std::find_if(cameras.begin(), cameras.end(), [&](const virtual_camera& c) { return c.id == camera_id; });
    auto at = [&](int f) { return cam.start_ms + static_cast<timestamp_ms>(std::llround(f * 1000.0 / cam.fps)); };
    size_t i = 0;
    while (i < frames.size()) {
      size_t j = i;
      while (j + 1 < frames.size() && frames[j + 1] - frames[j] <= max_gap_frames + 1) ++j;
      if (frames[j] - frames[i] + 1 >= min_frames)
        out.push_back({static_cast<uint64_t>(key.first), key.second, at(frames[i]), at(frames[j])});
      i = j + 1;
    }
  }
  std::sort(out.begin(), out.end(), [](const presence& a, const presence& b) {
    return std::tie(a.person_id, a.camera_id, a.enter_ms) < std::tie(b.person_id, b.camera_id, b.enter_ms);
  });
  return out;
}

std::vector<mot::box_row> camera_ground_truth(const std::map<int, std::vector<gt_box>>& gt,
                                              const virtual_camera& camera, int max_frames, bool cut_too) {
  std::vector<mot::box_row> out;
  const double w = camera.size.width, h = camera.size.height;
  for (const auto& [frame, boxes] : gt) {
    if (!counted(frame, max_frames)) continue;
    for (const auto& g : boxes) {
      // Boxes MOT says to ignore are neither hits nor misses: left out, as
      // mot::load_mot leaves them out of a gt file.
      if (!g.consider) continue;
      if (!in_view(camera, foot(g.b))
          && !(cut_too
               && (in_view(camera, {g.b.x + g.b.w / 2, g.b.y + g.b.h / 2})
                   || in_view(camera, {g.b.x + g.b.w / 2, g.b.y}))))
        continue;
      double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
      for (auto p : {cv::Point2d(g.b.x, g.b.y), cv::Point2d(g.b.x + g.b.w, g.b.y),
                     cv::Point2d(g.b.x + g.b.w, g.b.y + g.b.h), cv::Point2d(g.b.x, g.b.y + g.b.h)}) {
        auto q = apply_homography(camera.to_view, p);
        x0 = std::min(x0, q.x), y0 = std::min(y0, q.y), x1 = std::max(x1, q.x), y1 = std::max(y1, q.y);
      }
      x0 = std::clamp(x0, 0.0, w), x1 = std::clamp(x1, 0.0, w);
      y0 = std::clamp(y0, 0.0, h), y1 = std::clamp(y1, 0.0, h);
      if (!(x1 > x0 && y1 > y0)) continue;
      mot::box_row r;
      r.frame = frame + 1;
      r.id = g.id;
      r.left = x0, r.top = y0, r.width = x1 - x0, r.height = y1 - y0;
      out.push_back(r);
    }
  }
  return out;
}

std::map<int64_t, int64_t> track_truth(const std::vector<mot::box_row>& tracks, const std::vector<mot::box_row>& truth,
                                       double min_iou, double min_share) {
  std::map<int64_t, std::vector<const mot::box_row*>> gt_at;
  for (const auto& g : truth) gt_at[g.frame].push_back(&g);
  auto iou = [](const mot::box_row& a, const mot::box_row& b) {
    const double w = std::min(a.left + a.width, b.left + b.width) - std::max(a.left, b.left);
    const double h = std::min(a.top + a.height, b.top + b.height) - std::max(a.top, b.top);
    if (w <= 0 || h <= 0) return 0.0;
    const double i = w * h;
    return i / (a.width * a.height + b.width * b.height - i);
  };
  std::map<int64_t, std::map<int64_t, int>> votes; // track -> true id -> boxes
  std::map<int64_t, int> boxes;
  for (const auto& r : tracks) {
    ++boxes[r.id];
    auto it = gt_at.find(r.frame);
    if (it == gt_at.end()) continue;
    double best = min_iou;
    const mot::box_row* who = nullptr;
    for (const auto* g : it->second)
      if (double v = iou(r, *g); v >= best) best = v, who = g;
    if (who) ++votes[r.id][who->id];
  }
  std::map<int64_t, int64_t> out;
  for (const auto& [track, v] : votes) {
    // The most boxes, the lower id on ties.
    auto top = std::max_element(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    if (top->second >= min_share * boxes[track]) out[track] = top->first;
  }
  return out;
}

std::map<int64_t, int64_t> camera_track_truth(const std::vector<mot::box_row>& tracks,
                                              const std::map<int, std::vector<gt_box>>& gt,
                                              const virtual_camera& camera, int max_frames) {
  return track_truth(tracks, camera_ground_truth(gt, camera, max_frames, true));
}

link_counts count_links(const std::vector<judged_track>& tracks) {
  link_counts out;
  for (size_t i = 0; i < tracks.size(); ++i)
    for (size_t j = i + 1; j < tracks.size(); ++j) {
      const auto &a = tracks[i], &b = tracks[j];
      const bool found = a.person == b.person, real = a.truth == b.truth;
      if (!found && !real) continue;
      auto& k = a.camera_id == b.camera_id ? out.same_camera : out.cross_camera;
      (found ? (real ? k.right : k.wrong) : k.missed)++;
    }
  return out;
}

transition_parts transition_parts_of(const std::vector<judged_presence>& tracks, int64_t max_transit_ms) {
  // Per found person, its tracks; every ordered pair of them on two cameras.
  std::map<uint64_t, std::vector<const judged_presence*>> by_person;
  for (const auto& t : tracks) by_person[t.person].push_back(&t);
  std::set<std::tuple<uint32_t, uint32_t, int64_t>> carried; // from, to, true person
  std::set<std::tuple<uint32_t, uint32_t, uint64_t>> found, backed; // from, to, found person
  for (const auto& [person, ts] : by_person)
    for (const auto* x : ts)
      for (const auto* y : ts) {
        if (x->camera_id == y->camera_id || y->enter_ms < x->enter_ms || y->exit_ms <= x->exit_ms) continue;
        if (max_transit_ms >= 0 && y->enter_ms - x->exit_ms > max_transit_ms) continue;
        found.insert({x->camera_id, y->camera_id, person});
        if (x->truth >= 0 && x->truth == y->truth) {
          carried.insert({x->camera_id, y->camera_id, x->truth});
          backed.insert({x->camera_id, y->camera_id, person});
        }
      }
  transition_parts out;
  out.carried = static_cast<int64_t>(carried.size());
  for (const auto& f : found) out.invented += backed.count(f) ? 0 : 1;
  return out;
}

} // namespace weaver
