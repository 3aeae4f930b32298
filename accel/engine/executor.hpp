// Runs an optimised graph on the CPU. A `model` is the immutable compiled
// graph, shared by every camera; a `session` owns one set of preallocated
// buffers and runs on the calling thread (a card worker), so nothing is
// allocated per frame and no thread pool competes with the process; a
// `workspace` is a worker's sessions, one per model it has run, so engine
// memory grows with workers, not with cameras.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "accel/engine/graph.hpp"
#include "accel/engine/int8_layers.hpp"
#include "accel/engine/int8_plan.hpp"
#include "accel/engine/kernels.hpp"
#include "accel/engine/page_block.hpp"

namespace weaver::engine {

struct int8_table; // accel/engine/int8_model.hpp

/// Imports by file type: *.json = TF.js graph model, *.cfg = Darknet (with
/// its `weights`), *.onnx = ONNX; no passes run.
graph import_model(const std::string& path, const std::string& weights = {});

class model {
public:
  /// import_model, then optimise.
  static std::shared_ptr<const model> load(const std::string& path, const std::string& weights = {}, int batch = 1,
                                           int height = 0, int width = 0);
  /// Optimises an imported graph for `batch` and (when set) an input size
  /// other than the model's own.
  static std::shared_ptr<const model> compile(graph g, int batch = 1, int height = 0, int width = 0);
  /// A graph that is already optimised (compile's result rebuilt elsewhere,
  /// e.g. from an accelerator's program buffer) as a model: no passes run,
  /// only compile's checks, so its sessions compute what the original's do.
  static std::shared_ptr<const model> adopt(graph g, int batch = 1);

  /// The same compiled graph with int8 numbers attached (see with_int8 in
  /// int8_model.hpp, which checks them): its sessions run on codes (int8_plan.hpp).
  /// `exact`: convs sum into s32 and requantize in fixed point, as the
  /// weaver_dnn kernel does (identical codes); otherwise oneDNN requantizes
  /// inside the conv (float scales, fused activation: faster, codes may
  /// differ from the kernel's by one).
  static std::shared_ptr<const model> with_table(const model& m, std::shared_ptr<const int8_table> t,
                                                 bool exact = false);

  const graph& ir() const { return g_; }
  /// The int8 numbers, nullptr for a float32 model.
  const int8_table* int8() const { return int8_.get(); }
  bool int8_exact() const { return int8_exact_; }
  int batch() const { return batch_; }
  /// The input in storage order (NHWC for images).
  const shape_t& input_shape() const { return g_.values[g_.inputs.at(0)].shape; }

private:
  graph g_;
  int batch_ = 1;
  std::shared_ptr<const int8_table> int8_;
  bool int8_exact_ = false;
};

class session {
public:
  /// `threads`: threads each convolution and each large elementwise,
  /// softmax or transpose kernel may use (1 on card workers, which are the
  /// parallelism; more for single-stream latency).
  ///
  /// `keep`: nullptr, every value has its own buffer and value() reads any
  /// of them after run(); otherwise only the input, the graph's outputs and
  /// the values named in `keep` do, and the rest share buffers by lifetime
  /// (less memory to allocate, first touch and keep in cache; value() is
  /// nullptr for them). int8 models keep all.
  explicit session(std::shared_ptr<const model> m, int threads = 1, const std::vector<std::string>* keep = nullptr);

  /// The input buffer, storage order (NHWC); fill it, then run().
  float* input() { return buf_[static_cast<size_t>(in_)]; }
  void run();
  /// run() one step at a time, timing each: per step the node it runs
  /// (nullptr for an int8 model's (de)quantize step) and the milliseconds it
  /// took, added to `ms` (sized on first use). For `weaver model inspect
  /// --profile`.
  void run_profiled(std::vector<const node*>& nodes, std::vector<double>& ms);

  size_t outputs() const { return m_->ir().outputs.size(); }
  const float* output(size_t i) const;
  const shape_t& output_shape(size_t i) const;
  const std::string& output_name(size_t i) const;
  /// Index of the output named `name` (":0" optional), or -1.
  int find_output(const std::string& name) const;
  /// int8 models: the codes of a value the plan (int8_plan.hpp) computes on
  /// codes, and their type; nullptr for others.
  const uint8_t* value_codes(const std::string& name, code_type* type = nullptr) const;
  /// Any intermediate value by name (e.g. backbone features), nullptr if the
  /// optimised graph has no such value.
  const float* value(const std::string& name, shape_t* shape = nullptr) const;
  /// Floats of buffers allocated for computed values (tests, gauges).
  size_t buffer_floats() const;
  const model& compiled() const { return *m_; }

private:
  struct step {
    const node* n; // nullptr: quantize value `q` into its codes, or dequantize `dq`
    std::vector<const float*> in;
    std::vector<float*> out;
    int conv = -1; // index into convs_
    int conv_s8 = -1; // index into convs_s8_
    int q = -1; // the value quantized
    int dq = -1; // the value dequantized
    int code = -1; // index into code_steps_: `n` runs on codes
  };
  /// A node of the int8 plan, on codes (int8_layers.hpp).
  struct code_step {
    std::vector<quant::fixed_multiplier> m, m_neg; // conv: per channel; concat: per input
    std::vector<int32_t> bias;
    quant::add_multipliers add{};
    std::vector<quant::resize_tap> ty, tx;
    quant::fixed_multiplier resize{};
    bool fused = false; // conv: oneDNN requantizes (model::int8_exact() off)
  };
  /// An f32 conv whose buffers are placed, its primitive not yet built.
  struct pending_conv {
    const node* n;
    const float *in, *w, *bias;
    float* out;
  };
  /// Builds the f32 convs into convs_, in order, on the session's threads.
  void build_convs(const std::vector<pending_conv>& pending);
  /// int8 models: the codes of a value (allocated on first use).
  void* codes(int v);
  void run_step(step& s);
  void run_codes(const node& n, int conv_s8, const code_step& c);
  std::shared_ptr<const model> m_;
  /// Uninitialised floats: every kernel writes all of its output, so the
  /// pages are first touched by the first run, not zero-filled here (in
  /// huge pages when large: page_block.hpp).
  struct buffer {
    page_block mem;
    size_t size = 0;
    float* data() const { return static_cast<float*>(mem.data()); }
  };
  static buffer make_buffer(size_t n) { return {page_block(n * sizeof(float)), n}; }
  std::vector<buffer> storage_; // per value (unused for shared ones)
  /// keep: the buffers values share by lifetime, in one block (its huge
  /// pages serve several buffers), each at a 64-byte-aligned offset.
  buffer shared_block_;
  std::vector<char> shared_; // per value: its buffer is shared (value() returns nullptr)
  std::vector<float*> buf_; // per value; constants point at their data
  std::vector<kernels::conv2d> convs_;
  std::vector<kernels::conv2d_s8> convs_s8_;
  std::vector<std::vector<int8_t>> codes_; // per value, int8 models only
  std::vector<char> codes_only_; // per value: no f32 copy is computed (value() dequantizes)
  std::vector<code_type> types_; // per value, int8 models: the plan's code types
  std::vector<code_step> code_steps_;
  std::vector<int32_t> acc_; // s32 accumulators of the conv running on codes
  std::vector<step> steps_;
  int in_ = 0;
  int threads_ = 1; // the convolutions', the integer layers', (de)quantization's and large elementwise kernels'
};

/// The sessions of one worker thread: one per (model, threads) it ran, the
/// least recently used dropped beyond `max_models` (frame sizes live at once).
/// One thread at a time uses a workspace.
class workspace {
public:
  explicit workspace(size_t max_models = 8) : max_(max_models < 1 ? 1 : max_models) {}
  /// This worker's session of `m`, made on first use.
  /// `keep` as for session (nullptr: every value).
  session& session_for(const std::shared_ptr<const model>& m, int threads = 1,
                       const std::vector<std::string>* keep = nullptr);
  /// Sessions held (tests, gauges).
  size_t sessions() const { return sessions_.size(); }

private:
  struct entry {
    std::shared_ptr<const model> m;
    int threads = 1;
    bool kept_all = true;
    std::vector<std::string> keep;
    std::unique_ptr<session> s;
    uint64_t used = 0;
  };
  std::vector<entry> sessions_;
  uint64_t clock_ = 0;
  size_t max_;
};

} // namespace weaver::engine
