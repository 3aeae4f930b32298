// NanoDet at the demo's input for vtest.avi (768x576 x 0.75 -> 576x448),
// calibrated on the first `calib_frames` of frames 0, 40, ..., 600 (the
// video's first part, which `weaver model quantize` also uses) and checked
// on frame 600 (the part the detector is evaluated on): the int8 engine's
// and the HLS kernel's tests share it. A smaller `input_scale` gives a
// smaller network (the C-simulation's tests).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "accel/detect/dnn_detector.hpp"
#include "accel/engine/int8_model.hpp"
#include "tests/unit/sample_frames.hpp"

struct nanodet_int8 {
  std::unique_ptr<weaver::dnn_detector> det;
  std::shared_ptr<const weaver::engine::model> f32;
  weaver::engine::int8_table table;
  cv::Mat eval_frame;
};

inline nanodet_int8 calibrated_nanodet(size_t calib_frames, float input_scale = 0.75f) {
  nanodet_int8 r;
  weaver::dnn_options o;
  o.input_scale = input_scale;
  o.model = std::string(WEAVER_SOURCE_DIR) + "/tools/data/models/nanodet.json";
  r.det = std::make_unique<weaver::dnn_detector>(o);
  auto frames = sample_frames(16, 40); // frames 0, 40, ..., 600
  r.eval_frame = frames.back();
  r.f32 = r.det->compiled(frames[0].size());
  size_t next = 0;
  r.table = weaver::engine::calibrate(r.f32, [&](float* in) {
    if (next == calib_frames) return false;
    r.det->fill_input(frames[next++], in);
    return true;
  });
  return r;
}
