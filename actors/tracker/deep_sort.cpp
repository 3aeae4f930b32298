#include "actors/tracker/deep_sort.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "actors/tracker/assignment.hpp"
#include "actors/tracker/track_snapshot.hpp"

namespace weaver {

namespace {

constexpr double infeasible = std::numeric_limits<double>::infinity();

// Dot product with independent partial sums, so the compiler can keep
// several lanes busy without reassociating floating point itself.
float dot(const float* a, const float* b, size_t n) {
  float s[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += a[i + k] * b[i + k];
  float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// The association feature of a detection as a unit vector (empty when there
// is none or it is all zeros).
std::vector<float> unit_feature(const detection& d, bool use_embedding) {
  const auto& f = use_embedding && !d.embedding.empty() ? d.embedding : d.feature;
  double norm = 0;
  for (float v : f) norm += static_cast<double>(v) * v;
  if (!(norm > 0) || !std::isfinite(norm)) return {};
  std::vector<float> u(f.size());
  const double inv = 1.0 / std::sqrt(norm);
  for (size_t i = 0; i < f.size(); ++i) u[i] = static_cast<float>(f[i] * inv);
  return u;
}

} // namespace

deep_sort::deep_sort(uint32_t camera_id, deep_sort_config cfg) : camera_id_(camera_id), cfg_(cfg) {
  cfg_.budget = std::max(cfg_.budget, 1);
  cfg_.n_init = std::max(cfg_.n_init, 1);
  cfg_.max_age = std::max(cfg_.max_age, 0);
}

size_t deep_sort::active() const {
  return static_cast<size_t>(std::count_if(tracks_.begin(), tracks_.end(), [](const track& t) { return t.id != 0; }));
}

std::optional<box> deep_sort::estimate(uint64_t track_id) const {
  for (const auto& t : tracks_)
    if (t.id == track_id && track_id != 0) return t.filter.current();
  return std::nullopt;
}

void deep_sort::remember(track& t, const std::vector<float>& unit) {
  if (unit.empty()) return;
  if (unit.size() != t.dim) { // a different kind of feature: start over
    t.dim = unit.size();
    t.gallery.assign(t.dim * static_cast<size_t>(cfg_.budget), 0.f);
    t.stored = t.next = 0;
  }
  std::copy(unit.begin(), unit.end(), t.gallery.begin() + static_cast<std::ptrdiff_t>(t.next * t.dim));
  t.next = (t.next + 1) % static_cast<size_t>(cfg_.budget);
  t.stored = std::min(t.stored + 1, static_cast<size_t>(cfg_.budget));
}

float deep_sort::appearance_distance(const track& t, const std::vector<float>& unit) const {
  float best = -2.f;
  for (size_t r = 0; r < t.stored; ++r) best = std::max(best, dot(t.gallery.data() + r * t.dim, unit.data(), t.dim));
  return 1.f - best;
}

void deep_sort::observe(track& t, const detection& d, const std::vector<float>& unit, const detection_batch& b) {
  t.track_record::observe(d, b);
  remember(t, unit);
}

track_batch deep_sort::update(const detection_batch& b) {
  track_batch out;
  out.camera_id = camera_id_;
  out.seq = b.seq;
  out.time_ms = b.capture_ms;
  last_seq_ = b.seq;
  const auto& dets = b.detections;
  const int n_tracks = static_cast<int>(tracks_.size());
  const int n_dets = static_cast<int>(dets.size());

  for (auto& t : tracks_) {
    t.filter.predict();
    ++t.misses;
  }
  std::vector<kalman_xyah::vec4> z(n_dets);
  std::vector<std::vector<float>> unit(n_dets);
  for (int c = 0; c < n_dets; ++c) {
    z[c] = to_xyah(dets[c].bbox);
    unit[c] = unit_feature(dets[c], cfg_.use_embedding);
  }
  std::vector<int> det_of(n_tracks, -1);
  std::vector<char> det_free(n_dets, 1);

  // (1) Matching cascade over the confirmed tracks. The gated cost of every
  // pair is computed once; appearance only for the pairs inside the gate.
  std::vector<int> confirmed;
  for (int r = 0; r < n_tracks; ++r)
    if (tracks_[r].id != 0) confirmed.push_back(r);
  const double gate = cfg_.gating_threshold;
  const double lambda = cfg_.lambda;
  std::vector<double> cost(confirmed.size() * n_dets, infeasible);
  for (size_t i = 0; i < confirmed.size() && n_dets > 0; ++i) {
    const track& t = tracks_[confirmed[i]];
    const auto pr = t.filter.project();
    for (int c = 0; c < n_dets; ++c) {
      if (dets[c].class_id != t.class_id) continue;
      const double d2 = pr.distance2(z[c]);
      if (!(d2 <= gate)) continue;
      const double motion = d2 / gate;
      if (!unit[c].empty() && t.stored > 0 && unit[c].size() == t.dim) {
        const double appearance = appearance_distance(t, unit[c]);
        // misses > 1: not matched in the last frame, a re-acquisition.
        const float most =
          t.misses > 1 ? std::min(cfg_.max_cosine_distance, cfg_.reacquire_cosine_distance) : cfg_.max_cosine_distance;
        if (appearance <= most) cost[i * n_dets + c] = (1 - lambda) * appearance + lambda * motion;
      } else {
        cost[i * n_dets + c] = motion; // no appearance: motion alone
      }
    }
  }
  // Levels: the distinct ages (frames since the last match, 1 .. max_age + 1)
  // in increasing order. Unlike the reference's cascade depth of max_age,
  // a track missed for max_age frames can still match on the next one, as
  // the contract (and sort_tracker) promise.
  std::vector<int> levels;
  for (int r : confirmed) levels.push_back(tracks_[r].misses);
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  std::vector<double> sub;
  for (int level : levels) {
    std::vector<int> rows, cols; // rows index `confirmed`
    for (size_t i = 0; i < confirmed.size(); ++i)
      if (tracks_[confirmed[i]].misses == level) rows.push_back(static_cast<int>(i));
    for (int c = 0; c < n_dets; ++c)
      if (det_free[c]) cols.push_back(c);
    if (cols.empty()) break;
    sub.assign(rows.size() * cols.size(), infeasible);
    for (size_t i = 0; i < rows.size(); ++i)
      for (size_t j = 0; j < cols.size(); ++j)
        sub[i * cols.size() + j] = cost[static_cast<size_t>(rows[i]) * n_dets + cols[j]];
    // Every pair outside the gates is already infinite.
    auto m =
      match(sub, static_cast<int>(rows.size()), static_cast<int>(cols.size()), std::numeric_limits<double>::max());
    for (auto [i, j] : m.matches) {
      det_of[confirmed[rows[i]]] = cols[j];
      det_free[cols[j]] = 0;
    }
  }

  // (2) IoU matching: tentative tracks and confirmed ones missed only now.
  {
    std::vector<int> rows, cols; // rows index tracks_
    for (int r = 0; r < n_tracks; ++r)
      if (det_of[r] < 0 && tracks_[r].misses == 1) rows.push_back(r);
    for (int c = 0; c < n_dets; ++c)
      if (det_free[c]) cols.push_back(c);
    if (!rows.empty() && !cols.empty()) {
      sub.assign(rows.size() * cols.size(), infeasible);
      for (size_t i = 0; i < rows.size(); ++i) {
        const track& t = tracks_[rows[i]];
        const box predicted = t.filter.current();
        for (size_t j = 0; j < cols.size(); ++j) {
          const detection& d = dets[cols[j]];
          const double overlap = iou(predicted, d.bbox);
          if (overlap > 0 && d.class_id == t.class_id) sub[i * cols.size() + j] = 1.0 - overlap;
        }
      }
      auto m = match(sub, static_cast<int>(rows.size()), static_cast<int>(cols.size()), cfg_.max_iou_distance);
      for (auto [i, j] : m.matches) {
        det_of[rows[i]] = cols[j];
        det_free[cols[j]] = 0;
      }
    }
  }

  // Apply, in creation order (so simultaneous confirmations get ids in it).
  std::vector<char> drop(n_tracks, 0);
  for (int r = 0; r < n_tracks; ++r) {
    auto& t = tracks_[r];
    const int c = det_of[r];
    if (c >= 0) {
      t.filter.update(z[c]);
      observe(t, dets[c], unit[c], b);
      if (t.id != 0) {
        auto e = t.event(camera_id_, track_state::updated);
        e.feature = dets[c].feature;
        out.events.push_back(std::move(e));
      } else if (t.hits >= cfg_.n_init) {
        out.events.push_back(t.started(camera_id_, next_id_++, dets[c]));
      }
    } else if (t.lost(cfg_.max_age)) {
      if (t.id != 0) out.events.push_back(t.ended(camera_id_));
      drop[r] = 1;
    }
  }
  erase_flagged(tracks_, drop);
  for (int c = 0; c < n_dets; ++c) {
    if (!det_free[c]) continue;
    tracks_.emplace_back(dets[c].bbox, kalman_xyah::noise{cfg_.noise_position, cfg_.noise_velocity});
    auto& t = tracks_.back();
    observe(t, dets[c], unit[c], b);
    if (t.hits >= cfg_.n_init) out.events.push_back(t.started(camera_id_, next_id_++, dets[c]));
  }
  sort_by_track_id(out);
  return out;
}

track_batch deep_sort::flush(timestamp_ms t) {
  auto out = end_all(tracks_, camera_id_, last_seq_, t);
  tracks_.clear();
  return out;
}

} // namespace weaver

namespace weaver {

std::string deep_sort::snapshot() const {
  nlohmann::json j{{"kind", "deepsort"}, {"next_id", next_id_}, {"last_seq", last_seq_}};
  auto& ts = j["tracks"] = nlohmann::json::array();
  for (const auto& t : tracks_) {
    auto tj = track_to_json(t);
    tj["gallery"] = t.gallery;
    tj["dim"] = t.dim;
    tj["stored"] = t.stored;
    tj["next"] = t.next;
    ts.push_back(std::move(tj));
  }
  return j.dump();
}

void deep_sort::restore(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  if (j.value("kind", "") != "deepsort") throw std::invalid_argument("deep sort: not a deepsort snapshot");
  std::vector<track> tracks;
  for (const auto& tj : j.at("tracks")) {
    track t{box{0, 0, 1, 1}, kalman_xyah::noise{cfg_.noise_position, cfg_.noise_velocity}};
    track_from_json(t, tj);
    t.gallery = tj.at("gallery").get<std::vector<float>>();
    t.dim = tj.at("dim").get<size_t>();
    t.stored = tj.at("stored").get<size_t>();
    t.next = tj.at("next").get<size_t>();
    if (t.stored * t.dim > t.gallery.size()) throw std::invalid_argument("deep sort: gallery too short");
    tracks.push_back(std::move(t));
  }
  tracks_ = std::move(tracks);
  next_id_ = j.at("next_id").get<uint64_t>();
  last_seq_ = j.at("last_seq").get<uint64_t>();
}

} // namespace weaver
