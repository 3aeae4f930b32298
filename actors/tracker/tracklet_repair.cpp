#include "actors/tracker/tracklet_repair.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>

#include <nlohmann/json.hpp>

namespace weaver {

namespace {

struct point {
  double x = 0, y = 0;
};

point centre(const box& b) { return {b.x + b.w / 2.0, b.y + b.h / 2.0}; }

// Pixels per millisecond of the box centre over the samples (0 with fewer
// than two or no time between them).
template <class Samples>
point velocity(const Samples& s) {
  if (s.size() < 2 || s.back().ms <= s.front().ms) return {};
  const point a = centre(s.front().b), b = centre(s.back().b);
  const double dt = static_cast<double>(s.back().ms - s.front().ms);
  return {(b.x - a.x) / dt, (b.y - a.y) / dt};
}

box lerp(const box& a, const box& b, double u) {
  auto mix = [u](float p, float q) { return static_cast<float>(p + (q - p) * u); };
  return {mix(a.x, b.x), mix(a.y, b.y), mix(a.w, b.w), mix(a.h, b.h)};
}

template <class Appearance>
void add_feature(Appearance& a, const std::vector<float>& f, double weight = 1.0) {
  double norm = 0;
  for (float v : f) norm += static_cast<double>(v) * v;
  if (!(norm > 0) || !std::isfinite(norm)) return;
  if (a.sum.empty()) a.sum.assign(f.size(), 0.0);
  if (a.sum.size() != f.size()) return; // another descriptor: keep the mean consistent
  const double k = weight / std::sqrt(norm);
  for (size_t i = 0; i < f.size(); ++i) a.sum[i] += f[i] * k;
  a.weight += weight;
}

template <class Appearance>
void add_all(Appearance& a, const Appearance& b) {
  if (b.sum.empty()) return;
  if (a.sum.empty()) a.sum.assign(b.sum.size(), 0.0);
  if (a.sum.size() != b.sum.size()) return;
  for (size_t i = 0; i < b.sum.size(); ++i) a.sum[i] += b.sum[i];
  a.weight += b.weight;
}

// Cosine similarity of two appearance sums; nullopt-like -2 when either is
// missing or they are of different descriptors.
template <class Appearance>
double similarity(const Appearance& a, const Appearance& b) {
  if (a.sum.empty() || a.sum.size() != b.sum.size()) return -2;
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.sum.size(); ++i) {
    ab += a.sum[i] * b.sum[i];
    aa += a.sum[i] * a.sum[i];
    bb += b.sum[i] * b.sum[i];
  }
  if (!(aa > 0) || !(bb > 0)) return -2;
  return ab / std::sqrt(aa * bb);
}

template <class Appearance>
std::vector<float> mean_unit(const Appearance& a) {
  double norm = 0;
  for (double v : a.sum) norm += v * v;
  if (!(norm > 0)) return {};
  norm = std::sqrt(norm);
  std::vector<float> out;
  out.reserve(a.sum.size());
  for (double v : a.sum) out.push_back(static_cast<float>(v / norm));
  return out;
}

} // namespace

tracklet_repair::tracklet_repair(tracklet_repair_config cfg) : cfg_(cfg) {
  cfg_.min_boxes = std::max(cfg_.min_boxes, 1);
  cfg_.velocity_boxes = std::max(cfg_.velocity_boxes, 2);
  cfg_.max_fill_frames = std::max(cfg_.max_fill_frames, 0);
  if (!cfg_.fill) cfg_.smooth_frames = 0; // join: the tracker's boxes as they are
}

size_t tracklet_repair::unsmoothed() const {
  size_t n = 0;
  for (const auto& [id, w] : smoothing_) n += w.boxes.size() - w.from;
  return n;
}

size_t tracklet_repair::pending() const {
  return static_cast<size_t>(
    std::count_if(live_.begin(), live_.end(), [](const auto& kv) { return kv.second.pending; }));
}

repair_step tracklet_repair::update(const track_batch& in) { return step(in, false); }

repair_step tracklet_repair::flush(const track_batch& in) { return step(in, true); }

repair_step tracklet_repair::step(const track_batch& in, bool final) {
  repair_step out;
  out.batch.camera_id = in.camera_id;
  out.batch.seq = in.seq;
  out.batch.time_ms = in.time_ms;
  for (const auto& e : in.events) {
    switch (e.state) {
      case track_state::started:
        on_started(e, in, out);
        break;
      case track_state::updated:
        on_updated(e, out);
        break;
      case track_state::ended:
        on_ended(e, out);
        break;
    }
  }
  // New tracks ready to be judged: enough boxes and no live track left that
  // might still end and be what they continue (or the stream ends).
  std::vector<uint64_t> ready;
  for (const auto& [id, t] : live_)
    if (t.pending && (final || (t.waiting_on.empty() && static_cast<int>(t.recent.size()) >= cfg_.min_boxes)))
      ready.push_back(id);
  judge(std::move(ready), out);
  // Fragments nobody can continue any more pass their `ended` on.
  for (auto it = held_.begin(); it != held_.end();) {
    const auto& last = it->second.recent.back();
    bool keep = !final && in.time_ms - last.ms <= cfg_.max_gap_ms;
    if (!keep && !final)
      for (const auto& [id, t] : live_)
        if (t.pending && t.first_seq > last.seq && t.first_ms - last.ms <= cfg_.max_gap_ms) keep = true;
    if (keep) {
      ++it;
      continue;
    }
    out.batch.events.push_back(std::move(it->second.ended));
    it = held_.erase(it);
  }
  smooth(out, final);
  std::stable_sort(out.batch.events.begin(), out.batch.events.end(),
                   [](const track_event& x, const track_event& y) { return x.track_id < y.track_id; });
  return out;
}

void tracklet_repair::add_box(live& t, const sample& s, repair_step& out, bool emit) {
  if (!t.recent.empty() && cfg_.fill) {
    const sample& prev = t.recent.back();
    const uint64_t missed = s.seq > prev.seq ? s.seq - prev.seq - 1 : 0;
    if (missed > 0 && missed <= static_cast<uint64_t>(cfg_.max_fill_frames))
      for (uint64_t k = 1; k <= missed; ++k) {
        track_box tb{prev.seq + k, t.out_id, lerp(prev.b, s.b, static_cast<double>(k) / (missed + 1)), true};
        (t.pending ? t.held_boxes : out.boxes).push_back(tb);
      }
  }
  t.recent.push_back(s);
  if (static_cast<int>(t.recent.size()) > cfg_.velocity_boxes) t.recent.erase(t.recent.begin());
  if (emit) (t.pending ? t.held_boxes : out.boxes).push_back({s.seq, t.out_id, s.b, false});
}

void tracklet_repair::on_started(const track_event& e, const track_batch& in, repair_step& out) {
  live& t = live_[e.track_id];
  t = live{};
  t.out_id = e.track_id;
  t.first_seq = e.frame_seq;
  t.first_ms = e.time_ms;
  t.confirmed = {in.seq, in.time_ms, e.bbox};
  add_feature(t.own, e.feature);
  // Held back until judged; judged now when there is nothing it might
  // continue: no fragment already ended, no live track missed since before
  // it began (the tracker may still end those).
  t.pending = true;
  t.held_events.push_back(e);
  add_box(t, t.confirmed, out, true);
  bool candidates = false;
  for (const auto& [id, f] : held_)
    if (could_continue(f.recent, t)) candidates = true;
  for (const auto& [id, x] : live_)
    if (id != e.track_id && !x.recent.empty() && x.recent.back().seq < t.first_seq && could_continue(x.recent, t)) {
      t.waiting_on.push_back(id);
      candidates = true;
    }
  if (!candidates) release(t, nullptr, out);
}

void tracklet_repair::on_updated(const track_event& e, repair_step& out) {
  auto [it, fresh] = live_.try_emplace(e.track_id);
  live& t = it->second;
  if (fresh) { // a track whose start came before a restart without our state
    t.out_id = e.track_id;
    t.first_seq = e.frame_seq;
    t.first_ms = e.time_ms;
    t.confirmed = {e.frame_seq, e.time_ms, e.bbox};
  }
  add_feature(t.own, e.feature);
  add_box(t, {e.frame_seq, e.time_ms, e.bbox}, out, true);
  track_event r = e;
  r.track_id = t.out_id;
  (t.pending ? t.held_events : out.batch.events).push_back(std::move(r));
  // Matched again: it is not what a newer track continues.
  for (auto& [id, x] : live_)
    x.waiting_on.erase(std::remove(x.waiting_on.begin(), x.waiting_on.end(), e.track_id), x.waiting_on.end());
}

void tracklet_repair::on_ended(const track_event& e, repair_step& out) {
  auto it = live_.find(e.track_id);
  if (it == live_.end()) { // unknown (restart without our state): pass it on
    out.batch.events.push_back(e);
    return;
  }
  if (it->second.pending) judge({e.track_id}, out);
  live& t = it->second;
  finished_.push_back(t.out_id); // its last boxes need not wait for more
  fragment f;
  f.out_id = t.out_id;
  f.recent = t.recent;
  if (f.recent.empty()) f.recent.push_back({e.frame_seq, e.time_ms, e.bbox});
  f.all = t.before;
  add_all(f.all, t.own);
  f.ended = e;
  f.ended.track_id = t.out_id;
  if (cfg_.mean_of_all)
    if (auto mean = mean_unit(f.all); !mean.empty()) f.ended.feature = std::move(mean);
  live_.erase(it);
  for (auto& [id, x] : live_)
    x.waiting_on.erase(std::remove(x.waiting_on.begin(), x.waiting_on.end(), e.track_id), x.waiting_on.end());
  // One that left the view is continued by no track (the border rule):
  // its end goes on now, so re-id is not kept waiting where people hand
  // over from one camera to the next.
  if (at_border(f.recent.back().b)) {
    out.batch.events.push_back(std::move(f.ended));
    return;
  }
  held_[e.track_id] = std::move(f);
}

void tracklet_repair::smooth(repair_step& out, bool final) {
  const auto k = static_cast<size_t>(std::max(cfg_.smooth_frames, 0));
  if (k == 0) {
    finished_.clear();
    return;
  }
  std::vector<track_box> raw;
  raw.swap(out.boxes);
  for (auto& b : raw) {
    window& w = smoothing_[b.track_id];
    // Boxes of one id come in frame order; one that does not (none should)
    // goes out as it is rather than disturb the windows already passed on.
    if (!w.boxes.empty() && b.frame_seq <= w.boxes.back().frame_seq) {
      out.boxes.push_back(b);
      continue;
    }
    w.boxes.push_back(b);
  }
  // Box i is final once k boxes follow it in consecutive frames, or a box
  // after a break in the frames, or its track ended. The window is
  // symmetric (as many consecutive frames before as after, at most k), so a
  // straight walk keeps its boxes exactly, at a track's ends too.
  auto pass_on = [&](window& w, bool all) {
    const auto& v = w.boxes;
    for (; w.from < v.size(); ++w.from) {
      const size_t i = w.from;
      size_t after = 0;
      while (after < k && i + after + 1 < v.size() && v[i + after + 1].frame_seq == v[i + after].frame_seq + 1) ++after;
      if (!all && after < k && i + after + 1 >= v.size()) break;
      size_t before = 0;
      while (before < k && before < i && v[i - before - 1].frame_seq + 1 == v[i - before].frame_seq) ++before;
      const size_t m = std::min(before, after);
      double x = 0, y = 0, bw = 0, bh = 0;
      for (size_t j = i - m; j <= i + m; ++j) {
        x += v[j].bbox.x;
        y += v[j].bbox.y;
        bw += v[j].bbox.w;
        bh += v[j].bbox.h;
      }
      const double n = static_cast<double>(2 * m + 1);
      track_box o = v[i];
      o.bbox = {static_cast<float>(x / n), static_cast<float>(y / n), static_cast<float>(bw / n),
                static_cast<float>(bh / n)};
      out.boxes.push_back(o);
    }
    // Keep the k boxes before the first one not passed on, for its window.
    const size_t drop = w.from > k ? w.from - k : 0;
    w.boxes.erase(w.boxes.begin(), w.boxes.begin() + static_cast<std::ptrdiff_t>(drop));
    w.from -= drop;
  };
  for (uint64_t id : finished_) {
    // Not when a new track took its id up in this very step: one window.
    if (std::any_of(live_.begin(), live_.end(), [id](const auto& kv) { return kv.second.out_id == id; })) continue;
    if (auto it = smoothing_.find(id); it != smoothing_.end()) {
      pass_on(it->second, true);
      smoothing_.erase(it);
    }
  }
  finished_.clear();
  for (auto it = smoothing_.begin(); it != smoothing_.end();) {
    pass_on(it->second, final);
    if (final)
      it = smoothing_.erase(it);
    else
      ++it;
  }
}

bool tracklet_repair::at_border(const box& b) const {
  if (width_ <= 0 || height_ <= 0) return false;
  const float m = cfg_.border_margin * b.w;
  return b.x <= m || b.y <= m || b.x + b.w >= width_ - m || b.y + b.h >= height_ - m;
}

bool tracklet_repair::could_continue(const std::vector<sample>& before, const live& t) const {
  if (before.empty()) return false;
  const sample& a = before.back();
  if (at_border(a.b)) return false;
  if (t.first_seq <= a.seq || t.first_ms - a.ms > cfg_.max_gap_ms) return false;
  // Loose: the new track's velocity is not known yet, so twice the tolerance.
  const sample& b = t.confirmed;
  const point va = velocity(before);
  const double dt = static_cast<double>(b.ms - a.ms);
  const point pa = centre(a.b), pb = centre(b.b);
  const double h = (a.b.h + b.b.h) / 2.0;
  const double miss = std::hypot(pa.x + va.x * dt - pb.x, pa.y + va.y * dt - pb.y) / h;
  return miss <= 2 * (cfg_.residual + cfg_.residual_per_s * dt / 1000.0);
}

double tracklet_repair::cost(const fragment& f, const live& t) const {
  constexpr double infeasible = -1;
  const sample& a = f.recent.back();
  if (at_border(a.b)) return infeasible;
  if (t.first_seq <= a.seq || t.first_ms - a.ms > cfg_.max_gap_ms) return infeasible;
  const sample& b = t.confirmed;
  const double ratio = b.b.h > a.b.h ? b.b.h / a.b.h : a.b.h / b.b.h;
  if (!(ratio <= cfg_.max_height_ratio)) return infeasible;
  // Meet in the middle: the fragment forward, the new track back.
  const point va = velocity(f.recent), vb = velocity(t.recent);
  const double span = static_cast<double>(b.ms - a.ms);
  const point pa = centre(a.b), pb = centre(b.b);
  const double half = span / 2.0;
  const double dx = (pa.x + va.x * half) - (pb.x - vb.x * half);
  const double dy = (pa.y + va.y * half) - (pb.y - vb.y * half);
  const double h = (a.b.h + b.b.h) / 2.0;
  const double miss = std::hypot(dx, dy) / h;
  if (width_ > 0 && height_ > 0) { // where they meet must be in view
    const double mx = (pa.x + va.x * half + pb.x - vb.x * half) / 2, my = (pa.y + va.y * half + pb.y - vb.y * half) / 2;
    if (mx < 0 || my < 0 || mx > width_ || my > height_) return infeasible;
  }
  if (f.recent.size() >= 2 && t.recent.size() >= 2
      && !(std::hypot(va.x - vb.x, va.y - vb.y) * 1000.0 / h <= cfg_.max_velocity_change))
    return infeasible;
  const double tolerance = cfg_.residual + cfg_.residual_per_s * span / 1000.0;
  if (!(miss <= tolerance)) return infeasible;
  double c = miss / tolerance;
  const double sim = similarity(f.all, t.own);
  if (sim > -2) {
    if (sim < cfg_.min_similarity) return infeasible;
    c += cfg_.appearance_weight * (1.0 - sim);
  }
  return c;
}

void tracklet_repair::judge(std::vector<uint64_t> ready, repair_step& out) {
  if (ready.empty()) return;
  std::vector<std::tuple<double, uint64_t, uint64_t>> pairs; // cost, new track, fragment
  for (uint64_t id : ready)
    for (const auto& [fid, f] : held_) {
      const double c = cost(f, live_.at(id));
      if (c >= 0) pairs.emplace_back(c, id, fid);
    }
  std::sort(pairs.begin(), pairs.end());
  std::map<uint64_t, uint64_t> chosen; // new track -> fragment
  std::vector<uint64_t> taken;
  for (const auto& [c, id, fid] : pairs) {
    if (chosen.count(id) || std::find(taken.begin(), taken.end(), fid) != taken.end()) continue;
    chosen[id] = fid;
    taken.push_back(fid);
  }
  for (uint64_t id : ready) {
    live& t = live_.at(id);
    auto c = chosen.find(id);
    if (c == chosen.end()) {
      release(t, nullptr, out);
      continue;
    }
    fragment f = std::move(held_.at(c->second));
    held_.erase(c->second);
    release(t, &f, out);
  }
}

void tracklet_repair::release(live& t, const fragment* from, repair_step& out) {
  if (from) {
    t.out_id = from->out_id;
    t.before = from->all;
  }
  // The frames before the confirming box: across the joined gap, from the
  // fragment's last box; else the tracker's tentative frames, at the
  // confirming box (the tracker does not say where they were).
  const sample& c = t.confirmed;
  if (cfg_.fill) {
    const auto most = static_cast<uint64_t>(cfg_.max_fill_frames);
    if (from) {
      const sample& a = from->recent.back();
      const uint64_t missed = c.seq > a.seq ? c.seq - a.seq - 1 : 0;
      if (missed <= most)
        for (uint64_t k = 1; k <= missed; ++k)
          out.boxes.push_back({a.seq + k, t.out_id, lerp(a.b, c.b, static_cast<double>(k) / (missed + 1)), true});
    } else if (cfg_.backfill && c.seq > t.first_seq && c.seq - t.first_seq <= most) {
      for (uint64_t s = t.first_seq; s < c.seq; ++s) out.boxes.push_back({s, t.out_id, c.b, true});
    }
  }
  for (auto& b : t.held_boxes) {
    b.track_id = t.out_id;
    out.boxes.push_back(b);
  }
  for (auto& e : t.held_events) {
    e.track_id = t.out_id;
    if (from && e.state == track_state::started) { // a continuation: no new start
      e.state = track_state::updated;
      e.frame_seq = c.seq;
      e.time_ms = c.ms;
    }
    out.batch.events.push_back(std::move(e));
  }
  t.held_boxes.clear();
  t.held_events.clear();
  t.waiting_on.clear();
  t.pending = false;
}

} // namespace weaver

namespace weaver {

namespace {

using nlohmann::json;

json box_json(const box& b) { return json::array({b.x, b.y, b.w, b.h}); }

box box_from(const json& j) {
  auto v = j.get<std::vector<float>>();
  if (v.size() != 4) throw std::invalid_argument("tracklet repair: a box needs 4 numbers");
  return {v[0], v[1], v[2], v[3]};
}

json event_json(const track_event& e) {
  return {{"camera", e.camera_id}, {"id", e.track_id},    {"state", static_cast<int>(e.state)},
          {"ms", e.time_ms},       {"seq", e.frame_seq},  {"box", box_json(e.bbox)},
          {"score", e.score},      {"feature", e.feature}};
}

track_event event_from(const json& j) {
  track_event e;
  e.camera_id = j.at("camera").get<uint32_t>();
  e.track_id = j.at("id").get<uint64_t>();
  const int s = j.at("state").get<int>();
  if (s < static_cast<int>(track_state::started) || s > static_cast<int>(track_state::ended))
    throw std::invalid_argument("tracklet repair: bad event state");
  e.state = static_cast<track_state>(s);
  e.time_ms = j.at("ms").get<timestamp_ms>();
  e.frame_seq = j.at("seq").get<uint64_t>();
  e.bbox = box_from(j.at("box"));
  e.score = j.at("score").get<float>();
  e.feature = j.at("feature").get<std::vector<float>>();
  return e;
}

} // namespace

std::string tracklet_repair::snapshot() const {
  auto samples = [](const std::vector<sample>& v) {
    json a = json::array();
    for (const auto& s : v) a.push_back({s.seq, s.ms, box_json(s.b)});
    return a;
  };
  auto look = [](const appearance& a) { return json{{"sum", a.sum}, {"weight", a.weight}}; };
  json j{{"kind", "tracklet_repair"}};
  auto& ls = j["live"] = json::array();
  for (const auto& [id, t] : live_) {
    json boxes = json::array();
    for (const auto& b : t.held_boxes) boxes.push_back({b.frame_seq, b.track_id, box_json(b.bbox), b.filled});
    json events = json::array();
    for (const auto& e : t.held_events) events.push_back(event_json(e));
    ls.push_back({{"id", id},
                  {"out", t.out_id},
                  {"first_seq", t.first_seq},
                  {"first_ms", t.first_ms},
                  {"confirmed", samples({t.confirmed})},
                  {"recent", samples(t.recent)},
                  {"own", look(t.own)},
                  {"before", look(t.before)},
                  {"pending", t.pending},
                  {"events", events},
                  {"boxes", boxes},
                  {"waiting_on", t.waiting_on}});
  }
  auto& hs = j["held"] = json::array();
  for (const auto& [id, f] : held_)
    hs.push_back({{"id", id},
                  {"out", f.out_id},
                  {"recent", samples(f.recent)},
                  {"all", look(f.all)},
                  {"ended", event_json(f.ended)}});
  auto& ss = j["smoothing"] = json::array();
  for (const auto& [id, w] : smoothing_) {
    json boxes = json::array();
    for (const auto& b : w.boxes) boxes.push_back({b.frame_seq, box_json(b.bbox), b.filled});
    ss.push_back({{"id", id}, {"from", w.from}, {"boxes", boxes}});
  }
  return j.dump();
}

void tracklet_repair::restore(const std::string& text) {
  auto j = json::parse(text);
  if (j.value("kind", "") != "tracklet_repair")
    throw std::invalid_argument("tracklet repair: not a tracklet_repair snapshot");
  auto samples = [](const json& a) {
    std::vector<sample> v;
    for (const auto& s : a) v.push_back({s.at(0).get<uint64_t>(), s.at(1).get<timestamp_ms>(), box_from(s.at(2))});
    return v;
  };
  auto look = [](const json& a) {
    appearance x;
    x.sum = a.at("sum").get<std::vector<double>>();
    x.weight = a.at("weight").get<double>();
    return x;
  };
  std::map<uint64_t, live> ls;
  for (const auto& tj : j.at("live")) {
    live t;
    t.out_id = tj.at("out").get<uint64_t>();
    t.first_seq = tj.at("first_seq").get<uint64_t>();
    t.first_ms = tj.at("first_ms").get<timestamp_ms>();
    auto c = samples(tj.at("confirmed"));
    if (c.size() != 1) throw std::invalid_argument("tracklet repair: confirmed needs one box");
    t.confirmed = c.front();
    t.recent = samples(tj.at("recent"));
    t.own = look(tj.at("own"));
    t.before = look(tj.at("before"));
    t.pending = tj.at("pending").get<bool>();
    for (const auto& e : tj.at("events")) t.held_events.push_back(event_from(e));
    for (const auto& b : tj.at("boxes"))
      t.held_boxes.push_back(
        {b.at(0).get<uint64_t>(), b.at(1).get<uint64_t>(), box_from(b.at(2)), b.at(3).get<bool>()});
    t.waiting_on = tj.at("waiting_on").get<std::vector<uint64_t>>();
    ls[tj.at("id").get<uint64_t>()] = std::move(t);
  }
  std::map<uint64_t, fragment> hs;
  for (const auto& fj : j.at("held")) {
    fragment f;
    f.out_id = fj.at("out").get<uint64_t>();
    f.recent = samples(fj.at("recent"));
    if (f.recent.empty()) throw std::invalid_argument("tracklet repair: a fragment without boxes");
    f.all = look(fj.at("all"));
    f.ended = event_from(fj.at("ended"));
    hs[fj.at("id").get<uint64_t>()] = std::move(f);
  }
  std::map<uint64_t, window> ss;
  if (auto it = j.find("smoothing"); it != j.end()) // absent in snapshots from before smoothing
    for (const auto& wj : *it) {
      window w;
      const auto id = wj.at("id").get<uint64_t>();
      for (const auto& b : wj.at("boxes"))
        w.boxes.push_back({b.at(0).get<uint64_t>(), id, box_from(b.at(1)), b.at(2).get<bool>()});
      w.from = wj.at("from").get<size_t>();
      if (w.from > w.boxes.size()) throw std::invalid_argument("tracklet repair: smoothing window past its boxes");
      ss[id] = std::move(w);
    }
  live_ = std::move(ls);
  held_ = std::move(hs);
  smoothing_ = std::move(ss);
  finished_.clear();
}

} // namespace weaver
