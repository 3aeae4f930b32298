#include "actors/reid/live_identity.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

namespace weaver {

namespace {

// Ended tracks waiting for a final id that may never come (re-id drops
// tracks shorter than min_track_ms): past this many, those older than
// `ended_horizon_ms` of camera time are forgotten.
constexpr size_t max_ended = 1024;
constexpr int64_t ended_horizon_ms = 120000;

} // namespace

live_identity::live_identity(live_identity_config cfg) : cfg_(cfg) {}

void live_identity::on_tracks(const track_batch& b, const matcher& match, uint64_t people_now) {
  bool changed = false;
  for (const auto& e : b.events) {
    const key k{b.camera_id, e.track_id};
    if (e.state == track_state::ended) {
      auto g = chosen_.find(k);
      ended_[k] = {g == chosen_.end() ? std::nullopt : std::optional<uint64_t>{g->second}, people_now, e.time_ms};
      changed = open_.erase(k) > 0 || changed;
      continue;
    }
    if (e.feature.empty()) continue;
    auto& t = open_[k];
    if (t.sum.size() != e.feature.size()) { // a different kind of feature: start over
      t.sum.assign(e.feature.size(), 0.0);
      t.updates = 0;
    }
    // Unit features, so each frame weighs the same.
    double n = 0;
    for (float v : e.feature) n += static_cast<double>(v) * v;
    if (n <= 0) continue;
    n = std::sqrt(n);
    for (size_t i = 0; i < e.feature.size(); ++i) t.sum[i] += e.feature[i] / n;
    ++t.updates;
  }
  for (auto it = open_.lower_bound({b.camera_id, 0}); it != open_.end() && it->first.first == b.camera_id; ++it) {
    auto& t = it->second;
    if (t.updates < cfg_.min_updates || (t.matched && b.time_ms - t.matched_ms < cfg_.period_ms)) continue;
    std::vector<float> mean(t.sum.begin(), t.sum.end()); // direction only: cosine similarity
    t.candidates = match(b.camera_id, it->first.second, mean);
    t.matched = true;
    t.matched_ms = b.time_ms;
    ++stats_.matches;
    changed = true;
  }
  if (changed) choose();
  if (ended_.size() > max_ended) prune_ended(b.time_ms);
}

void live_identity::end_camera(uint32_t camera) {
  auto it = open_.lower_bound({camera, 0});
  while (it != open_.end() && it->first.first == camera) it = open_.erase(it);
  choose();
}

void live_identity::on_final(const std::vector<identity>& ids) {
  for (const auto& id : ids) {
    auto it = ended_.find({id.camera_id, id.track_id});
    if (it == ended_.end()) continue;
    const auto& e = it->second;
    if (e.guess)
      ++(*e.guess == id.person_id ? stats_.agreed : stats_.differed);
    else
      ++(id.person_id > e.people ? stats_.unguessed_new : stats_.unguessed_known);
    ended_.erase(it);
  }
}

void live_identity::choose() {
  // Best scores first (then camera, track, person, for one answer).
  std::vector<std::tuple<double, key, uint64_t>> all;
  for (const auto& [k, t] : open_)
    for (const auto& c : t.candidates) all.emplace_back(c.score, k, c.person_id);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
    return std::tie(std::get<1>(a), std::get<2>(a)) < std::tie(std::get<1>(b), std::get<2>(b));
  });
  chosen_.clear();
  std::set<uint64_t> taken;
  for (const auto& [score, k, person] : all) {
    if (chosen_.count(k) || taken.count(person)) continue;
    chosen_[k] = person;
    taken.insert(person);
  }
}

void live_identity::prune_ended(timestamp_ms now) {
  for (auto it = ended_.begin(); it != ended_.end();)
    it = it->second.end_ms < now - ended_horizon_ms ? ended_.erase(it) : std::next(it);
}

std::optional<uint64_t> live_identity::provisional(uint32_t camera, uint64_t track) const {
  auto it = chosen_.find({camera, track});
  if (it == chosen_.end()) return std::nullopt;
  return it->second;
}

std::map<uint64_t, uint64_t> live_identity::table(uint32_t camera) const {
  std::map<uint64_t, uint64_t> out;
  for (auto it = chosen_.lower_bound({camera, 0}); it != chosen_.end() && it->first.first == camera; ++it)
    out.emplace(it->first.second, it->second);
  return out;
}

} // namespace weaver
