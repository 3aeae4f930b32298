#include "actors/reid/topology.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <opencv2/calib3d.hpp>

namespace weaver {

namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  double m = *mid;
  if (v.size() % 2 == 0) m = (m + *std::max_element(v.begin(), mid)) / 2;
  return m;
}

double sq(double v) { return v * v; }

// Adds to a ring of at most `cap` items.
template <class T>
void push_ring(std::vector<T>& ring, size_t& next, size_t cap, T item) {
  if (ring.size() < cap) {
    ring.push_back(std::move(item));
    return;
  }
  ring[next] = std::move(item);
  next = (next + 1) % cap;
}

// The smaller eigenvalue of the points' covariance: near 0 when they lie on a
// line (one straight walk), where a homography is not determined.
double min_spread(const std::vector<cv::Point2f>& pts) {
  double mx = 0, my = 0;
  for (auto& p : pts) mx += p.x, my += p.y;
  mx /= double(pts.size()), my /= double(pts.size());
  double sxx = 0, syy = 0, sxy = 0;
  for (auto& p : pts) sxx += sq(p.x - mx), syy += sq(p.y - my), sxy += (p.x - mx) * (p.y - my);
  sxx /= double(pts.size()), syy /= double(pts.size()), sxy /= double(pts.size());
  double tr = sxx + syy, det = sxx * syy - sxy * sxy;
  return tr / 2 - std::sqrt(std::max(0.0, tr * tr / 4 - det));
}

} // namespace

topology::topology(topology_config cfg) : cfg_(cfg) {}

void topology::learn_handover(uint32_t from, uint32_t to, const box& exit, const box& entry, int64_t transit_ms) {
  auto& s = pairs_[{from, to}];
  push_ring(s.handovers, s.next, std::max<size_t>(1, cfg_.max_handovers),
            handover{foot_of(exit), foot_of(entry), exit.h, entry.h, transit_ms});
  update_transit(s);
}

void topology::update_transit(pair_state& s) {
  // Median and scaled median absolute deviation: one odd match (a wrong
  // identity, a person who stopped on the way) does not stretch the window.
  std::vector<double> t;
  for (const auto& h : s.handovers) t.push_back(double(h.transit_ms));
  s.transit_median_ms = median_of(t);
  for (auto& v : t) v = std::abs(v - s.transit_median_ms);
  s.transit_spread_ms = std::max(double(cfg_.min_transit_spread_ms), 1.4826 * median_of(t));
}

std::optional<double> topology::handover_score(uint32_t from, uint32_t to, const box& exit, const box& entry,
                                               int64_t transit_ms) const {
  auto it = pairs_.find({from, to});
  if (it == pairs_.end() || static_cast<int>(it->second.handovers.size()) < cfg_.min_handovers) return std::nullopt;
  const auto& s = it->second;
  const double time = std::exp(-0.5 * sq((double(transit_ms) - s.transit_median_ms) / s.transit_spread_ms));
  // Exit and entry jointly (nearest learnt handover, a kernel a fraction of
  // a person tall): on a shared edge, where one leaves fixes where one enters.
  const image_point a = foot_of(exit), b = foot_of(entry);
  double space = 0;
  for (const auto& h : s.handovers) {
    const double sa = std::max(1.0, cfg_.region_sigma * (exit.h + h.exit_h) / 2.0);
    const double sb = std::max(1.0, cfg_.region_sigma * (entry.h + h.entry_h) / 2.0);
    const double d2 =
      (sq(a.x - h.exit.x) + sq(a.y - h.exit.y)) / sq(sa) + (sq(b.x - h.entry.x) + sq(b.y - h.entry.y)) / sq(sb);
    space = std::max(space, std::exp(-0.5 * d2));
  }
  return time * space;
}

void topology::learn_covisible(uint32_t a, uint32_t b, const std::vector<std::pair<foot_sample, foot_sample>>& pairs) {
  auto& ab = pairs_[{a, b}];
  auto& ba = pairs_[{b, a}];
  ab.covisible++;
  ba.covisible++;
  const size_t cap = std::max<size_t>(4, cfg_.max_correspondences);
  for (const auto& [pa, pb] : pairs) {
    push_ring(ab.corr, ab.corr_next, cap, {pa, pb});
    push_ring(ba.corr, ba.corr_next, cap, {pb, pa});
  }
  fit(ab);
  fit(ba);
}

void topology::fit(pair_state& s) {
  const size_t n = s.corr.size();
  // Refitted as the evidence grows by a quarter (RANSAC is not free), and
  // only on points that span an area, not one straight walk.
  if (n < cfg_.homography_min_points || (s.fitted_at > 0 && n * 4 < s.fitted_at * 5)) return;
  std::vector<cv::Point2f> src, dst;
  std::vector<double> heights;
  for (const auto& [pa, pb] : s.corr) {
    src.emplace_back(pa.p.x, pa.p.y);
    dst.emplace_back(pb.p.x, pb.p.y);
    heights.push_back(pb.h);
  }
  const double h = std::max(1.0, median_of(heights));
  s.fitted_at = n;
  if (min_spread(src) < sq(0.5 * h) || min_spread(dst) < sq(0.5 * h)) return;
  cv::Mat mask;
  cv::Mat H = cv::findHomography(src, dst, cv::RANSAC, std::max(1.0, cfg_.homography_px * h), mask);
  if (H.empty() || cv::countNonZero(mask) * 2 < static_cast<int>(n)) return;
  s.h.assign(H.ptr<double>(), H.ptr<double>() + 9);
}

std::optional<image_point> topology::map_point(uint32_t a, uint32_t b, image_point p) const {
  auto it = pairs_.find({a, b});
  if (it == pairs_.end() || it->second.h.size() != 9) return std::nullopt;
  const auto& H = it->second.h;
  const double w = H[6] * p.x + H[7] * p.y + H[8];
  if (std::abs(w) < 1e-9) return std::nullopt;
  return image_point{float((H[0] * p.x + H[1] * p.y + H[2]) / w), float((H[3] * p.x + H[4] * p.y + H[5]) / w)};
}

bool topology::overlapping(uint32_t a, uint32_t b) const {
  auto it = pairs_.find({a, b});
  return it != pairs_.end() && it->second.covisible >= cfg_.overlap_after && it->second.h.size() == 9;
}

std::optional<double> topology::covisible_score(uint32_t a, uint32_t b,
                                                const std::vector<std::pair<foot_sample, foot_sample>>& pairs) const {
  if (pairs.empty()) return std::nullopt;
  std::vector<double> d;
  for (const auto& [pa, pb] : pairs) {
    auto m = map_point(a, b, pa.p);
    if (!m) return std::nullopt;
    const double s = std::max(1.0, double(cfg_.region_sigma) * pb.h);
    d.push_back(std::sqrt(sq(m->x - pb.p.x) + sq(m->y - pb.p.y)) / s);
  }
  return std::exp(-0.5 * sq(median_of(d)));
}

topology::pair_summary topology::summary(uint32_t from, uint32_t to) const {
  pair_summary out;
  auto it = pairs_.find({from, to});
  if (it == pairs_.end()) return out;
  const auto& s = it->second;
  out.handovers = static_cast<int>(s.handovers.size());
  out.transit_median_ms = s.transit_median_ms;
  out.transit_spread_ms = s.transit_spread_ms;
  for (const auto& h : s.handovers) {
    out.exit_mean.x += h.exit.x / float(s.handovers.size());
    out.exit_mean.y += h.exit.y / float(s.handovers.size());
    out.entry_mean.x += h.entry.x / float(s.handovers.size());
    out.entry_mean.y += h.entry.y / float(s.handovers.size());
  }
  out.covisible = s.covisible;
  out.homography = s.h.size() == 9;
  return out;
}

nlohmann::json topology::to_json() const {
  auto arr = nlohmann::json::array();
  for (const auto& [k, s] : pairs_) {
    auto hs = nlohmann::json::array();
    for (const auto& h : s.handovers)
      hs.push_back({h.exit.x, h.exit.y, h.exit_h, h.entry.x, h.entry.y, h.entry_h, h.transit_ms});
    auto cs = nlohmann::json::array();
    for (const auto& [a, b] : s.corr) cs.push_back({a.t, a.p.x, a.p.y, a.h, b.t, b.p.x, b.p.y, b.h});
    arr.push_back({{"from", k.first},
                   {"to", k.second},
                   {"handovers", hs},
                   {"next", s.next},
                   {"covisible", s.covisible},
                   {"corr", cs},
                   {"corr_next", s.corr_next},
                   {"fitted_at", s.fitted_at},
                   {"h", s.h}});
  }
  return arr;
}

void topology::from_json(const nlohmann::json& j) {
  decltype(pairs_) pairs;
  for (const auto& x : j) {
    pair_state s;
    for (const auto& h : x.at("handovers"))
      s.handovers.push_back({{h.at(0).get<float>(), h.at(1).get<float>()},
                             {h.at(3).get<float>(), h.at(4).get<float>()},
                             h.at(2).get<float>(),
                             h.at(5).get<float>(),
                             h.at(6).get<int64_t>()});
    s.next = x.at("next").get<size_t>();
    s.covisible = x.at("covisible").get<int>();
    for (const auto& c : x.at("corr"))
      s.corr.push_back(
        {foot_sample{c.at(0).get<timestamp_ms>(), {c.at(1).get<float>(), c.at(2).get<float>()}, c.at(3).get<float>()},
         foot_sample{c.at(4).get<timestamp_ms>(), {c.at(5).get<float>(), c.at(6).get<float>()}, c.at(7).get<float>()}});
    s.corr_next = x.at("corr_next").get<size_t>();
    s.fitted_at = x.at("fitted_at").get<size_t>();
    s.h = x.at("h").get<std::vector<double>>();
    if (!s.h.empty() && s.h.size() != 9)
      throw std::runtime_error("topology: a homography of " + std::to_string(s.h.size()) + " values");
    if (s.next > s.handovers.size() || s.corr_next > s.corr.size())
      throw std::runtime_error("topology: ring index out of range");
    update_transit(s);
    pairs[{x.at("from").get<uint32_t>(), x.at("to").get<uint32_t>()}] = std::move(s);
  }
  pairs_ = std::move(pairs);
}

} // namespace weaver
