#include "accel/detect/dnn_detector.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include <opencv2/imgproc.hpp>

#include "accel/detect/appearance.hpp"
#include "accel/detect/dnn_decoders.hpp"
#include "accel/detect/nms.hpp"
#include "accel/engine/darknet_import.hpp"
#include "accel/engine/int8_model.hpp"

namespace weaver {

namespace {

// NanoDet's own pre-processing (RangiLyu/nanodet configs): BGR pixels,
// (x - mean) / std per channel. On vtest.avi against the MOT15 ground truth
// (tools/eval_detector, IoU 0.5, threshold 0.5) it gives recall 0.884 /
// precision 0.872; RGB / 255, what the human.js port feeds it, 0.845 / 0.948.
constexpr float nanodet_mean[3] = {103.53f, 116.28f, 123.675f};
constexpr float nanodet_std[3] = {57.375f, 57.12f, 58.395f};
constexpr int nanodet_bins = 11; // NanoDet-g: reg_max 10

int round32(int v) { return std::max(32, (v + 31) / 32 * 32); }

} // namespace

std::shared_ptr<const engine::model> shared_model(const dnn_options& o, int height, int width) {
  static std::mutex mtx;
  static std::map<std::string, std::weak_ptr<const engine::model>> cache;
  static std::map<std::string, std::shared_ptr<const engine::int8_table>> tables; // loaded once
  const bool int8 = o.precision == "int8";
  std::string key = o.model + "|" + o.weights + "|" + std::to_string(height) + "x" + std::to_string(width) + "|"
    + (int8 ? o.int8_model + (o.int8_exact ? "|exact" : "|fused") : "f32");
  std::lock_guard<std::mutex> lock(mtx);
  if (auto m = cache[key].lock()) return m;
  auto m = engine::model::load(o.model, o.weights, 1, height, width);
  if (int8) {
    auto& t = tables[o.int8_model];
    if (!t) t = std::make_shared<engine::int8_table>(engine::load_int8(o.int8_model));
    m = engine::with_int8(m, t, o.int8_exact);
  }
  cache[key] = m;
  return m;
}

dnn_detector::dnn_detector(dnn_options o) : o_(std::move(o)) {
  if (!dnn_detector_kind(o_.kind))
    throw std::invalid_argument("dnn detector kind '" + o_.kind + "' (valid: nanodet, darknet, onnx)");
  if (o_.model.empty()) throw std::invalid_argument(o_.kind + " detector: no model file given");
  if (o_.kind == "nanodet") {
    head_ = head_kind::nanodet;
  } else if (o_.kind == "darknet") {
    head_ = head_kind::darknet;
  } else {
    const auto& hs = dnn_heads();
    if (std::find(hs.begin(), hs.end(), o_.head) == hs.end()) {
      std::string valid;
      for (const auto& h : hs) valid += (valid.empty() ? "" : ", ") + h;
      throw std::invalid_argument("onnx detector: head '" + o_.head + "' (valid: " + valid + ")");
    }
    head_ = o_.head == "nanodet" ? head_kind::nanodet
      : o_.head == "yolov2"      ? head_kind::yolov2
      : o_.head == "yolov3"      ? head_kind::yolov3
      : o_.head == "yolov5"      ? head_kind::yolov5
                                 : head_kind::yolov8;
    if ((head_ == head_kind::yolov2 || head_ == head_kind::yolov3) && (o_.anchors.empty() || o_.anchors.size() % 2))
      throw std::invalid_argument("onnx detector: head " + o_.head + " needs anchors as (w, h) pairs");
  }
  if (o_.precision != "f32" && o_.precision != "int8")
    throw std::invalid_argument("dnn detector precision '" + o_.precision + "' (valid: f32, int8)");
  if (o_.precision == "int8" && o_.int8_model.empty())
    throw std::invalid_argument(o_.kind + " detector: precision int8 needs an int8 model (weaver model quantize)");
}

void dnn_detector::check() {
  const bool fixed = o_.input_width > 0 && o_.input_height > 0;
  model_ = shared_model(o_, fixed ? o_.input_height : 0, fixed ? o_.input_width : 0);
  frame_ = {-1, -1}; // the next frame prepares its own size
  const auto& s = model_->input_shape();
  input_ = cv::Size(static_cast<int>(s[2]), static_cast<int>(s[1]));
  find_heads();
}

cv::Size dnn_detector::input_size(cv::Size frame) const {
  if (o_.input_width > 0 && o_.input_height > 0) return {o_.input_width, o_.input_height};
  if (o_.input_width < 0 || o_.input_height < 0)
    return {round32(static_cast<int>(std::lround(frame.width * o_.input_scale))),
            round32(static_cast<int>(std::lround(frame.height * o_.input_scale)))};
  return {0, 0}; // the model's own
}

std::shared_ptr<const engine::model> dnn_detector::compiled(cv::Size frame) {
  prepare(frame);
  return model_;
}

const std::vector<network_tensor>& dnn_detector::host_tensors(cv::Size frame) {
  prepare(frame);
  return host_tensors_;
}

size_t dnn_detector::host_tensor(size_t output) {
  for (size_t k = 0; k < host_tensors_.size(); ++k)
    if (host_tensors_[k].output == static_cast<int>(output)) return k;
  const auto& g = model_->ir();
  const auto& v = g.values[static_cast<size_t>(g.outputs.at(output))];
  host_tensors_.push_back({v.name, v.shape, static_cast<int>(output)});
  return host_tensors_.size() - 1;
}

void dnn_detector::prepare(cv::Size frame) {
  if (frame == frame_ && model_) return;
  auto in = input_size(frame);
  model_ = shared_model(o_, in.height, in.width);
  const auto& s = model_->input_shape(); // NHWC
  input_ = cv::Size(static_cast<int>(s[2]), static_cast<int>(s[1]));
  find_heads();
  place_ = o_.letterbox ? input_placement::letterbox(frame.width, frame.height, input_.width, input_.height)
                        : input_placement::stretch(frame.width, frame.height, input_.width, input_.height);
  frame_ = frame;
}

const input_placement& dnn_detector::placement(cv::Size frame) {
  prepare(frame);
  return place_;
}

namespace {

std::string shapes_of(const engine::graph& g) {
  std::string t;
  for (int v : g.outputs)
    t += (t.empty() ? "" : ", ") + g.values[static_cast<size_t>(v)].name + " "
      + engine::to_string(g.values[static_cast<size_t>(v)].shape);
  return t;
}

/// Anchor points of a YOLOv5/v8-style head at this input: one per cell of
/// the stride 8, 16, 32 (and 64, the P6 models') grids, times `per_cell`.
std::vector<int64_t> point_counts(cv::Size in, int per_cell) {
  std::vector<int64_t> counts;
  int64_t sum = 0;
  for (int stride = 8; stride <= 64; stride *= 2) {
    sum += static_cast<int64_t>((in.height + stride - 1) / stride) * ((in.width + stride - 1) / stride);
    if (stride >= 32) counts.push_back(sum * per_cell);
  }
  return counts;
}

} // namespace

void dnn_detector::find_heads() {
  const auto& g = model_->ir();
  auto out_shape = [&](size_t i) -> const engine::shape_t& {
    return g.values[static_cast<size_t>(g.outputs[i])].shape;
  };
  heads_.clear();
  host_tensors_.clear();
  if (head_ == head_kind::nanodet) {
    // Pair class and box outputs by cell count; the count gives the stride.
    for (size_t i = 0; i < g.outputs.size(); ++i) {
      const auto& cs = out_shape(i);
      if (cs.size() != 3 || cs[2] == 4 * nanodet_bins) continue;
      for (size_t j = 0; j < g.outputs.size(); ++j) {
        const auto& rs = out_shape(j);
        if (rs.size() != 3 || rs[2] != 4 * nanodet_bins || rs[1] != cs[1]) continue;
        for (int stride = 8; stride <= 64; stride *= 2) {
          int gh = (input_.height + stride - 1) / stride, gw = (input_.width + stride - 1) / stride;
          if (static_cast<int64_t>(gh) * gw != cs[1]) continue;
          heads_.push_back({host_tensor(i), host_tensor(j), gh, gw, stride, static_cast<int>(cs[2]), 0, {}, 0});
          break;
        }
      }
    }
  } else if (head_ == head_kind::darknet) {
    for (const auto& h : engine::read_darknet_info(o_.model).heads) {
      // The head's output by name, ":0" optional (as session::find_output).
      std::string n = h.output;
      if (n.size() > 2 && n.compare(n.size() - 2, 2, ":0") == 0) n.resize(n.size() - 2);
      size_t k = 0;
      while (k < g.outputs.size() && g.values[static_cast<size_t>(g.outputs[k])].name != n) ++k;
      if (k == g.outputs.size()) continue;
      const auto& os = out_shape(k);
      heads_.push_back(
        {host_tensor(k), 0, static_cast<int>(os[1]), static_cast<int>(os[2]), 0, h.classes, h.version, h.anchors, 0});
    }
  } else if (head_ == head_kind::yolov2 || head_ == head_kind::yolov3) {
    find_yolo_heads();
  } else {
    find_point_heads();
  }
  if (heads_.empty()) {
    const char* expect = head_ == head_kind::nanodet
      ? "pairs of [1, cells, classes] and [1, cells, 44] outputs at strides 8 to 64"
      : head_ == head_kind::yolov5
      ? "one [1, points, 5 + classes] output, points = 3 per cell of the stride 8/16/32 grids"
      : head_ == head_kind::yolov8
      ? "one [1, 4 + classes, points] output, points = 1 per cell of the stride 8/16/32 grids"
      : "the Darknet cfg's yolo/region outputs";
    throw engine::model_error(o_.model + ": no " + (o_.kind == "onnx" ? o_.head : o_.kind) + " head at input "
                              + std::to_string(input_.width) + "x" + std::to_string(input_.height) + " (expects "
                              + expect + "; the model's outputs: " + shapes_of(g) + ")");
  }
  // Embedding source: the input of the conv that makes the first head, i.e.
  // the last shared feature map before the predictions.
  feature_ = -1;
  if (!o_.embedding) return;
  std::string feature;
  int v = g.outputs.at(0);
  while (v >= 0 && g.values[v].producer >= 0) {
    const auto& n = g.nodes[static_cast<size_t>(g.values[v].producer)];
    if (n.kind == engine::op::conv2d) {
      feature = g.values[n.in[0]].name;
      break;
    }
    v = n.in.empty() ? -1 : n.in[0];
  }
  // Looked up by name, as a session finds values; an image-like map only.
  int f = feature.empty() ? -1 : g.find(feature);
  if (f < 0 || g.values[static_cast<size_t>(f)].is_const) return;
  const auto& fs = g.values[static_cast<size_t>(f)].shape;
  if (fs.size() != 4 || fs[1] < 2 || fs[2] < 2 || fs[1] > input_.height || fs[2] > input_.width) return;
  feature_shape_ = fs;
  feature_ = static_cast<int>(host_tensors_.size());
  host_tensors_.push_back({feature, feature_shape_, -1});
}

void dnn_detector::find_yolo_heads() {
  // Weaver's export of a Darknet YOLO: [1, H, W, A * (5 + C)], activated.
  const auto& g = model_->ir();
  std::vector<size_t> outs;
  for (size_t i = 0; i < g.outputs.size(); ++i)
    if (g.values[static_cast<size_t>(g.outputs[i])].shape.size() == 4) outs.push_back(i);
  if (outs.empty()) return;
  const bool v2 = head_ == head_kind::yolov2;
  if (v2 && outs.size() != 1)
    throw engine::model_error(o_.model + ": head yolov2 expects one [1, H, W, A * (5 + C)] output, the model has "
                              + shapes_of(g));
  const size_t groups = outs.size();
  if (o_.anchors.size() % (2 * groups))
    throw engine::model_error(o_.model + ": " + std::to_string(o_.anchors.size() / 2) + " anchors do not split over "
                              + std::to_string(groups) + " " + o_.head + " outputs");
  const size_t per_head = o_.anchors.size() / 2 / groups;
  // Coarsest grid first: it takes Darknet's last anchor group (the largest).
  auto cells = [&](size_t i) {
    const auto& s = g.values[static_cast<size_t>(g.outputs[i])].shape;
    return s[1] * s[2];
  };
  std::stable_sort(outs.begin(), outs.end(), [&](size_t a, size_t b) { return cells(a) < cells(b); });
  for (size_t k = 0; k < outs.size(); ++k) {
    const auto& s = g.values[static_cast<size_t>(g.outputs[outs[k]])].shape;
    const int64_t a = static_cast<int64_t>(per_head);
    if (s[0] != 1 || s[3] % a || s[3] / a < 6)
      throw engine::model_error(o_.model + ": output " + g.values[static_cast<size_t>(g.outputs[outs[k]])].name + " "
                                + engine::to_string(s) + " is not [1, H, W, " + std::to_string(a)
                                + " anchors x (5 + classes)] (head " + o_.head + ")");
    size_t group = v2 ? 0 : groups - 1 - k;
    std::vector<float> anchors(o_.anchors.begin() + static_cast<std::ptrdiff_t>(group * per_head * 2),
                               o_.anchors.begin() + static_cast<std::ptrdiff_t>((group + 1) * per_head * 2));
    heads_.push_back({host_tensor(outs[k]), 0, static_cast<int>(s[1]), static_cast<int>(s[2]), 0,
                      static_cast<int>(s[3] / a - 5), v2 ? 2 : 3, std::move(anchors), 0});
  }
}

void dnn_detector::find_point_heads() {
  const auto& g = model_->ir();
  const bool v5 = head_ == head_kind::yolov5;
  const auto counts = point_counts(input_, v5 ? 3 : 1);
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const auto& s = g.values[static_cast<size_t>(g.outputs[i])].shape;
    if (s.size() != 3 || s[0] != 1) continue;
    const int64_t points = v5 ? s[1] : s[2], per = v5 ? s[2] : s[1];
    if (per < (v5 ? 6 : 5) || std::find(counts.begin(), counts.end(), points) == counts.end()) continue;
    head h;
    h.cls = host_tensor(i);
    h.points = static_cast<int>(points);
    h.classes = static_cast<int>(per - (v5 ? 5 : 4));
    heads_.push_back(std::move(h));
    return; // one decoded output (exports may add the raw per-level ones)
  }
}

void dnn_detector::fill_input(const cv::Mat& bgr, float* dst) {
  if (bgr.empty() || bgr.type() != CV_8UC3) throw std::invalid_argument("dnn detector: expects a BGR8 image");
  prepare(bgr.size());
  const cv::Mat* img = &resized_;
  if (o_.letterbox) {
    // The frame at its placement on a grey canvas (Ultralytics pads with 114).
    canvas_.create(input_, CV_8UC3);
    canvas_.setTo(cv::Scalar(114, 114, 114));
    cv::Mat content = canvas_(cv::Rect(place_.left, place_.top, place_.width, place_.height));
    cv::resize(bgr, content, content.size(), 0, 0, cv::INTER_LINEAR); // in place: content is sized
    img = &canvas_;
  } else {
    cv::resize(bgr, resized_, input_, 0, 0, cv::INTER_LINEAR);
  }
  const int n = input_.width * input_.height;
  const uint8_t* src = img->ptr<uint8_t>();
  if (head_ == head_kind::nanodet) {
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < 3; ++c)
        dst[3 * i + c] = (static_cast<float>(src[3 * i + c]) - nanodet_mean[c]) / nanodet_std[c];
  } else { // the YOLOs: RGB in [0,1]
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < 3; ++c) dst[3 * i + c] = static_cast<float>(src[3 * i + 2 - c]) / 255.0f;
  }
}

std::vector<detection> dnn_detector::detect(const cv::Mat& bgr) {
  // One model at a time: a frame-size change drops the old session.
  if (!own_) own_ = std::make_unique<engine::workspace>(1);
  return detect_on(bgr, *own_);
}

std::vector<detection> dnn_detector::detect_on(const cv::Mat& bgr, engine::workspace& ws) {
  if (bgr.empty() || bgr.type() != CV_8UC3) throw std::invalid_argument("dnn detector: expects a BGR8 image");
  prepare(bgr.size());
  // Buffers shared by lifetime, but what decode() reads by name kept.
  std::vector<std::string> keep;
  for (const auto& t : host_tensors_)
    if (t.output < 0) keep.push_back(t.name);
  auto& session = ws.session_for(model_, o_.threads, &keep);
  fill_input(bgr, session.input());
  session.run();
  std::vector<const float*> tensors;
  for (const auto& t : host_tensors_)
    tensors.push_back(t.output >= 0 ? session.output(static_cast<size_t>(t.output)) : session.value(t.name));
  return decode(bgr.size(), tensors);
}

std::vector<detection> dnn_detector::finish(const cv::Mat& bgr, const std::vector<const float*>& tensors) {
  auto found = decode(bgr.size(), tensors);
  for (auto& d : found) d.feature = appearance_descriptor(bgr, d.bbox, appearance_);
  return found;
}

std::vector<detection> dnn_detector::decode(cv::Size frame, const std::vector<const float*>& tensors) {
  prepare(frame);
  if (tensors.size() != host_tensors_.size())
    throw std::invalid_argument("dnn detector: decode needs " + std::to_string(host_tensors_.size()) + " tensors, got "
                                + std::to_string(tensors.size()));
  std::vector<raw_box> raw;
  for (const auto& h : heads_) {
    const float t = o_.score_threshold;
    const int person = o_.person_class;
    auto level = head_ == head_kind::nanodet
      ? decode_nanodet(tensors[h.cls], tensors[h.reg], h.grid_h, h.grid_w, h.stride, h.classes, nanodet_bins, t, person,
                       o_.nanodet_offset)
      : head_ == head_kind::yolov5 ? decode_yolov5(tensors[h.cls], h.points, h.classes, t, person)
      : head_ == head_kind::yolov8 ? decode_yolov8(tensors[h.cls], h.points, h.classes, t, person)
                                   : decode_yolo(tensors[h.cls], h.grid_h, h.grid_w, h.anchors, h.classes, h.version,
                                                 input_.width, input_.height, t, person);
    raw.insert(raw.end(), level.begin(), level.end());
  }

  // Back to source pixels (through the letterbox, when there is one),
  // clipped to the frame.
  std::vector<detection> dets;
  for (const auto& r : raw) {
    const box b = place_.to_frame(r.bbox);
    float x0 = std::clamp(b.x, 0.f, static_cast<float>(frame.width));
    float y0 = std::clamp(b.y, 0.f, static_cast<float>(frame.height));
    float x1 = std::clamp(b.x + b.w, 0.f, static_cast<float>(frame.width));
    float y1 = std::clamp(b.y + b.h, 0.f, static_cast<float>(frame.height));
    if (x1 - x0 < 2 || y1 - y0 < 2) continue;
    detection d;
    d.bbox = {x0, y0, x1 - x0, y1 - y0};
    d.score = r.score;
    d.class_id = 0;
    dets.push_back(std::move(d));
  }
  dets = nms(dets, o_.nms_iou);
  if (feature_ >= 0 && !dets.empty()) {
    // What every box shares (background, lighting): the map's mean, once.
    const float* map = tensors[static_cast<size_t>(feature_)];
    const size_t c = static_cast<size_t>(feature_shape_[3]);
    const size_t cells = static_cast<size_t>(feature_shape_[1] * feature_shape_[2]);
    std::vector<float> mean(c, 0.0f);
    for (size_t p = 0; p < cells; ++p)
      for (size_t k = 0; k < c; ++k) mean[k] += map[p * c + k];
    for (auto& x : mean) x /= static_cast<float>(cells);
    for (auto& d : dets) d.embedding = embed(place_.to_input(d.bbox), map, mean);
  }
  return dets;
}

std::vector<float> dnn_detector::embed(const box& b, const float* f, const std::vector<float>& mean) const {
  const auto& s = feature_shape_;
  const int fh = static_cast<int>(s[1]), fw = static_cast<int>(s[2]), c = static_cast<int>(s[3]);
  const float ky = static_cast<float>(fh) / static_cast<float>(input_.height);
  const float kx = static_cast<float>(fw) / static_cast<float>(input_.width);
  int y0 = std::clamp(static_cast<int>(std::floor(b.y * ky)), 0, fh - 1);
  int x0 = std::clamp(static_cast<int>(std::floor(b.x * kx)), 0, fw - 1);
  int y1 = std::clamp(static_cast<int>(std::ceil((b.y + b.h) * ky)), y0 + 1, fh);
  int x1 = std::clamp(static_cast<int>(std::ceil((b.x + b.w) * kx)), x0 + 1, fw);
  // Mean over the box's cells minus the map's mean, L2-normalised
  // (cosine-ready). Without the centring all boxes score cosine ~0.93 with
  // one another.
  std::vector<float> e(static_cast<size_t>(c), 0.0f);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      const float* p = f + (static_cast<size_t>(y) * fw + x) * c;
      for (int k = 0; k < c; ++k) e[static_cast<size_t>(k)] += p[k];
    }
  const float n_in = static_cast<float>((y1 - y0) * (x1 - x0));
  for (size_t k = 0; k < e.size(); ++k) e[k] = e[k] / n_in - mean[k];
  l2_normalise(e);
  return e;
}

} // namespace weaver
