#include "actors/detector/dnn_detector.hpp"

#include <cmath>
#include <map>
#include <mutex>

#include <opencv2/imgproc.hpp>

#include "accel/engine/darknet_import.hpp"
#include "actors/detector/dnn_decoders.hpp"
#include "actors/detector/nms.hpp"

namespace weaver {

namespace {

// NanoDet's own pre-processing (RangiLyu/nanodet configs): BGR pixels,
// (x - mean) / std per channel. On vtest.avi against the MOT15 ground truth
// (tools/eval_detector, IoU 0.5, threshold 0.5) it gives recall 0.884 /
// precision 0.872; RGB / 255, what the human.js port feeds it, 0.845 / 0.948.
constexpr float nanodet_mean[3] = {103.53f, 116.28f, 123.675f};
constexpr float nanodet_std[3] = {57.375f, 57.12f, 58.395f};
constexpr int nanodet_bins = 11;  // NanoDet-g: reg_max 10

int round32(int v) { return std::max(32, (v + 31) / 32 * 32); }

} // namespace

std::shared_ptr<const engine::model> shared_model(const dnn_options& o, int height, int width) {
  static std::mutex mtx;
  static std::map<std::string, std::weak_ptr<const engine::model>> cache;
  std::string key = o.model + "|" + o.weights + "|" + std::to_string(height) + "x" + std::to_string(width);
  std::lock_guard<std::mutex> lock(mtx);
  if (auto m = cache[key].lock()) return m;
  auto m = engine::model::load(o.model, o.weights, 1, height, width);
  cache[key] = m;
  return m;
}

dnn_detector::dnn_detector(dnn_options o) : o_(std::move(o)) {
  if (o_.kind != "nanodet" && o_.kind != "darknet")
    throw std::invalid_argument("dnn detector kind '" + o_.kind + "' (valid: nanodet, darknet)");
  if (o_.model.empty()) throw std::invalid_argument(o_.kind + " detector: no model file given");
}

cv::Size dnn_detector::input_size(cv::Size frame) const {
  if (o_.input_width > 0 && o_.input_height > 0) return {o_.input_width, o_.input_height};
  if (o_.input_width < 0 || o_.input_height < 0)
    return {round32(static_cast<int>(std::lround(frame.width * o_.input_scale))),
            round32(static_cast<int>(std::lround(frame.height * o_.input_scale)))};
  return {0, 0};  // the model's own
}

void dnn_detector::prepare(cv::Size frame) {
  if (frame == frame_ && session_) return;
  frame_ = frame;
  auto in = input_size(frame);
  auto m = shared_model(o_, in.height, in.width);
  session_ = std::make_unique<engine::session>(m, o_.threads);
  const auto& s = m->input_shape();  // NHWC
  input_ = cv::Size(static_cast<int>(s[2]), static_cast<int>(s[1]));
  // Embedding source: the input of the conv that makes the finest head, i.e.
  // the last shared feature map before the predictions.
  feature_value_.clear();
  const auto& g = m->ir();
  int v = g.outputs.at(0);
  while (v >= 0 && g.values[v].producer >= 0) {
    const auto& n = g.nodes[static_cast<size_t>(g.values[v].producer)];
    if (n.kind == engine::op::conv2d) {
      feature_value_ = g.values[n.in[0]].name;
      break;
    }
    v = n.in.empty() ? -1 : n.in[0];
  }
}

void dnn_detector::fill_input(const cv::Mat& bgr) {
  cv::resize(bgr, resized_, input_, 0, 0, cv::INTER_LINEAR);
  float* dst = session_->input();
  const int n = input_.width * input_.height;
  const uint8_t* src = resized_.ptr<uint8_t>();
  if (o_.kind == "nanodet") {
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < 3; ++c)
        dst[3 * i + c] = (static_cast<float>(src[3 * i + c]) - nanodet_mean[c]) / nanodet_std[c];
  } else {  // Darknet: RGB in [0,1]
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < 3; ++c) dst[3 * i + c] = static_cast<float>(src[3 * i + 2 - c]) / 255.0f;
  }
}

std::vector<detection> dnn_detector::detect(const cv::Mat& bgr) {
  if (bgr.empty() || bgr.type() != CV_8UC3) throw std::invalid_argument("dnn detector: expects a BGR8 image");
  prepare(bgr.size());
  fill_input(bgr);
  session_->run();

  std::vector<raw_box> raw;
  const int only = o_.person_class;
  if (o_.kind == "nanodet") {
    // Pair class and box outputs by cell count; the count gives the stride.
    for (size_t i = 0; i < session_->outputs(); ++i) {
      const auto& cs = session_->output_shape(i);
      if (cs.size() != 3 || cs[2] == 4 * nanodet_bins) continue;
      for (size_t j = 0; j < session_->outputs(); ++j) {
        const auto& rs = session_->output_shape(j);
        if (rs.size() != 3 || rs[2] != 4 * nanodet_bins || rs[1] != cs[1]) continue;
        for (int stride = 8; stride <= 64; stride *= 2) {
          int gh = (input_.height + stride - 1) / stride, gw = (input_.width + stride - 1) / stride;
          if (static_cast<int64_t>(gh) * gw != cs[1]) continue;
          auto level = decode_nanodet(session_->output(i), session_->output(j), gh, gw, stride,
                                      static_cast<int>(cs[2]), nanodet_bins, o_.score_threshold,
                                      only, o_.nanodet_offset);
          raw.insert(raw.end(), level.begin(), level.end());
          break;
        }
      }
    }
  } else {
    static thread_local std::map<std::string, engine::darknet_model_info> infos;
    auto it = infos.find(o_.model);
    if (it == infos.end()) it = infos.emplace(o_.model, engine::read_darknet_info(o_.model)).first;
    for (const auto& h : it->second.heads) {
      int k = session_->find_output(h.output);
      if (k < 0) continue;
      const auto& s = session_->output_shape(static_cast<size_t>(k));
      auto level = decode_yolo(session_->output(static_cast<size_t>(k)), static_cast<int>(s[1]),
                               static_cast<int>(s[2]), h.anchors, h.classes, h.version,
                               input_.width, input_.height, o_.score_threshold, only);
      raw.insert(raw.end(), level.begin(), level.end());
    }
  }

  // Back to source pixels, clipped to the frame.
  const float sx = static_cast<float>(bgr.cols) / static_cast<float>(input_.width);
  const float sy = static_cast<float>(bgr.rows) / static_cast<float>(input_.height);
  std::vector<detection> dets;
  for (const auto& r : raw) {
    float x0 = std::clamp(r.bbox.x * sx, 0.f, static_cast<float>(bgr.cols));
    float y0 = std::clamp(r.bbox.y * sy, 0.f, static_cast<float>(bgr.rows));
    float x1 = std::clamp((r.bbox.x + r.bbox.w) * sx, 0.f, static_cast<float>(bgr.cols));
    float y1 = std::clamp((r.bbox.y + r.bbox.h) * sy, 0.f, static_cast<float>(bgr.rows));
    if (x1 - x0 < 2 || y1 - y0 < 2) continue;
    detection d;
    d.bbox = {x0, y0, x1 - x0, y1 - y0};
    d.score = r.score;
    d.class_id = 0;
    dets.push_back(std::move(d));
  }
  dets = nms(dets, o_.nms_iou);
  if (o_.embedding && !feature_value_.empty())
    for (auto& d : dets)
      d.embedding = embed({d.bbox.x / sx, d.bbox.y / sy, d.bbox.w / sx, d.bbox.h / sy});
  return dets;
}

std::vector<float> dnn_detector::embed(const box& b) const {
  engine::shape_t s;
  const float* f = session_->value(feature_value_, &s);
  if (!f || s.size() != 4) return {};
  const int fh = static_cast<int>(s[1]), fw = static_cast<int>(s[2]), c = static_cast<int>(s[3]);
  const float ky = static_cast<float>(fh) / static_cast<float>(input_.height);
  const float kx = static_cast<float>(fw) / static_cast<float>(input_.width);
  int y0 = std::clamp(static_cast<int>(std::floor(b.y * ky)), 0, fh - 1);
  int x0 = std::clamp(static_cast<int>(std::floor(b.x * kx)), 0, fw - 1);
  int y1 = std::clamp(static_cast<int>(std::ceil((b.y + b.h) * ky)), y0 + 1, fh);
  int x1 = std::clamp(static_cast<int>(std::ceil((b.x + b.w) * kx)), x0 + 1, fw);
  // Mean over the box's cells minus the mean over the whole map (what every
  // box shares: background, lighting), then L2-normalised (cosine-ready).
  // Without the centring, all boxes score cosine ~0.93 with one another.
  std::vector<float> e(static_cast<size_t>(c), 0.0f), all(static_cast<size_t>(c), 0.0f);
  for (int y = 0; y < fh; ++y)
    for (int x = 0; x < fw; ++x) {
      const float* p = f + (static_cast<size_t>(y) * fw + x) * c;
      bool inside = y >= y0 && y < y1 && x >= x0 && x < x1;
      for (int k = 0; k < c; ++k) {
        all[static_cast<size_t>(k)] += p[k];
        if (inside) e[static_cast<size_t>(k)] += p[k];
      }
    }
  const float n_in = static_cast<float>((y1 - y0) * (x1 - x0)), n_all = static_cast<float>(fh * fw);
  for (int k = 0; k < c; ++k)
    e[static_cast<size_t>(k)] = e[static_cast<size_t>(k)] / n_in - all[static_cast<size_t>(k)] / n_all;
  double norm = 0;
  for (float v : e) norm += static_cast<double>(v) * v;
  if (norm <= 0) return e;
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& v : e) v *= inv;
  return e;
}

} // namespace weaver
