#include "actors/reid/appearance_metric.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <opencv2/core.hpp>

namespace weaver {

namespace {

// `n` of `items` spread evenly (all when there are no more).
template <class T>
std::vector<T> spread(std::vector<T> items, size_t n) {
  if (items.size() <= n) return items;
  std::vector<T> out;
  out.reserve(n);
  for (size_t k = 0; k < n; ++k) out.push_back(items[k * items.size() / n]);
  return out;
}

// Covariance of the differences a - b projected by `basis` (rows), with a
// ridge on the diagonal so that it can be inverted.
cv::Mat difference_covariance(const std::vector<std::pair<size_t, size_t>>& pairs, const cv::Mat& x,
                              const cv::Mat& basis, double ridge) {
  cv::Mat d(static_cast<int>(pairs.size()), x.cols, CV_64F);
  for (size_t k = 0; k < pairs.size(); ++k)
    cv::Mat(x.row(static_cast<int>(pairs[k].first)) - x.row(static_cast<int>(pairs[k].second)))
      .copyTo(d.row(static_cast<int>(k)));
  cv::Mat p = d * basis.t(); // pairs x dims
  cv::Mat cov = p.t() * p / static_cast<double>(pairs.size());
  const double scale = cv::trace(cov)[0] / cov.rows;
  cov += cv::Mat::eye(cov.size(), CV_64F) * (ridge * (scale > 0 ? scale : 1.0));
  return cov;
}

} // namespace

appearance_metric appearance_metric::fit(const std::vector<metric_sample>& samples, const metric_fit_options& o,
                                         metric_fit_report* report) {
  if (o.dims < 1) throw std::invalid_argument("appearance metric: dims must be >= 1");
  std::vector<const metric_sample*> used;
  for (const auto& s : samples)
    if (!s.feature.empty()) used.push_back(&s);
  if (used.empty()) throw std::invalid_argument("appearance metric: no descriptors to learn from");
  const size_t d = used.front()->feature.size();
  for (const auto* s : used)
    if (s->feature.size() != d) throw std::invalid_argument("appearance metric: descriptors differ in length");
  // A fixed order, whatever the input's.
  std::sort(used.begin(), used.end(), [](const metric_sample* a, const metric_sample* b) {
    return std::tie(a->run, a->camera_id, a->track_id, a->time_ms)
      < std::tie(b->run, b->camera_id, b->track_id, b->time_ms);
  });

  // Same person: one track's descriptors at least min_apart_ms apart, each
  // with the first far enough after it.
  std::vector<std::pair<size_t, size_t>> same, different;
  std::map<std::tuple<uint32_t, uint32_t, uint64_t>, std::vector<size_t>> tracks;
  for (size_t i = 0; i < used.size(); ++i) tracks[{used[i]->run, used[i]->camera_id, used[i]->track_id}].push_back(i);
  for (const auto& [key, idx] : tracks) {
    std::vector<std::pair<size_t, size_t>> mine;
    size_t j = 0;
    for (size_t i = 0; i < idx.size(); ++i) {
      j = std::max(j, i + 1);
      while (j < idx.size() && used[idx[j]]->time_ms - used[idx[i]]->time_ms < o.min_apart_ms) ++j;
      if (j == idx.size()) break;
      mine.emplace_back(idx[i], idx[j]);
    }
    for (const auto& p : spread(std::move(mine), o.max_pairs_per_track)) same.push_back(p);
  }
  // Different people: two tracks on one camera at the same moment.
  std::map<std::tuple<uint32_t, uint32_t, timestamp_ms>, std::vector<size_t>> moments;
  for (size_t i = 0; i < used.size(); ++i) moments[{used[i]->run, used[i]->camera_id, used[i]->time_ms}].push_back(i);
  for (const auto& [key, idx] : moments)
    for (size_t a = 0; a < idx.size(); ++a)
      for (size_t b = a + 1; b < idx.size(); ++b)
        if (used[idx[a]]->track_id != used[idx[b]]->track_id) different.emplace_back(idx[a], idx[b]);
  different = spread(std::move(different), o.max_negatives);

  if (report) *report = {used.size(), tracks.size(), same.size(), different.size()};
  const size_t dims = std::min({o.dims, d, used.size()});
  if (same.size() < 2 * dims || different.size() < 2 * dims)
    throw std::invalid_argument("appearance metric: too few pairs to learn from (" + std::to_string(same.size())
                                + " of one person, " + std::to_string(different.size()) + " of two; at least "
                                + std::to_string(2 * dims) + " of each)");

  cv::Mat x(static_cast<int>(used.size()), static_cast<int>(d), CV_64F);
  for (size_t i = 0; i < used.size(); ++i)
    for (size_t k = 0; k < d; ++k) x.at<double>(static_cast<int>(i), static_cast<int>(k)) = used[i]->feature[k];
  // The principal subspace first: the covariances of 176-long differences
  // from a few thousand pairs are too noisy to invert.
  cv::PCA pca(x, cv::Mat(), cv::PCA::DATA_AS_ROW, static_cast<int>(dims));
  const cv::Mat basis = pca.eigenvectors; // dims x d
  const cv::Mat m = difference_covariance(same, x, basis, o.ridge).inv(cv::DECOMP_SVD)
    - difference_covariance(different, x, basis, o.ridge).inv(cv::DECOMP_SVD);
  // M's positive part as L^T L: distances under it are Euclidean after L.
  cv::Mat values, vectors;
  cv::eigen(m, values, vectors); // rows of `vectors`
  cv::Mat l = vectors.clone();
  for (int r = 0; r < l.rows; ++r) l.row(r) *= std::sqrt(std::max(0.0, values.at<double>(r)));
  const cv::Mat t = l * basis; // dims x d

  appearance_metric out;
  out.mean_.resize(d);
  for (size_t k = 0; k < d; ++k) out.mean_[k] = static_cast<float>(pca.mean.at<double>(0, static_cast<int>(k)));
  out.transform_.resize(static_cast<size_t>(t.rows) * d);
  for (int r = 0; r < t.rows; ++r)
    for (size_t k = 0; k < d; ++k)
      out.transform_[static_cast<size_t>(r) * d + k] = static_cast<float>(t.at<double>(r, static_cast<int>(k)));
  return out;
}

std::vector<float> appearance_metric::apply(const std::vector<float>& f) const {
  if (empty() || f.size() != mean_.size()) return f;
  const size_t d = mean_.size(), k = output_dims();
  std::vector<float> out(k, 0.f);
  double norm = 0;
  for (size_t r = 0; r < k; ++r) {
    const float* row = transform_.data() + r * d;
    double s = 0;
    for (size_t i = 0; i < d; ++i) s += static_cast<double>(row[i]) * (f[i] - mean_[i]);
    out[r] = static_cast<float>(s);
    norm += s * s;
  }
  if (norm > 0 && std::isfinite(norm))
    for (auto& v : out) v = static_cast<float>(v / std::sqrt(norm));
  return out;
}

nlohmann::json appearance_metric::to_json() const {
  return {{"kind", "kiss"},
          {"input_dims", input_dims()},
          {"dims", output_dims()},
          {"mean", mean_},
          {"transform", transform_}};
}

appearance_metric appearance_metric::from_json(const nlohmann::json& j) {
  auto bad = [](const std::string& why) { return std::invalid_argument("appearance metric: " + why); };
  if (!j.is_object() || j.value("kind", "") != "kiss") throw bad("not a metric (kind \"kiss\")");
  appearance_metric m;
  try {
    const size_t d = j.at("input_dims").get<size_t>(), k = j.at("dims").get<size_t>();
    m.mean_ = j.at("mean").get<std::vector<float>>();
    m.transform_ = j.at("transform").get<std::vector<float>>();
    if (d < 1 || k < 1 || d > 65536 || k > d || m.mean_.size() != d || m.transform_.size() != k * d)
      throw bad("sizes do not agree");
  } catch (const nlohmann::json::exception& e) {
    throw bad(e.what());
  }
  for (float v : m.mean_)
    if (!std::isfinite(v)) throw bad("non-finite mean");
  for (float v : m.transform_)
    if (!std::isfinite(v)) throw bad("non-finite transform");
  return m;
}

appearance_metric appearance_metric::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read appearance metric " + path);
  try {
    return from_json(nlohmann::json::parse(in));
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

} // namespace weaver
