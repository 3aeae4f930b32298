#include "actors/reid/crosscam_truth.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace weaver {

std::vector<presence> true_presence(const std::map<int, std::vector<gt_box>>& gt,
                                    const std::vector<virtual_camera>& cameras, int max_gap_frames,
                                    int min_frames) {
  // (person, camera) -> frames seen, in order (the map iterates frames in order).
  std::map<std::pair<int, uint32_t>, std::vector<int>> seen;
  for (const auto& [frame, boxes] : gt)
    for (const auto& g : boxes) {
      if (!g.consider) continue;
      const float cx = g.b.x + g.b.w / 2, cy = g.b.y + g.b.h / 2;
      for (const auto& c : cameras)
        if (cx >= c.crop.x && cx < c.crop.x + c.crop.w && cy >= c.crop.y && cy < c.crop.y + c.crop.h)
          seen[{g.id, c.id}].push_back(frame);
    }
  std::vector<presence> out;
  for (const auto& [key, frames] : seen) {
    const auto& cam = *std::find_if(cameras.begin(), cameras.end(),
                                    [&](const virtual_camera& c) { return c.id == key.second; });
    auto at = [&](int f) {
      return cam.start_ms + static_cast<timestamp_ms>(std::llround(f * 1000.0 / cam.fps));
    };
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

} // namespace weaver
