#include "accel/detect/dnn_decoders.hpp"

#include <algorithm>
#include <cmath>

namespace weaver {

std::vector<raw_box> decode_nanodet(const float* cls, const float* reg, int grid_h, int grid_w, int stride, int classes,
                                    int bins, float threshold, int only_class, float offset) {
  std::vector<raw_box> out;
  std::vector<float> p(static_cast<size_t>(bins));
  for (int cell = 0; cell < grid_h * grid_w; ++cell) {
    const float* sc = cls + static_cast<size_t>(cell) * classes;
    int first = only_class >= 0 ? only_class : 0;
    int last = only_class >= 0 ? only_class + 1 : classes;
    int best = -1;
    float best_score = threshold;
    for (int c = first; c < last; ++c)
      if (sc[c] >= best_score) {
        best = c;
        best_score = sc[c];
      }
    if (best < 0) continue;
    // Expected distance per side under the softmax over the bins.
    float dist[4];
    const float* r = reg + static_cast<size_t>(cell) * 4 * bins;
    for (int side = 0; side < 4; ++side) {
      const float* l = r + side * bins;
      float mx = *std::max_element(l, l + bins), sum = 0, e = 0;
      for (int k = 0; k < bins; ++k) sum += p[static_cast<size_t>(k)] = std::exp(l[k] - mx);
      for (int k = 0; k < bins; ++k) e += k * p[static_cast<size_t>(k)];
      dist[side] = e / sum * static_cast<float>(stride);
    }
    float cx = (static_cast<float>(cell % grid_w) + offset) * static_cast<float>(stride);
    float cy = (static_cast<float>(cell / grid_w) + offset) * static_cast<float>(stride);
    raw_box b;
    b.bbox = {cx - dist[0], cy - dist[1], dist[0] + dist[2], dist[1] + dist[3]};
    b.score = best_score;
    b.class_id = best;
    out.push_back(b);
  }
  return out;
}

std::vector<raw_box> decode_yolo(const float* head, int grid_h, int grid_w, const std::vector<float>& anchors,
                                 int classes, int version, int input_w, int input_h, float threshold, int only_class) {
  std::vector<raw_box> out;
  const int n_anchors = static_cast<int>(anchors.size() / 2), per = 5 + classes;
  for (int y = 0; y < grid_h; ++y)
    for (int x = 0; x < grid_w; ++x)
      for (int a = 0; a < n_anchors; ++a) {
        const float* e = head + (static_cast<size_t>(y * grid_w + x) * n_anchors + a) * per;
        int first = only_class >= 0 ? only_class : 0;
        int last = only_class >= 0 ? only_class + 1 : classes;
        int best = -1;
        float best_score = threshold;
        for (int c = first; c < last; ++c)
          if (e[4] * e[5 + c] >= best_score) {
            best = c;
            best_score = e[4] * e[5 + c];
          }
        if (best < 0) continue;
        // Centre in grid cells; size relative to the grid (v2) or input (v3).
        float bx = (static_cast<float>(x) + e[0]) / static_cast<float>(grid_w);
        float by = (static_cast<float>(y) + e[1]) / static_cast<float>(grid_h);
        float bw =
          std::exp(e[2]) * anchors[2 * static_cast<size_t>(a)] / static_cast<float>(version == 2 ? grid_w : input_w);
        float bh = std::exp(e[3]) * anchors[2 * static_cast<size_t>(a) + 1]
          / static_cast<float>(version == 2 ? grid_h : input_h);
        raw_box b;
        b.bbox = {(bx - bw / 2) * static_cast<float>(input_w), (by - bh / 2) * static_cast<float>(input_h),
                  bw * static_cast<float>(input_w), bh * static_cast<float>(input_h)};
        b.score = best_score;
        b.class_id = best;
        out.push_back(b);
      }
  return out;
}

namespace {

/// The best class at or above `threshold` (of `only_class` when >= 0), or -1;
/// `score(c)` gives class c's score.
template <class F>
int best_class(int classes, int only_class, float threshold, F score, float& best_score) {
  int first = only_class >= 0 ? only_class : 0;
  int last = only_class >= 0 ? std::min(only_class + 1, classes) : classes;
  int best = -1;
  best_score = threshold;
  for (int c = first; c < last; ++c) {
    float s = score(c);
    if (s >= best_score) {
      best = c;
      best_score = s;
    }
  }
  return best;
}

raw_box centre_box(float cx, float cy, float w, float h, float score, int cls) {
  raw_box b;
  b.bbox = {cx - w / 2, cy - h / 2, w, h};
  b.score = score;
  b.class_id = cls;
  return b;
}

} // namespace

std::vector<raw_box> decode_yolov5(const float* out, int points, int classes, float threshold, int only_class) {
  std::vector<raw_box> found;
  const size_t per = static_cast<size_t>(5 + classes);
  for (int p = 0; p < points; ++p) {
    const float* e = out + static_cast<size_t>(p) * per;
    if (e[4] < threshold) continue; // score <= objectness: most points stop here
    float score = 0;
    int c = best_class(
      classes, only_class, threshold, [&](int k) { return e[4] * e[5 + k]; }, score);
    if (c >= 0) found.push_back(centre_box(e[0], e[1], e[2], e[3], score, c));
  }
  return found;
}

std::vector<raw_box> decode_yolov8(const float* out, int points, int classes, float threshold, int only_class) {
  std::vector<raw_box> found;
  const size_t n = static_cast<size_t>(points);
  for (size_t p = 0; p < n; ++p) {
    float score = 0;
    int c = best_class(
      classes, only_class, threshold, [&](int k) { return out[(4 + static_cast<size_t>(k)) * n + p]; }, score);
    if (c >= 0) found.push_back(centre_box(out[p], out[n + p], out[2 * n + p], out[3 * n + p], score, c));
  }
  return found;
}

} // namespace weaver
