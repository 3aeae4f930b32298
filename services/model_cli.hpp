// `weaver model inspect` and `weaver detect`: the DNN engine from the
// command line, for a person to look at a model and at what it detects.
#pragma once

#include <string>

namespace weaver {

struct inspect_options {
  std::string model;        // TF.js model.json or Darknet .cfg
  std::string weights;      // Darknet .weights
  bool raw = false;         // the graph as imported, before the passes
  int batch = 1;
  int bench = 0;            // timed runs on a random input (0 = none)
  int threads = 1;
};

/// Prints the graph (and timings); returns the exit code.
int model_inspect(const inspect_options& o);

} // namespace weaver
