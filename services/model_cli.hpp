// `weaver model inspect` and `weaver detect`: the DNN engine from the
// command line, for a person to look at a model and at what it detects.
#pragma once

#include <string>

namespace weaver {

struct inspect_options {
  std::string model; // TF.js model.json, Darknet .cfg or .onnx
  std::string weights; // Darknet .weights
  bool raw = false; // the graph as imported, before the passes
  int batch = 1;
  int bench = 0; // timed runs on a random input (0 = none)
  int threads = 1;
  bool profile = false; // with bench: the mean time of each step
};

/// Prints the graph (and timings); returns the exit code.
int model_inspect(const inspect_options& o);

struct export_options {
  std::string model; // any model import_model reads
  std::string weights; // Darknet .weights
  std::string onnx; // the ONNX file to write
  int batch = 1;
};

/// Imports and compiles the model, then writes it as ONNX (storage order:
/// NHWC images); returns the exit code.
int model_export(const export_options& o);

struct quantize_options {
  std::string model; // TF.js model.json or Darknet .cfg
  std::string weights; // Darknet .weights
  std::string calib; // video whose frames calibrate the activation ranges
  std::string out; // the int8 file (format: accel/engine/int8_model.hpp)
  int first = 0, end = 200, every = 4; // calibration frames: first, first+every, ... < end
  float input_scale = 0.75f; // the network input: frame size x scale (as detector.dnn.input_scale)
};

/// Calibrates and writes the int8 file; returns the exit code.
int model_quantize(const quantize_options& o);

struct detect_options {
  std::string config; // weaver config: detector kind and settings
  std::string image; // an image file, or
  std::string video; // a video file (or camera source) ...
  int frame = 0; // ... and the frame to take from it
  std::string out = "detections.png";
};

/// Runs the configured detector on one image, prints the detections and
/// draws them (box, score) into `out` for a person to look at.
int detect_command(const detect_options& o);

} // namespace weaver
