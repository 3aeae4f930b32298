#include "actors/live_view.hpp"

#include <algorithm>
#include <chrono>

namespace weaver {

live_view::live_view(size_t ring) : ring_(std::max<size_t>(1, ring)) {}

timestamp_ms live_view::wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

void live_view::offer_frame(frame_ptr f, timestamp_ms now_ms) {
  if (!f) return;
  std::lock_guard<std::mutex> lock{mutex_};
  auto& c = cams_[f->camera_id];
  // A restarted source counts from 0 again: older frames are of another run.
  if (!c.frames.empty() && f->seq <= c.frames.back()->seq) {
    c.frames.clear();
    c.tracks.clear();
    c.tracked_seq.reset();
    c.people.clear();
  }
  c.frames.push_back(std::move(f));
  c.arrived_ms = now_ms;
  while (c.frames.size() > ring_) c.frames.pop_front();
}

void live_view::offer_tracks(const track_batch& b) {
  std::lock_guard<std::mutex> lock{mutex_};
  auto& c = cams_[b.camera_id];
  for (const auto& e : b.events) {
    if (e.state == track_state::ended) {
      c.tracks.erase(e.track_id);
      continue;
    }
    c.tracks[e.track_id] = {{e.track_id, e.bbox, e.score, std::nullopt}, e.frame_seq};
    if (!c.tracked_seq || e.frame_seq > *c.tracked_seq) c.tracked_seq = e.frame_seq;
  }
  // Tracks without a box for many frames are lost, not ended yet: not shown.
  if (c.tracked_seq)
    for (auto it = c.tracks.begin(); it != c.tracks.end();)
      it = it->second.frame_seq + 2 * ring_ < *c.tracked_seq ? c.tracks.erase(it) : std::next(it);
}

void live_view::offer_people(uint32_t camera, std::map<uint64_t, uint64_t> people) {
  std::lock_guard<std::mutex> lock{mutex_};
  // Not for a camera without a frame: cameras() lists only those with one.
  if (auto it = cams_.find(camera); it != cams_.end()) it->second.people = std::move(people);
}

std::optional<live_snapshot> live_view::latest(uint32_t camera) const {
  std::lock_guard<std::mutex> lock{mutex_};
  auto it = cams_.find(camera);
  if (it == cams_.end() || it->second.frames.empty()) return std::nullopt;
  const auto& c = it->second;
  if (c.tracked_seq)
    for (auto f = c.frames.rbegin(); f != c.frames.rend(); ++f)
      if ((*f)->seq == *c.tracked_seq) {
        live_snapshot s{*f, {}, c.arrived_ms};
        for (const auto& [id, t] : c.tracks)
          if (t.frame_seq == *c.tracked_seq) {
            s.boxes.push_back(t.b);
            if (auto p = c.people.find(id); p != c.people.end()) s.boxes.back().person = p->second;
          }
        return s;
      }
  return live_snapshot{c.frames.back(), {}, c.arrived_ms};
}

frame_ptr live_view::frame_at(uint32_t camera, uint64_t seq) const {
  std::lock_guard<std::mutex> lock{mutex_};
  auto it = cams_.find(camera);
  if (it == cams_.end()) return nullptr;
  for (const auto& f : it->second.frames)
    if (f->seq == seq) return f;
  return nullptr;
}

std::vector<uint32_t> live_view::cameras() const {
  std::lock_guard<std::mutex> lock{mutex_};
  std::vector<uint32_t> out;
  for (const auto& [id, c] : cams_)
    if (!c.frames.empty()) out.push_back(id);
  return out;
}

} // namespace weaver
