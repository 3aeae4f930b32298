#include "actors/reid/reid_engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "accel/detect/appearance.hpp"
#include "actors/tracker/assignment.hpp"

namespace weaver {

namespace {

constexpr timestamp_ms min_time = std::numeric_limits<timestamp_ms>::min();
constexpr timestamp_ms max_time = std::numeric_limits<timestamp_ms>::max();
constexpr size_t max_path = 256; // foot samples per track; longer ones are thinned

// Adds a foot sample at most every `period_ms`; a full path drops every
// other sample, so a long track keeps its whole span, more coarsely.
void add_sample(std::vector<foot_sample>& path, timestamp_ms t, const box& b, int64_t period_ms) {
  if (!path.empty() && t < path.back().t + period_ms) return;
  if (path.size() >= max_path) {
    size_t k = 0;
    for (size_t i = 0; i < path.size(); i += 2) path[k++] = path[i];
    path.resize(k);
  }
  path.push_back({t, foot_of(b), b.h, b.w});
}

// `path`'s foot point at time t (linear between samples), nullopt outside it.
std::optional<foot_sample> at_time(const std::vector<foot_sample>& path, timestamp_ms t) {
  if (path.empty() || t < path.front().t || t > path.back().t) return std::nullopt;
  auto it = std::lower_bound(path.begin(), path.end(), t, [](const foot_sample& s, timestamp_ms v) { return s.t < v; });
  if (it->t == t || it == path.begin()) return *it;
  const auto& a = *(it - 1);
  const auto& b = *it;
  const float f = float(t - a.t) / float(b.t - a.t);
  return foot_sample{
    t, {a.p.x + f * (b.p.x - a.p.x), a.p.y + f * (b.p.y - a.p.y)}, a.h + f * (b.h - a.h), a.w + f * (b.w - a.w)};
}

// Foot points of two paths at the times both cover (`b`'s sample times).
std::vector<std::pair<foot_sample, foot_sample>> common_points(const std::vector<foot_sample>& a,
                                                               const std::vector<foot_sample>& b) {
  std::vector<std::pair<foot_sample, foot_sample>> out;
  for (const auto& sb : b)
    if (auto sa = at_time(a, sb.t)) out.emplace_back(*sa, sb);
  return out;
}

nlohmann::json path_json(const std::vector<foot_sample>& path) {
  auto out = nlohmann::json::array();
  for (const auto& s : path) out.push_back({s.t, s.p.x, s.p.y, s.h, s.w});
  return out;
}

std::vector<foot_sample> path_of(const nlohmann::json& j) {
  std::vector<foot_sample> out;
  for (const auto& s : j) // the width since handoff (older snapshots: unknown)
    out.push_back({s.at(0).get<timestamp_ms>(),
                   {s.at(1).get<float>(), s.at(2).get<float>()},
                   s.at(3).get<float>(),
                   s.size() > 4 ? s.at(4).get<float>() : 0.0f});
  return out;
}

// How closely foot path `a` (handed from another view) runs along track path
// `b` on the same camera, 0..1: 1 on top of each other, 0 at a third of a
// body height apart on average or more; nullopt without two common times.
std::optional<double> colocated(const std::vector<foot_sample>& a, const std::vector<foot_sample>& b) {
  const auto common = common_points(a, b);
  if (common.size() < 2) return std::nullopt;
  double d = 0;
  for (const auto& [pa, pb] : common)
    d += std::hypot(pa.p.x - pb.p.x, pa.p.y - pb.p.y) / std::max(1.0f, std::max(pa.h, pb.h));
  d /= static_cast<double>(common.size());
  return std::max(0.0, 1.0 - d * 3.0);
}

// Per camera, the path that ends later of `into`'s and `from`'s (a merge of two people).
void keep_newer_paths(std::map<uint32_t, std::vector<foot_sample>>& into,
                      const std::map<uint32_t, std::vector<foot_sample>>& from) {
  for (const auto& [cam, path] : from)
    if (auto& to = into[cam]; to.empty() || (!path.empty() && path.back().t > to.back().t)) to = path;
}

nlohmann::json box_json(const box& b) { return {b.x, b.y, b.w, b.h}; }

box box_of(const nlohmann::json& j) {
  return {j.at(0).get<float>(), j.at(1).get<float>(), j.at(2).get<float>(), j.at(3).get<float>()};
}

} // namespace

reid_engine::reid_engine(reid_config cfg) : cfg_(cfg), topo_(cfg.topo), handoff_(cfg.handoff) {}

reid_engine::camera_state& reid_engine::camera(uint32_t camera_id) {
  return cameras_.try_emplace(camera_id, camera_state{min_time, false, {}}).first->second;
}

void reid_engine::add_camera(uint32_t camera_id) { camera(camera_id); }

void reid_engine::observe_feet(uint32_t camera_id, ended_track& t, timestamp_ms end_ms) const {
  t.feet = true;
  t.feet_from = t.start_ms;
  t.feet_to = end_ms;
  t.given.clear();
  if (handoff_.knows(camera_id)) {
    // Where its foot was, per camera: the own camera's span is its presence
    // here, the others' are handed on.
    std::vector<timed_box> boxes;
    boxes.push_back({t.start_ms, t.entry});
    for (const auto& s : t.path)
      if (s.w > 0) boxes.push_back({s.t, {s.p.x - s.w / 2, s.p.y - s.h, s.w, s.h}});
    boxes.push_back({end_ms, t.exit});
    std::stable_sort(boxes.begin(), boxes.end(), [](const timed_box& a, const timed_box& b) { return a.t < b.t; });
    t.feet = false;
    for (auto& f : handoff_.feet(camera_id, boxes)) {
      if (f.camera_id == camera_id) {
        // Its stays here make one presence, from the first to the last.
        const auto from = std::clamp(f.from, t.start_ms, end_ms);
        t.feet_from = t.feet ? std::min(t.feet_from, from) : from;
        t.feet_to = std::clamp(t.feet ? std::max(t.feet_to, f.to) : f.to, t.feet_from, end_ms);
        t.feet = true;
      } else if (f.to - f.from >= cfg_.handoff_min_ms) {
        t.given.push_back(std::move(f));
      }
    }
    return;
  }
  auto v = cfg_.view_sizes.find(camera_id);
  if (v == cfg_.view_sizes.end() || cfg_.cut_margin < 0 || v->second.second <= 0) return;
  const float limit = static_cast<float>(v->second.second) * (1.0f - cfg_.cut_margin);
  auto seen = [&](float foot_y) { return foot_y < limit; };
  // The first and last boxes at the track's ends, the foot samples between.
  std::optional<timestamp_ms> from, to;
  if (seen(t.entry.y + t.entry.h)) from = t.start_ms;
  for (const auto& s : t.path)
    if (seen(s.p.y)) {
      if (!from) from = s.t;
      to = s.t;
    }
  if (seen(t.exit.y + t.exit.h)) {
    if (!from) from = end_ms;
    to = end_ms;
  }
  t.feet = from.has_value();
  if (!t.feet) return;
  t.feet_from = std::clamp(*from, t.start_ms, end_ms);
  t.feet_to = std::clamp(std::max(*to, t.feet_from), t.feet_from, end_ms);
}

timestamp_ms reid_engine::safe_time() const {
  timestamp_ms limit = max_time;
  for (const auto& [id, cam] : cameras_) {
    if (cam.ended) continue;
    limit = std::min(limit, cam.latest_ms);
    for (const auto& [track, open] : cam.open) limit = std::min(limit, open.last_ms);
  }
  return limit;
}

presence_batch reid_engine::on_tracks(const track_batch& b) {
  auto& cam = camera(b.camera_id);
  cam.latest_ms = std::max(cam.latest_ms, b.time_ms);
  for (const auto& e : b.events) {
    switch (e.state) {
      case track_state::started: {
        // The confirming box is of this batch's frame; its time is the first match's.
        auto& t = cam.open[e.track_id] = open_track{e.time_ms, e.time_ms, e.bbox, {}};
        add_sample(t.path, std::max(e.time_ms, b.time_ms), e.bbox, cfg_.sample_ms);
        break;
      }
      case track_state::updated: {
        // try_emplace: a track whose start we missed begins now.
        auto& t = cam.open.try_emplace(e.track_id, open_track{e.time_ms, e.time_ms, e.bbox, {}}).first->second;
        t.last_ms = std::max(t.last_ms, e.time_ms);
        add_sample(t.path, e.time_ms, e.bbox, cfg_.sample_ms);
        break;
      }
      case track_state::ended: {
        ended_track t{e.time_ms, cfg_.metric.apply(e.feature), e.bbox, e.bbox, {}};
        if (auto i = cam.open.find(e.track_id); i != cam.open.end()) {
          t.start_ms = std::min(t.start_ms, i->second.start_ms);
          t.entry = i->second.entry;
          t.path = std::move(i->second.path);
          cam.open.erase(i);
        }
        if (e.time_ms - t.start_ms < cfg_.min_track_ms) break;
        observe_feet(b.camera_id, t, e.time_ms);
        pending_[track_key{e.time_ms, b.camera_id, e.track_id}] = std::move(t);
        break;
      }
    }
  }
  return resolve_before(safe_time());
}

std::vector<live_candidate> reid_engine::open_match(uint32_t camera_id, uint64_t track_id,
                                                    const std::vector<float>& feature) const {
  std::vector<live_candidate> out;
  auto c = cameras_.find(camera_id);
  if (c == cameras_.end() || feature.empty()) return out;
  auto o = c->second.open.find(track_id);
  if (o == c->second.open.end()) return out;
  // The track as if it ended at its latest match, in its latest sampled box.
  const auto& open = o->second;
  ended_track t{open.start_ms, cfg_.metric.apply(feature), open.entry, open.entry, open.path};
  if (!open.path.empty() && open.path.back().w > 0) {
    const auto& s = open.path.back();
    t.exit = {s.p.x - s.w / 2, s.p.y - s.h, s.w, s.h};
  }
  observe_feet(camera_id, t, open.last_ms);
  for (size_t p = 0; p < persons_.size(); ++p) {
    float look = 0;
    const double sc = score(persons_[p], camera_id, t, open.last_ms, &look);
    if (sc >= cfg_.match_threshold) out.push_back({p + 1, sc});
  }
  std::sort(out.begin(), out.end(), [](const live_candidate& a, const live_candidate& b) {
    return a.score != b.score ? a.score > b.score : a.person_id < b.person_id;
  });
  // An ambiguous winner starts a new person in the final match: no guess.
  if (!out.empty() && cfg_.ambiguity_margin > 0
      && ambiguous(out.front().person_id - 1, out.front().score, camera_id, t, open.last_ms))
    out.clear();
  return out;
}

presence_batch reid_engine::on_end_of_stream(uint32_t camera_id) {
  auto& cam = camera(camera_id);
  cam.ended = true;
  cam.open.clear(); // their ended events will not come any more
  return resolve_before(safe_time());
}

presence_batch reid_engine::flush() { return resolve_before(max_time); }

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
        p.paths.clear();
        p.track_end.clear();
        p.given.clear();
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
    auto it = p.track_end.find(camera_id);
    timestamp_ms exit = it == p.track_end.end() ? p.last_exit_ms : it->second;
    if (start_ms <= exit || start_ms - exit > cfg_.max_gap_ms) return false;
    if (cfg_.same_camera_gap_ms < 0 || start_ms - exit <= cfg_.same_camera_gap_ms) return true;
    // Longer: only someone lost inside the view (occluded) comes back (see
    // same_camera_gap_ms), or anyone on a view that overlaps another: who
    // leaves it at an edge may still be in the scene, seen by the other.
    if (lost_inside(camera_id, p.last_exit_box)) return true;
    return std::any_of(cameras_.begin(), cameras_.end(), [&](const auto& c) {
      return c.first != camera_id && (views_overlap(camera_id, c.first) || handoff_.overlap(camera_id, c.first));
    });
  }
  const int64_t gap = start_ms - p.last_exit_ms;
  if (!cfg_.links.empty()) {
    for (const auto& l : cfg_.links)
      if (l.from == p.last_camera && l.to == camera_id) return gap >= l.min_transit_ms && gap <= l.max_transit_ms;
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

bool reid_engine::lost_inside(uint32_t camera_id, const box& b) const {
  auto it = seen_extent_.find(camera_id);
  if (cfg_.lost_inside_share < 0 || it == seen_extent_.end() || b.h <= 0) return false;
  return !it->second.at_edge(b, cfg_.lost_inside_share);
}

bool reid_engine::views_overlap(uint32_t a, uint32_t b) const {
  for (const auto& l : cfg_.links)
    if (((l.from == a && l.to == b) || (l.from == b && l.to == a)) && l.min_transit_ms < 0) return true;
  return cfg_.use_topology && topo_.overlapping(a, b);
}

bool reid_engine::seen_during_feet(const std::vector<std::pair<timestamp_ms, timestamp_ms>>& presences,
                                   const ended_track& t) const {
  for (const auto& x : presences)
    if (std::min(x.second, t.feet_to) - std::max(x.first, t.feet_from) > cfg_.overlap_slack_ms) return true;
  return false;
}

bool reid_engine::elsewhere_at_once(const person& p, uint32_t camera_id, const ended_track& t) const {
  for (const auto& [cam, xs] : p.seen) {
    if (cam == camera_id || !seen_during_feet(xs, t) || views_overlap(cam, camera_id)) continue;
    // Views of one source that share pixels (known geometry): on both at
    // once only where one view's foot, carried into the other, runs along
    // the other's track; anyone else seen there then is someone else.
    if (cfg_.overlap_colocated <= 1.0f && handoff_.overlap(cam, camera_id)
        && colocated_with(p, camera_id, t, cam) >= cfg_.overlap_colocated)
      continue;
    return true;
  }
  return false;
}

double reid_engine::colocated_with(const person& p, uint32_t camera_id, const ended_track& t,
                                   std::optional<uint32_t> other) const {
  double c = 0;
  if (auto g = p.given.find(camera_id); g != p.given.end())
    if (auto v = colocated(g->second, t.path)) c = std::max(c, *v);
  for (const auto& g : t.given)
    if (!other || g.camera_id == *other)
      if (auto pp = p.paths.find(g.camera_id); pp != p.paths.end())
        if (auto v = colocated(g.path, pp->second)) c = std::max(c, *v);
  return c;
}

double reid_engine::handoff_bonus(const person& p, uint32_t camera_id, const ended_track& t) const {
  // One person in two views of one source: the foot handed from one view
  // runs along the track in the other (either way round).
  if (cfg_.handoff_weight <= 0) return 0;
  return cfg_.handoff_weight * colocated_with(p, camera_id, t, std::nullopt);
}

double reid_engine::score(const person& p, uint32_t camera_id, const ended_track& t, timestamp_ms /*end_ms*/,
                          float* appearance) const {
  constexpr double never = -std::numeric_limits<double>::infinity();
  *appearance = 0;
  if (t.feature.empty() || !walk_allowed(p, camera_id, t.start_ms)) return never;
  if (handoff_.out_of_reach(p.last_camera, p.last_exit_box, p.last_exit_ms, camera_id, t.entry, t.start_ms,
                            cfg_.handoff_speed))
    return never;
  // Only while its foot was seen is the track a presence here (view_sizes).
  if (cfg_.use_topology && t.feet && elsewhere_at_once(p, camera_id, t)) return never;
  *appearance = cosine_similarity(t.feature, p.prototype);
  double bonus = 0;
  if (!cfg_.use_topology) return *appearance + handoff_bonus(p, camera_id, t);
  // (Not on the same camera: a bonus for fragments that start where the
  // person was lost made seed 1's error worse, 104 -> 115 of 253.)
  if (p.last_camera != camera_id)
    if (auto st = topo_.handover_score(p.last_camera, camera_id, p.last_exit_box, t.entry, t.start_ms - p.last_exit_ms))
      bonus = cfg_.space_time_weight * *st;
  bonus = std::max(bonus, handoff_bonus(p, camera_id, t));
  // Seen at the same time on an overlapping view: where the homography puts them.
  for (const auto& [cam, path] : p.paths) {
    if (cam == camera_id || !views_overlap(cam, camera_id)) continue;
    if (auto cs = topo_.covisible_score(cam, camera_id, common_points(path, t.path)))
      bonus = std::max(bonus, cfg_.covisible_weight * *cs);
  }
  return *appearance + bonus;
}

void reid_engine::learn_covisible(const person& p, uint32_t camera_id, const ended_track& t, timestamp_ms /*end_ms*/) {
  if (!t.feet) return;
  for (const auto& [cam, xs] : p.seen) {
    if (cam == camera_id || !seen_during_feet(xs, t)) continue;
    auto pp = p.paths.find(cam);
    topo_.learn_covisible(
      cam, camera_id,
      pp == p.paths.end() ? std::vector<std::pair<foot_sample, foot_sample>>{} : common_points(pp->second, t.path));
  }
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
      add_feature(k, std::vector<float>(k.feature_sum.size(), 0.0f)); // renormalise
    }
    for (auto& [cam, xs] : d.seen) {
      auto& into = k.seen[cam];
      into.insert(into.end(), xs.begin(), xs.end());
      std::sort(into.begin(), into.end());
    }
    for (const auto& [cam, end] : d.track_end) {
      auto& into = k.track_end.try_emplace(cam, end).first->second;
      into = std::max(into, end);
    }
    keep_newer_paths(k.paths, d.paths);
    keep_newer_paths(k.given, d.given);
    if (d.last_exit_ms > k.last_exit_ms) {
      k.last_exit_ms = d.last_exit_ms;
      k.last_camera = d.last_camera;
      k.last_exit_box = d.last_exit_box;
    }
    d.merged_into = keep + 1;
    d.seen.clear();
    d.paths.clear();
    d.track_end.clear();
    d.given.clear();
    out.merges.push_back({drop + 1, keep + 1});
    p = keep;
  }
}

void reid_engine::resolve_window(std::vector<std::pair<track_key, ended_track>> tracks, presence_batch& out) {
  // Per camera (ascending), an optimal one-to-one matching of its tracks to
  // people: cost 1 - score where the walk is allowed and the score reaches
  // the threshold; unmatched tracks become new people.
  std::map<uint32_t, std::vector<size_t>> by_camera;
  for (size_t i = 0; i < tracks.size(); ++i) by_camera[std::get<1>(tracks[i].first)].push_back(i);
  const float sure = std::max(cfg_.confident, cfg_.match_threshold);
  for (const auto& [camera_id, idx] : by_camera) {
    const int rows = static_cast<int>(idx.size()), cols = static_cast<int>(persons_.size());
    std::vector<double> cost(static_cast<size_t>(rows) * static_cast<size_t>(std::max(cols, 1)),
                             std::numeric_limits<double>::infinity());
    std::vector<double> scores(cost.size(), 0.0);
    std::vector<float> looks(cost.size(), 0.0f);
    for (int r = 0; r < rows; ++r) {
      const auto& [key, t] = tracks[idx[static_cast<size_t>(r)]];
      if (t.feature.empty()) continue;
      const timestamp_ms end_ms = std::get<0>(key);
      for (int c = 0; c < cols; ++c) {
        float look = 0;
        double sc = score(persons_[static_cast<size_t>(c)], camera_id, t, end_ms, &look);
        if (sc < cfg_.match_threshold) continue;
        size_t k = static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c);
        cost[k] = 1.0 - sc;
        scores[k] = sc;
        looks[k] = look;
      }
    }
    std::vector<int> choice = cols > 0 ? solve_assignment(cost, rows, cols) : std::vector<int>(rows, -1);
    // Bookkeeping in end-time order, so later tracks see earlier ones.
    for (int r = 0; r < rows; ++r) {
      const auto& [key, t] = tracks[idx[static_cast<size_t>(r)]];
      const timestamp_ms end_ms = std::get<0>(key);
      if (cfg_.use_topology && !t.feature.empty() && t.feet) {
        // The most similar person seen elsewhere at the same time, if surely
        // them, shows the two views overlap (the constraint aside).
        const person* twin = nullptr;
        float best = sure;
        for (const auto& p : persons_) {
          if (p.merged_into != 0 || p.prototype.empty() || p.seen.empty()) continue;
          // The time test first: it is cheap and rules out nearly everyone.
          bool at_once = false;
          for (const auto& [cam, xs] : p.seen) at_once = at_once || (cam != camera_id && seen_during_feet(xs, t));
          if (!at_once) continue;
          if (float look = cosine_similarity(t.feature, p.prototype); look >= best) twin = &p, best = look;
        }
        if (twin) learn_covisible(*twin, camera_id, t, end_ms);
      }
      int c = choice[static_cast<size_t>(r)];
      // Re-scored: an earlier track of this window may have moved the person.
      float look = 0;
      double sc = c >= 0 ? score(persons_[static_cast<size_t>(c)], camera_id, t, end_ms, &look)
                         : -std::numeric_limits<double>::infinity();
      bool ok = sc >= cfg_.match_threshold;
      size_t who = ok ? static_cast<size_t>(c) : persons_.size();
      if (!ok) {
        sc = 0;
        look = 0;
        if (!t.feature.empty()) {
          // Not matched jointly: the best person as of now, which includes
          // those this window made (an earlier fragment of the same visit).
          for (size_t p = 0; p < persons_.size(); ++p) {
            float l2 = 0;
            double s2 = score(persons_[p], camera_id, t, end_ms, &l2);
            if (s2 >= cfg_.match_threshold && s2 > sc) {
              who = p;
              sc = s2;
              look = l2;
            }
          }
        }
      }
      if (who != persons_.size() && cfg_.ambiguity_margin > 0 && ambiguous(who, sc, camera_id, t, end_ms)) {
        who = persons_.size();
        sc = 0;
        look = 0;
      }
      assign(key, t, who, sc, look, out);
    }
  }
}

bool reid_engine::ambiguous(size_t winner, double winner_score, uint32_t camera_id, const ended_track& t,
                            timestamp_ms end_ms) const {
  const uint32_t from = persons_[winner].last_camera;
  for (size_t p = 0; p < persons_.size(); ++p) {
    if (p == winner || persons_[p].merged_into != 0 || persons_[p].last_camera == from) continue;
    float look = 0;
    if (score(persons_[p], camera_id, t, end_ms, &look) > winner_score - cfg_.ambiguity_margin) return true;
  }
  return false;
}

void reid_engine::assign(const track_key& key, const ended_track& t, size_t best, double best_score, float appearance,
                         presence_batch& out) {
  const auto& [end_ms, camera_id, track_id] = key;
  const bool fresh = best == persons_.size();
  if (fresh) persons_.emplace_back();
  auto& who = persons_[best];
  // Only what appearance alone is sure of teaches the graph and the topology
  // (what they helped decide would teach them their own mistakes).
  if (!fresh && appearance >= cfg_.confident && who.last_camera != camera_id) {
    learn(who.last_camera, camera_id, t.start_ms - who.last_exit_ms);
    topo_.learn_handover(who.last_camera, camera_id, who.last_exit_box, t.entry, t.start_ms - who.last_exit_ms);
  }
  add_feature(who, t.feature);
  seen_extent_[camera_id].add(t.entry);
  seen_extent_[camera_id].add(t.exit);
  if (t.feet) who.seen[camera_id].emplace_back(t.feet_from, t.feet_to);
  std::set<uint32_t> given_to;
  for (const auto& g : t.given) {
    who.seen[g.camera_id].emplace_back(g.from, g.to);
    auto& path = who.given[g.camera_id];
    if (given_to.insert(g.camera_id).second) path.clear(); // this track's stays there, in order
    path.insert(path.end(), g.path.begin(), g.path.end());
  }
  auto& track_end = who.track_end.try_emplace(camera_id, end_ms).first->second;
  track_end = std::max(track_end, end_ms);
  if (!t.path.empty()) who.paths[camera_id] = t.path;
  if (fresh || end_ms >= who.last_exit_ms) {
    who.last_camera = camera_id;
    who.last_exit_ms = end_ms;
    who.last_exit_box = t.exit;
  }
  uint64_t person_id = best + 1;
  // Confidence: how far above the threshold the match is (1 for a new id).
  float confidence = fresh
    ? 1.0f
    : std::clamp(static_cast<float>(best_score - cfg_.match_threshold) / std::max(1e-6f, 1.0f - cfg_.match_threshold),
                 0.0f, 1.0f);
  out.identities.push_back({camera_id, track_id, person_id, confidence});
  // A presence (and the tracklet the offline pass re-solves) only where the
  // person's foot was seen on this camera.
  if (t.feet) {
    out.rows.push_back({person_id, camera_id, t.feet_from, t.feet_to});
    out.tracklets.push_back({camera_id, track_id, person_id, t.feet_from, t.feet_to, t.entry, t.exit, confidence,
                             quantise_feature(t.feature)});
  }
  // Where its foot was on other views: presences there, of the same person.
  std::map<uint32_t, unsigned> stays; // per camera: this track's stays there so far
  for (const auto& g : t.given) {
    out.rows.push_back({person_id, g.camera_id, g.from, g.to});
    const float aspect = cfg_.handoff.aspect;
    auto body = [aspect](const foot_sample& s) {
      return box{s.p.x - s.h * aspect / 2, s.p.y - s.h, s.h * aspect, s.h};
    };
    out.tracklets.push_back({g.camera_id, handed_track_id(camera_id, track_id, stays[g.camera_id]++), person_id, g.from,
                             g.to, body(g.path.front()), body(g.path.back()), confidence, quantise_feature(t.feature)});
  }
  if (cfg_.merge_threshold <= 1.0f) try_merge(best, out);
}

std::vector<reid_engine::link_stats> reid_engine::graph() const {
  std::vector<link_stats> out;
  if (!cfg_.links.empty()) {
    for (const auto& l : cfg_.links) {
      auto it = learnt_.find({l.from, l.to});
      out.push_back(
        {l.from, l.to, it == learnt_.end() ? 0 : it->second.matches, l.min_transit_ms, l.max_transit_ms, true});
    }
    return out;
  }
  for (const auto& [k, l] : learnt_) {
    auto d = departures_.find(k.first);
    bool searched =
      d == departures_.end() || d->second < cfg_.learn_after || l.matches >= cfg_.learn_min_share * d->second;
    out.push_back({k.first, k.second, l.matches, l.min_transit_ms, l.max_transit_ms, searched});
  }
  return out;
}

std::string reid_engine::snapshot() const {
  nlohmann::json j;
  j["version"] = 2;
  auto& ps = j["persons"] = nlohmann::json::array();
  for (const auto& p : persons_) {
    nlohmann::json seen = nlohmann::json::array();
    for (const auto& [cam, xs] : p.seen)
      for (const auto& x : xs) seen.push_back({cam, x.first, x.second});
    nlohmann::json paths = nlohmann::json::array();
    for (const auto& [cam, path] : p.paths) paths.push_back({cam, path_json(path)});
    nlohmann::json ends = nlohmann::json::array();
    for (const auto& [cam, end] : p.track_end) ends.push_back({cam, end});
    nlohmann::json given = nlohmann::json::array();
    for (const auto& [cam, path] : p.given) given.push_back({cam, path_json(path)});
    ps.push_back({{"feature_sum", p.feature_sum},
                  {"prototype", p.prototype},
                  {"last_camera", p.last_camera},
                  {"last_exit_ms", p.last_exit_ms},
                  {"seen", seen},
                  {"merged_into", p.merged_into},
                  {"last_exit_box", box_json(p.last_exit_box)},
                  {"paths", paths},
                  {"track_end", ends},
                  {"given", given}});
  }
  auto& ls = j["links"] = nlohmann::json::array();
  for (const auto& [k, l] : learnt_) ls.push_back({k.first, k.second, l.matches, l.min_transit_ms, l.max_transit_ms});
  auto& ds = j["departures"] = nlohmann::json::array();
  for (const auto& [c, n] : departures_) ds.push_back({c, n});
  auto& es = j["extents"] = nlohmann::json::array();
  for (const auto& [c, e] : seen_extent_) es.push_back({c, e.x0, e.y0, e.x1, e.y1});
  auto& cs = j["cameras"] = nlohmann::json::array();
  for (const auto& [id, c] : cameras_) {
    nlohmann::json open = nlohmann::json::array();
    for (const auto& [t, o] : c.open) open.push_back({t, o.start_ms, o.last_ms, box_json(o.entry), path_json(o.path)});
    cs.push_back({{"id", id}, {"latest_ms", c.latest_ms}, {"ended", c.ended}, {"open", open}});
  }
  auto& pend = j["pending"] = nlohmann::json::array();
  for (const auto& [k, t] : pending_)
    pend.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), t.start_ms, t.feature, box_json(t.entry),
                    box_json(t.exit), path_json(t.path)});
  j["topology"] = topo_.to_json();
  return j.dump();
}

void reid_engine::restore(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  // Version 1 (before the topology) restores with no topology learnt yet.
  const int version = j.value("version", 0);
  if (version != 1 && version != 2) throw std::runtime_error("reid state: unknown version");
  const bool v2 = version == 2;
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
    if (v2) {
      x.last_exit_box = box_of(p.at("last_exit_box"));
      for (const auto& q : p.at("paths")) x.paths[q.at(0).get<uint32_t>()] = path_of(q.at(1));
    }
    if (p.contains("given")) // since handoff
      for (const auto& q : p.at("given")) x.given[q.at(0).get<uint32_t>()] = path_of(q.at(1));
    if (p.contains("track_end")) {
      for (const auto& q : p.at("track_end")) x.track_end[q.at(0).get<uint32_t>()] = q.at(1).get<timestamp_ms>();
    } else {
      // Before feet spans, presences were whole tracks.
      for (const auto& [cam, xs] : x.seen)
        if (!xs.empty()) x.track_end[cam] = xs.back().second;
    }
    persons.push_back(std::move(x));
  }
  decltype(learnt_) learnt;
  for (const auto& l : j.at("links"))
    learnt[{l.at(0).get<uint32_t>(), l.at(1).get<uint32_t>()}] =
      link_count{l.at(2).get<int>(), l.at(3).get<int64_t>(), l.at(4).get<int64_t>()};
  decltype(departures_) departures;
  for (const auto& d : j.at("departures")) departures[d.at(0).get<uint32_t>()] = d.at(1).get<int>();
  // Older snapshots have no extents: they are learnt again from new tracks.
  decltype(seen_extent_) extents;
  if (j.contains("extents"))
    for (const auto& e : j.at("extents"))
      extents[e.at(0).get<uint32_t>()] =
        image_extent{e.at(1).get<float>(), e.at(2).get<float>(), e.at(3).get<float>(), e.at(4).get<float>()};
  decltype(cameras_) cameras;
  for (const auto& c : j.at("cameras")) {
    camera_state cs{c.at("latest_ms").get<timestamp_ms>(), c.at("ended").get<bool>(), {}};
    for (const auto& o : c.at("open"))
      cs.open[o.at(0).get<uint64_t>()] =
        open_track{o.at(1).get<timestamp_ms>(), o.at(2).get<timestamp_ms>(), v2 ? box_of(o.at(3)) : box{},
                   v2 ? path_of(o.at(4)) : std::vector<foot_sample>{}};
    cameras.emplace(c.at("id").get<uint32_t>(), std::move(cs));
  }
  decltype(pending_) pending;
  for (const auto& p : j.at("pending")) {
    const track_key key{p.at(0).get<timestamp_ms>(), p.at(1).get<uint32_t>(), p.at(2).get<uint64_t>()};
    auto& t = pending[key] =
      ended_track{p.at(3).get<timestamp_ms>(), p.at(4).get<std::vector<float>>(), v2 ? box_of(p.at(5)) : box{},
                  v2 ? box_of(p.at(6)) : box{}, v2 ? path_of(p.at(7)) : std::vector<foot_sample>{}};
    observe_feet(std::get<1>(key), t, std::get<0>(key));
  }
  weaver::topology topo(cfg_.topo);
  if (v2) topo.from_json(j.at("topology"));
  // Only now, so a bad file leaves the engine as it was.
  persons_ = std::move(persons);
  learnt_ = std::move(learnt);
  departures_ = std::move(departures);
  seen_extent_ = std::move(extents);
  cameras_ = std::move(cameras);
  pending_ = std::move(pending);
  topo_ = std::move(topo);
}

} // namespace weaver
