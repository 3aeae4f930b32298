#include "tools/eval/crosscam_layouts.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace weaver {

namespace {

// mt19937_64 and seed_seq are specified exactly by the standard (the
// distributions are not), so layouts are the same on every platform.
struct rng {
  std::mt19937_64 gen;
  rng(uint64_t seed, int index) {
    std::seed_seq s{uint32_t(seed), uint32_t(seed >> 32), uint32_t(index)};
    gen.seed(s);
  }
  int uniform(int lo, int hi) { return lo + static_cast<int>(gen() % uint64_t(hi - lo + 1)); }
};

// n column (or row) edges over [0, extent): equal parts, each edge moved by
// up to +-10% of a part.
std::vector<int> edges(rng& r, int n, int extent) {
  std::vector<int> e(n + 1);
  const int part = extent / n;
  for (int i = 0; i <= n; ++i) e[i] = i * extent / n;
  for (int i = 1; i < n; ++i) e[i] += r.uniform(-part / 10, part / 10);
  return e;
}

} // namespace

const std::vector<std::string>& layout_kinds() {
  static const std::vector<std::string> k{"vstrips", "hstrips", "grid", "gaps", "overlap", "warped"};
  return k;
}

crosscam_layout generate_layout(uint64_t seed, int index, cv::Size frame) {
  if (frame.width < 400 || frame.height < 300 || index < 0)
    throw std::invalid_argument("generate_layout: frame too small for layouts (or negative index)");
  rng r{seed, index};
  crosscam_layout l;
  l.kind = layout_kinds()[static_cast<size_t>(index) % layout_kinds().size()];
  l.name = "s" + std::to_string(seed) + "-l" + std::to_string(index) + "-" + l.kind;
  const int W = frame.width, H = frame.height;
  auto add = [&](cv::Rect rect) {
    layout_camera c;
    c.id = static_cast<uint32_t>(l.cameras.size() + 1);
    c.crop = rect & cv::Rect(0, 0, W, H);
    l.cameras.push_back(c);
  };
  if (l.kind == "vstrips") {
    auto e = edges(r, r.uniform(2, 4), W);
    for (size_t i = 0; i + 1 < e.size(); ++i) add({e[i], 0, e[i + 1] - e[i], H});
  } else if (l.kind == "hstrips") {
    auto e = edges(r, r.uniform(2, 3), H);
    for (size_t i = 0; i + 1 < e.size(); ++i) add({0, e[i], W, e[i + 1] - e[i]});
  } else if (l.kind == "grid") {
    auto ex = edges(r, r.uniform(2, 3), W), ey = edges(r, 2, H);
    for (size_t j = 0; j + 1 < ey.size(); ++j)
      for (size_t i = 0; i + 1 < ex.size(); ++i) add({ex[i], ey[j], ex[i + 1] - ex[i], ey[j + 1] - ey[j]});
  } else if (l.kind == "gaps") {
    // Columns with blind strips between them: nobody is seen while crossing.
    const int n = r.uniform(2, 3), gap = r.uniform(30, 100);
    const int w = (W - (n - 1) * gap) / n;
    for (int i = 0; i < n; ++i) add({i * (w + gap), 0, w, H});
  } else if (l.kind == "overlap") {
    // Columns sharing a strip: a person there is on two cameras at once.
    const int n = r.uniform(2, 3), over = r.uniform(40, 120);
    const int w = (W + (n - 1) * over) / n;
    for (int i = 0; i < n; ++i) add({std::min(i * (w - over), W - w), 0, w, H});
  } else {
    // Columns, each seen at an angle: the quad's far (top) edge narrower
    // than its near edge, every corner jittered, all inside the crop.
    auto e = edges(r, r.uniform(2, 3), W);
    for (size_t i = 0; i + 1 < e.size(); ++i) {
      add({e[i], 0, e[i + 1] - e[i], H});
      auto& c = l.cameras.back();
      const double w = c.crop.width, h = c.crop.height, x = c.crop.x;
      const double in = std::round(w * r.uniform(10, 30) / 100.0);
      // Whole pixels: the config written for a run holds the same points exactly.
      auto j = [&](double span) { return std::round(span * r.uniform(0, 8) / 100.0); };
      c.warp = warp_quad{cv::Point2d{x + in + j(w), j(h)}, cv::Point2d{x + w - in - j(w), j(h)},
                         cv::Point2d{x + w - j(w), h - j(h)}, cv::Point2d{x + j(w), h - j(h)}};
    }
  }
  return l;
}

std::vector<crosscam_layout> generate_layouts(uint64_t seed, int n, cv::Size frame) {
  std::vector<crosscam_layout> out;
  for (int i = 0; i < n; ++i) out.push_back(generate_layout(seed, i, frame));
  return out;
}

virtual_camera to_virtual(const layout_camera& c, timestamp_ms start_ms, double fps) {
  virtual_camera v = crop_camera(c.id, c.crop.x, c.crop.y, c.crop.width, c.crop.height);
  if (c.warp) v.to_view = warp_homography(*c.warp, c.crop.size());
  v.start_ms = start_ms;
  v.fps = fps;
  return v;
}

} // namespace weaver
