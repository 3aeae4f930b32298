#include "actors/reid/reid_engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "actors/detector/appearance.hpp"
#include "actors/tracker/assignment.hpp"

namespace weaver {

namespace {

constexpr timestamp_ms min_time = std::numeric_limits<timestamp_ms>::min();
constexpr timestamp_ms max_time = std::numeric_limits<timestamp_ms>::max();

nlohmann::json box_json(const box& b) { return {b.x, b.y, b.w, b.h}; }
// Element `i` of `j` as a box; absent (a snapshot from before boxes) = empty.
box json_box(const nlohmann::json& j, size_t i) {
  if (j.size() <= i) return {};
  const auto& b = j.at(i);
  return {b.at(0).get<float>(), b.at(1).get<float>(), b.at(2).get<float>(), b.at(3).get<float>()};
}

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
        cam.open[e.track_id] = {e.time_ms, e.time_ms, e.bbox};
        break;
      case track_state::updated: {
        // try_emplace: a track whose start we missed begins now.
        auto& t = cam.open.try_emplace(e.track_id, open_track{e.time_ms, e.time_ms, e.bbox})
                    .first->second;
        t.last_ms = std::max(t.last_ms, e.time_ms);
        break;
      }
      case track_state::ended: {
        timestamp_ms start = e.time_ms;
        box entry = e.bbox;
        if (auto i = cam.open.find(e.track_id); i != cam.open.end()) {
          start = std::min(start, i->second.start_ms);
          entry = i->second.entry_box;
          cam.open.erase(i);
        }
        if (e.time_ms - start < cfg_.min_track_ms)
          break;
        pending_[track_key{e.time_ms, b.camera_id, e.track_id}]
          = ended_track{start, e.feature, entry, e.bbox};
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
  return resolve_before(max_time);
}

presence_batch reid_engine::resolve_before(timestamp_ms limit) {
  // Whole windows only: window w holds end times in [w * W, (w + 1) * W).
  // Strictly before the limit, since another camera may still end a track
  // exactly at `limit`; with no live camera left everything goes.
  presence_batch out;
  const int64_t w = std::max<int64_t>(1, cfg_.window_ms);
  auto window_of = [&](timestamp_ms t) { return t >= 0 ? t / w : (t - w + 1) / w; };
  while (!pending_.empty()) {
    const int64_t win = window_of(std::get<0>(pending_.begin()->first));
    const bool complete = limit == max_time || (win + 1) * w <= limit;
    if (!complete) break;
    std::vector<std::pair<track_key, ended_track>> batch;
    auto i = pending_.begin();
    for (; i != pending_.end() && window_of(std::get<0>(i->first)) == win; ++i) batch.emplace_back(*i);
    pending_.erase(pending_.begin(), i);
    resolve_window(std::move(batch), out);
    if (++windows_ % 64 == 0) prune(win * w);
  }
  return out;
}

void reid_engine::prune(timestamp_ms now) {
  const timestamp_ms horizon = now - cfg_.gallery_ttl_ms;
  for (auto& p : persons_) {
    if (p.last_exit_ms < horizon) {
      if (!p.seen.empty() || !p.feature_sum.empty()) {
        p.seen.clear();
        p.feature_sum = {};
        p.prototype = {};
      }
      continue;
    }
    for (auto& [cam, xs] : p.seen)
      xs.erase(std::remove_if(xs.begin(), xs.end(),
                              [&](const std::pair<timestamp_ms, timestamp_ms>& x) { return x.second < horizon; }),
               xs.end());
  }
}

bool reid_engine::walk_allowed(const person& p, uint32_t camera_id, timestamp_ms start_ms) const {
  if (p.merged_into != 0) return false;
  if (p.last_exit_ms < start_ms - cfg_.gallery_ttl_ms) return false;
  if (p.last_camera == camera_id) {
    // A fragment of the same visit, or a return: after the person's last
    // presence here ended (one person is not twice on a camera at once).
    if (!cfg_.same_camera) return false;
    auto it = p.seen.find(camera_id);
    timestamp_ms exit = it == p.seen.end() || it->second.empty() ? p.last_exit_ms : it->second.back().second;
    return start_ms > exit && start_ms - exit <= cfg_.max_gap_ms;
  }
  const int64_t gap = start_ms - p.last_exit_ms;
  if (!cfg_.links.empty()) {
    for (const auto& l : cfg_.links)
      if (l.from == p.last_camera && l.to == camera_id)
        return gap >= l.min_transit_ms && gap <= l.max_transit_ms;
    return false;
  }
  if (gap > cfg_.max_gap_ms) return false;
  if (cfg_.learn_graph) {
    // Spatula: once enough walks from a camera were seen, the rarely used
    // destinations are not searched any more.
    auto d = departures_.find(p.last_camera);
    if (d != departures_.end() && d->second >= cfg_.learn_after) {
      auto l = learnt_.find({p.last_camera, camera_id});
      int n = l == learnt_.end() ? 0 : l->second.matches;
      if (n < cfg_.learn_min_share * d->second) return false;
    }
  }
  return true;
}

void reid_engine::learn(uint32_t from, uint32_t to, int64_t transit_ms) {
  auto [it, fresh] = learnt_.try_emplace({from, to}, link_count{0, transit_ms, transit_ms});
  auto& l = it->second;
  l.matches++;
  if (!fresh) {
    l.min_transit_ms = std::min(l.min_transit_ms, transit_ms);
    l.max_transit_ms = std::max(l.max_transit_ms, transit_ms);
  }
  departures_[from]++;
}

void reid_engine::add_feature(person& who, const std::vector<float>& f) {
  if (f.empty()) return;
  if (who.feature_sum.empty()) who.feature_sum.assign(f.size(), 0.0);
  if (who.feature_sum.size() != f.size()) return;
  double norm = 0;
  for (size_t k = 0; k < f.size(); ++k) {
    who.feature_sum[k] += f[k];
    norm += who.feature_sum[k] * who.feature_sum[k];
  }
  norm = std::sqrt(norm);
  who.prototype.resize(f.size());
  for (size_t k = 0; k < f.size(); ++k)
    who.prototype[k] = norm > 0 ? static_cast<float>(who.feature_sum[k] / norm) : 0.f;
}

namespace {

// Whether two people were ever on one camera at the same time.
template <class Seen>
bool overlap_on_a_camera(const Seen& a, const Seen& b) {
  for (const auto& [cam, xs] : a) {
    auto it = b.find(cam);
    if (it == b.end()) continue;
    for (const auto& x : xs)
      for (const auto& y : it->second)
        if (x.first <= y.second && y.first <= x.second) return true;
  }
  return false;
}

} // namespace

void reid_engine::try_merge(size_t p, presence_batch& out) {
  // The later of two ids that turn out to be one person goes into the
  // earlier: prototypes this close, never on one camera at the same time.
  for (size_t q = 0; q < persons_.size(); ++q) {
    if (q == p || persons_[q].merged_into || persons_[p].merged_into) continue;
    if (persons_[q].prototype.empty() || persons_[p].prototype.empty()) continue;
    if (cosine_similarity(persons_[p].prototype, persons_[q].prototype) < cfg_.merge_threshold) continue;
    if (overlap_on_a_camera(persons_[p].seen, persons_[q].seen)) continue;
    size_t keep = std::min(p, q), drop = std::max(p, q);
    auto& k = persons_[keep];
    auto& d = persons_[drop];
    if (k.feature_sum.size() == d.feature_sum.size()) {
      for (size_t i = 0; i < d.feature_sum.size(); ++i) k.feature_sum[i] += d.feature_sum[i];
      add_feature(k, std::vector<float>(k.feature_sum.size(), 0.0f));  // renormalise
    }
    for (auto& [cam, xs] : d.seen) {
      auto& into = k.seen[cam];
      into.insert(into.end(), xs.begin(), xs.end());
      std::sort(into.begin(), into.end());
    }
    if (d.last_exit_ms > k.last_exit_ms) {
      k.last_exit_ms = d.last_exit_ms;
      k.last_camera = d.last_camera;
    }
    d.merged_into = keep + 1;
    d.seen.clear();
    out.merges.push_back({drop + 1, keep + 1});
    p = keep;
  }
}

void reid_engine::resolve_window(std::vector<std::pair<track_key, ended_track>> tracks,
                                 presence_batch& out) {
  // Per camera (ascending), an optimal one-to-one matching of its tracks to
  // people: cost 1 - similarity where the walk is allowed and the
  // similarity reaches the threshold; unmatched tracks become new people.
  std::map<uint32_t, std::vector<size_t>> by_camera;
  for (size_t i = 0; i < tracks.size(); ++i) by_camera[std::get<1>(tracks[i].first)].push_back(i);
  for (const auto& [camera_id, idx] : by_camera) {
    const int rows = static_cast<int>(idx.size()), cols = static_cast<int>(persons_.size());
    std::vector<double> cost(static_cast<size_t>(rows) * static_cast<size_t>(std::max(cols, 1)),
                             std::numeric_limits<double>::infinity());
    std::vector<float> sims(cost.size(), 0.0f);
    for (int r = 0; r < rows; ++r) {
      const auto& t = tracks[idx[static_cast<size_t>(r)]].second;
      if (t.feature.empty()) continue;
      for (int c = 0; c < cols; ++c) {
        const auto& cand = persons_[static_cast<size_t>(c)];
        if (!walk_allowed(cand, camera_id, t.start_ms)) continue;
        float sim = cosine_similarity(t.feature, cand.prototype);
        if (sim < cfg_.match_threshold) continue;
        size_t k = static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c);
        cost[k] = 1.0 - sim;
        sims[k] = sim;
      }
    }
    std::vector<int> choice = cols > 0 ? solve_assignment(cost, rows, cols) : std::vector<int>(rows, -1);
    // Bookkeeping in end-time order, so later tracks see earlier ones.
    for (int r = 0; r < rows; ++r) {
      const auto& [key, t] = tracks[idx[static_cast<size_t>(r)]];
      int c = choice[static_cast<size_t>(r)];
      // Walks re-checked: an earlier track of this window may have moved the person.
      bool ok = c >= 0 && walk_allowed(persons_[static_cast<size_t>(c)], camera_id, t.start_ms);
      float sim = ok ? sims[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)] : 0.0f;
      size_t who = ok ? static_cast<size_t>(c) : persons_.size();
      if (!ok && !t.feature.empty()) {
        // Not matched jointly: the best person as of now, which includes
        // those this window made (an earlier fragment of the same visit).
        for (size_t p = 0; p < persons_.size(); ++p) {
          if (!walk_allowed(persons_[p], camera_id, t.start_ms)) continue;
          float s2 = cosine_similarity(t.feature, persons_[p].prototype);
          if (s2 >= cfg_.match_threshold && s2 > sim) {
            who = p;
            sim = s2;
          }
        }
      }
      assign(key, t, who, sim, out);
    }
  }
}

void reid_engine::assign(const track_key& key, const ended_track& t, size_t best, float best_sim,
                         presence_batch& out) {
  const auto& [end_ms, camera_id, track_id] = key;
  const bool fresh = best == persons_.size();
  if (fresh)
    persons_.emplace_back();
  auto& who = persons_[best];
  if (!fresh && best_sim >= cfg_.confident && who.last_camera != camera_id)
    learn(who.last_camera, camera_id, t.start_ms - who.last_exit_ms);
  add_feature(who, t.feature);
  who.seen[camera_id].emplace_back(t.start_ms, end_ms);
  if (fresh || end_ms >= who.last_exit_ms) {
    who.last_camera = camera_id;
    who.last_exit_ms = end_ms;
  }
  uint64_t person_id = best + 1;
  // Confidence: how far above the threshold the match is (1 for a new id).
  float confidence = fresh ? 1.0f
                           : std::clamp((best_sim - cfg_.match_threshold) /
                                            std::max(1e-6f, 1.0f - cfg_.match_threshold), 0.0f, 1.0f);
  out.identities.push_back({camera_id, track_id, person_id, confidence});
  out.rows.push_back({person_id, camera_id, t.start_ms, end_ms});
  out.tracklets.push_back({camera_id, track_id, person_id, t.start_ms, end_ms, t.entry_box, t.exit_box,
                           confidence, quantise_feature(t.feature)});
  if (cfg_.merge_threshold <= 1.0f) try_merge(best, out);
}

std::vector<reid_engine::link_stats> reid_engine::graph() const {
  std::vector<link_stats> out;
  if (!cfg_.links.empty()) {
    for (const auto& l : cfg_.links) {
      auto it = learnt_.find({l.from, l.to});
      out.push_back({l.from, l.to, it == learnt_.end() ? 0 : it->second.matches, l.min_transit_ms,
                     l.max_transit_ms, true});
    }
    return out;
  }
  for (const auto& [k, l] : learnt_) {
    auto d = departures_.find(k.first);
    bool searched = d == departures_.end() || d->second < cfg_.learn_after ||
                    l.matches >= cfg_.learn_min_share * d->second;
    out.push_back({k.first, k.second, l.matches, l.min_transit_ms, l.max_transit_ms, searched});
  }
  return out;
}

std::string reid_engine::snapshot() const {
  nlohmann::json j;
  j["version"] = 1;
  auto& ps = j["persons"] = nlohmann::json::array();
  for (const auto& p : persons_) {
    nlohmann::json seen = nlohmann::json::array();
    for (const auto& [cam, xs] : p.seen)
      for (const auto& x : xs) seen.push_back({cam, x.first, x.second});
    ps.push_back({{"feature_sum", p.feature_sum}, {"prototype", p.prototype},
                  {"last_camera", p.last_camera}, {"last_exit_ms", p.last_exit_ms},
                  {"seen", seen}, {"merged_into", p.merged_into}});
  }
  auto& ls = j["links"] = nlohmann::json::array();
  for (const auto& [k, l] : learnt_)
    ls.push_back({k.first, k.second, l.matches, l.min_transit_ms, l.max_transit_ms});
  auto& ds = j["departures"] = nlohmann::json::array();
  for (const auto& [c, n] : departures_) ds.push_back({c, n});
  auto& cs = j["cameras"] = nlohmann::json::array();
  for (const auto& [id, c] : cameras_) {
    nlohmann::json open = nlohmann::json::array();
    for (const auto& [t, o] : c.open)
      open.push_back({t, o.start_ms, o.last_ms, box_json(o.entry_box)});
    cs.push_back({{"id", id}, {"latest_ms", c.latest_ms}, {"ended", c.ended}, {"open", open}});
  }
  auto& pend = j["pending"] = nlohmann::json::array();
  for (const auto& [k, t] : pending_)
    pend.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), t.start_ms, t.feature,
                    box_json(t.entry_box), box_json(t.exit_box)});
  return j.dump();
}

void reid_engine::restore(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  if (j.value("version", 0) != 1) throw std::runtime_error("reid state: unknown version");
  std::vector<person> persons;
  for (const auto& p : j.at("persons")) {
    person x;
    x.feature_sum = p.at("feature_sum").get<std::vector<double>>();
    x.prototype = p.at("prototype").get<std::vector<float>>();
    x.last_camera = p.at("last_camera").get<uint32_t>();
    x.last_exit_ms = p.at("last_exit_ms").get<timestamp_ms>();
    x.merged_into = p.at("merged_into").get<uint64_t>();
    for (const auto& s : p.at("seen"))
      x.seen[s.at(0).get<uint32_t>()].emplace_back(s.at(1).get<timestamp_ms>(), s.at(2).get<timestamp_ms>());
    persons.push_back(std::move(x));
  }
  decltype(learnt_) learnt;
  for (const auto& l : j.at("links"))
    learnt[{l.at(0).get<uint32_t>(), l.at(1).get<uint32_t>()}] =
      link_count{l.at(2).get<int>(), l.at(3).get<int64_t>(), l.at(4).get<int64_t>()};
  decltype(departures_) departures;
  for (const auto& d : j.at("departures")) departures[d.at(0).get<uint32_t>()] = d.at(1).get<int>();
  decltype(cameras_) cameras;
  for (const auto& c : j.at("cameras")) {
    camera_state cs{c.at("latest_ms").get<timestamp_ms>(), c.at("ended").get<bool>(), {}};
    for (const auto& o : c.at("open"))
      cs.open[o.at(0).get<uint64_t>()] = open_track{o.at(1).get<timestamp_ms>(), o.at(2).get<timestamp_ms>(),
                                                    json_box(o, 3)};
    cameras.emplace(c.at("id").get<uint32_t>(), std::move(cs));
  }
  decltype(pending_) pending;
  for (const auto& p : j.at("pending"))
    pending[track_key{p.at(0).get<timestamp_ms>(), p.at(1).get<uint32_t>(), p.at(2).get<uint64_t>()}] =
      ended_track{p.at(3).get<timestamp_ms>(), p.at(4).get<std::vector<float>>(), json_box(p, 5), json_box(p, 6)};
  // Only now, so a bad file leaves the engine as it was.
  persons_ = std::move(persons);
  learnt_ = std::move(learnt);
  departures_ = std::move(departures);
  cameras_ = std::move(cameras);
  pending_ = std::move(pending);
}

} // namespace weaver
