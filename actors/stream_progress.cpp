#include "actors/stream_progress.hpp"

#include <nlohmann/json.hpp>

namespace weaver {

bool stream_progress::covered(uint32_t camera, timestamp_ms time, uint64_t seq) const {
  auto it = last_.find(camera);
  if (it == last_.end()) return false;
  const auto& p = it->second;
  // After the end of stream, anything up to its time belongs to that stream.
  if (p.ended) return time <= p.time;
  return time < p.time || (time == p.time && seq <= p.seq);
}

void stream_progress::advance(uint32_t camera, timestamp_ms time, uint64_t seq) {
  last_[camera] = position{time, seq, false};
}

bool stream_progress::ended(uint32_t camera) const {
  auto it = last_.find(camera);
  return it != last_.end() && it->second.ended;
}

void stream_progress::end(uint32_t camera) { last_[camera].ended = true; }

std::set<uint32_t> stream_progress::ended_cameras() const {
  std::set<uint32_t> out;
  for (const auto& [cam, p] : last_)
    if (p.ended) out.insert(cam);
  return out;
}

std::string stream_progress::snapshot() const {
  auto j = nlohmann::json::array();
  for (const auto& [cam, p] : last_) j.push_back({cam, p.time, p.seq, p.ended});
  return j.dump();
}

void stream_progress::restore(const std::string& text) {
  std::map<uint32_t, position> last;
  for (const auto& e : nlohmann::json::parse(text))
    last[e.at(0).get<uint32_t>()] = position{e.at(1).get<timestamp_ms>(), e.at(2).get<uint64_t>(), e.at(3).get<bool>()};
  last_ = std::move(last);
}

std::set<uint32_t> ended_in_snapshot(const std::string& snapshot_json) {
  try {
    auto j = nlohmann::json::parse(snapshot_json);
    if (!j.is_object() || !j.contains("progress") || !j["progress"].is_string()) return {};
    stream_progress p;
    p.restore(j["progress"].get<std::string>());
    return p.ended_cameras();
  } catch (const std::exception&) {
    return {};
  }
}

} // namespace weaver
