#include "accel/engine/executor.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <numeric>
#include <optional>
#include <thread>

#include "accel/engine/darknet_import.hpp"
#include "accel/engine/int8_model.hpp"
#include "accel/engine/kernels.hpp"
#include "accel/engine/onnx_import.hpp"
#include "accel/engine/passes.hpp"
#include "accel/engine/tfjs_import.hpp"

namespace weaver::engine {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

graph import_model(const std::string& path, const std::string& weights) {
  if (ends_with(path, ".json")) return import_tfjs(path);
  if (ends_with(path, ".cfg")) return import_darknet(path, weights);
  if (ends_with(path, ".onnx")) return import_onnx(path);
  throw model_error(path + ": unknown model type (expected a TF.js model.json, a Darknet .cfg or an .onnx file)");
}

std::shared_ptr<const model> model::load(const std::string& path, const std::string& weights, int batch, int height,
                                         int width) {
  return compile(import_model(path, weights), batch, height, width);
}

std::shared_ptr<const model> model::compile(graph g, int batch, int height, int width) {
  optimise(g, batch, height, width);
  return adopt(std::move(g), batch);
}

std::shared_ptr<const model> model::adopt(graph g, int batch) {
  if (g.inputs.size() != 1) throw model_error("models with one input only");
  for (const auto& v : g.values)
    if (v.is_const && v.type == dtype::f32 && static_cast<int64_t>(v.data.f.size()) != numel(v.shape))
      throw model_error("constant '" + v.name + "' has " + std::to_string(v.data.f.size()) + " values for shape "
                        + to_string(v.shape));
  auto m = std::make_shared<model>();
  m->g_ = std::move(g);
  m->batch_ = batch;
  return m;
}

std::shared_ptr<const model> model::with_table(const model& m, std::shared_ptr<const int8_table> t, bool exact) {
  auto r = std::make_shared<model>(m);
  r->int8_ = std::move(t);
  r->int8_exact_ = exact;
  return r;
}

void* session::codes(int v) {
  auto& c = codes_[static_cast<size_t>(v)];
  if (c.empty()) c.assign(static_cast<size_t>(numel(m_->ir().values[static_cast<size_t>(v)].shape)), 0);
  return c.data();
}

namespace {

/// Buffers shared by values whose lifetimes do not overlap: per value the
/// buffer it uses (-1: its own, or none), and each buffer's size. A value
/// lives from the node that writes it to the last node that reads it (or
/// reads a reshape of it: those alias their input); `pinned` values (the
/// input, outputs, what the caller reads afterwards) never share. A node's
/// outputs are placed while its inputs still live, so no kernel writes over
/// what it reads.
struct buffer_plan {
  std::vector<int> of;
  std::vector<int64_t> size;
};

buffer_plan plan_buffers(const graph& g, const std::vector<char>& pinned) {
  const size_t nv = g.values.size();
  std::vector<int> root(nv);
  std::iota(root.begin(), root.end(), 0);
  std::vector<int> last(nv, -1);
  const int forever = static_cast<int>(g.nodes.size());
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const node& n = g.nodes[k];
    for (int v : n.in) last[static_cast<size_t>(root[static_cast<size_t>(v)])] = static_cast<int>(k);
    if (n.kind == op::reshape || n.kind == op::identity)
      root[static_cast<size_t>(n.out[0])] = root[static_cast<size_t>(n.in[0])];
  }
  for (size_t v = 0; v < nv; ++v)
    if (pinned[v]) last[static_cast<size_t>(root[v])] = forever;
  buffer_plan p;
  p.of.assign(nv, -1);
  std::vector<int> free_list; // buffer ids
  std::vector<std::vector<int>> dies(g.nodes.size() + 1);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const node& n = g.nodes[k];
    if (n.kind == op::reshape || n.kind == op::identity) continue;
    for (int o : n.out) {
      if (pinned[static_cast<size_t>(o)] || last[static_cast<size_t>(o)] == forever) continue;
      const int64_t need = numel(g.values[static_cast<size_t>(o)].shape);
      // The smallest free buffer that fits, else the largest grown to fit,
      // else a new one.
      int fit = -1, big = -1;
      auto size_at = [&](int i) { return p.size[static_cast<size_t>(free_list[static_cast<size_t>(i)])]; };
      for (int i = 0; i < static_cast<int>(free_list.size()); ++i) {
        if (size_at(i) >= need && (fit < 0 || size_at(i) < size_at(fit))) fit = i;
        if (big < 0 || size_at(i) > size_at(big)) big = i;
      }
      const int best = fit >= 0 ? fit : big;
      int b;
      if (best >= 0) {
        b = free_list[static_cast<size_t>(best)];
        free_list.erase(free_list.begin() + best);
        p.size[static_cast<size_t>(b)] = std::max(p.size[static_cast<size_t>(b)], need);
      } else {
        b = static_cast<int>(p.size.size());
        p.size.push_back(need);
      }
      p.of[static_cast<size_t>(o)] = b;
      // Freed after its last reader; a value nobody reads, right away.
      const int end = std::max(last[static_cast<size_t>(o)], static_cast<int>(k));
      dies[static_cast<size_t>(end)].push_back(b);
    }
    for (int b : dies[k]) free_list.push_back(b);
  }
  return p;
}

} // namespace

session::session(std::shared_ptr<const model> m, int threads, const std::vector<std::string>* keep)
  : m_(std::move(m)), threads_(std::max(threads, 1)) {
  const graph& g = m_->ir();
  const int8_table* q8 = m_->int8();
  int8_plan plan;
  if (q8) {
    // What the plan runs on codes stays in codes (int8_plan.hpp), computed by
    // the integer layers the weaver_dnn kernel also computes; values the
    // float nodes read are dequantized once.
    plan = plan_codes(g, *q8);
    types_ = plan.values;
    codes_.resize(g.values.size());
    codes_only_.assign(g.values.size(), 0);
  }
  std::vector<char> quantized(g.values.size(), 0); // codes filled by an earlier step
  std::vector<char> dequantized(g.values.size(), 0);
  buf_.assign(g.values.size(), nullptr);
  storage_.resize(g.values.size());
  in_ = g.inputs.at(0);
  shared_.assign(g.values.size(), 0);
  buffer_plan plan_b;
  if (keep && !q8) {
    std::vector<char> pinned(g.values.size(), 0);
    pinned[static_cast<size_t>(in_)] = 1;
    for (int v : g.outputs) pinned[static_cast<size_t>(v)] = 1;
    for (const auto& name : *keep) {
      const int v =
        g.find(name.size() > 2 && name.compare(name.size() - 2, 2, ":0") == 0 ? name.substr(0, name.size() - 2) : name);
      if (v >= 0) pinned[static_cast<size_t>(v)] = 1;
    }
    plan_b = plan_buffers(g, pinned);
  }
  std::vector<size_t> shared_at; // per shared buffer, its offset in shared_block_ (floats)
  size_t shared_floats = 0;
  for (int64_t n : plan_b.size) {
    shared_at.push_back(shared_floats);
    shared_floats += (static_cast<size_t>(n) + 15) / 16 * 16;
  }
  if (shared_floats > 0) shared_block_ = make_buffer(shared_floats);
  auto alloc = [&](int v) {
    const int b = plan_b.of.empty() ? -1 : plan_b.of[static_cast<size_t>(v)];
    if (b >= 0) {
      buf_[static_cast<size_t>(v)] = shared_block_.data() + shared_at[static_cast<size_t>(b)];
      shared_[static_cast<size_t>(v)] = 1;
      return;
    }
    storage_[static_cast<size_t>(v)] = make_buffer(static_cast<size_t>(numel(g.values[v].shape)));
    buf_[static_cast<size_t>(v)] = storage_[static_cast<size_t>(v)].data();
  };
  alloc(in_);
  for (size_t v = 0; v < g.values.size(); ++v)
    if (g.values[v].is_const && g.values[v].type == dtype::f32)
      buf_[v] = const_cast<float*>(g.values[v].data.f.data()); // read-only by the kernels
  auto in_codes = [&](int v) { return q8 && types_[static_cast<size_t>(v)].in_codes; };
  auto quantize_step = [&](int v) {
    step qs{nullptr, {buf_[static_cast<size_t>(v)]}, {}};
    qs.q = v;
    codes(v);
    steps_.push_back(std::move(qs));
    quantized[static_cast<size_t>(v)] = 1;
  };
  auto dequantize_step = [&](int v) {
    if (dequantized[static_cast<size_t>(v)] || v == in_) return; // the input's floats are there already
    step ds{nullptr, {}, {buf_[static_cast<size_t>(v)]}};
    ds.dq = v;
    steps_.push_back(std::move(ds));
    dequantized[static_cast<size_t>(v)] = 1;
    codes_only_[static_cast<size_t>(v)] = 0;
  };
  if (in_codes(in_)) quantize_step(in_);
  std::vector<pending_conv> pending; // f32 convs, built once every buffer is placed
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const node& n = g.nodes[k];
    step s{&n, {}, {}};
    if (q8 && plan.nodes[k]) {
      const int o = n.out[0];
      alloc(o); // value() dequantizes into it
      s.out.push_back(buf_[static_cast<size_t>(o)]);
      codes(o);
      codes_only_[static_cast<size_t>(o)] = 1;
      quantized[static_cast<size_t>(o)] = 1;
      code_step c;
      const code_type& x = types_[static_cast<size_t>(n.in[0])];
      const code_type& y = types_[static_cast<size_t>(o)];
      if (n.kind == op::conv2d) {
        const auto& p = q8->convs.at(n.name);
        quant::conv_multipliers(x.scale, p.scale, y.scale, n.a, c.m, c.m_neg);
        c.bias = p.bias;
        kernels::int8_conv kc;
        kc.in_unsigned = !x.is_signed;
        kc.w = p.w.data();
        kc.w_scale = p.scale;
        void* dst = nullptr;
        if (m_->int8_exact()) { // s32 sums, requantized by run_codes as the kernel does
          kc.raw_acc = true;
          acc_.resize(std::max(acc_.size(), static_cast<size_t>(numel(g.values[static_cast<size_t>(o)].shape))));
        } else { // oneDNN requantizes in float inside the conv: no s32 round trip
          c.fused = true;
          kc.in_scale = x.scale;
          kc.bias = p.bias;
          kc.out_codes = true;
          kc.out_scale = y.scale;
          kc.out_unsigned = !y.is_signed;
          dst = codes(o);
        }
        s.conv_s8 = static_cast<int>(convs_s8_.size());
        convs_s8_.emplace_back(g.values[static_cast<size_t>(n.in[0])].shape, codes(n.in[0]), p.filter, kc, n.a,
                               g.values[static_cast<size_t>(o)].shape, dst, threads);
      } else if (n.kind == op::add) {
        c.add = quant::add_multipliers_for(x.scale, types_[static_cast<size_t>(n.in[1])].scale, y.scale);
      } else if (n.kind == op::resize_bilinear) {
        const auto& is = g.values[static_cast<size_t>(n.in[0])].shape;
        const auto& os = g.values[static_cast<size_t>(o)].shape;
        c.ty = quant::resize_taps(is[1], os[1], n.a.half_pixel, n.a.align_corners);
        c.tx = quant::resize_taps(is[2], os[2], n.a.half_pixel, n.a.align_corners);
        c.resize = quant::resize_multiplier(x.scale, y.scale);
      } else if (n.kind == op::concat) {
        for (int v : n.in)
          c.m.push_back(quant::to_fixed(static_cast<double>(types_[static_cast<size_t>(v)].scale) / y.scale));
      }
      s.code = static_cast<int>(code_steps_.size());
      code_steps_.push_back(std::move(c));
      steps_.push_back(std::move(s));
      continue;
    }
    if (q8)
      for (int v : n.in)
        if (in_codes(v)) dequantize_step(v);
    for (int v : n.in) s.in.push_back(buf_[static_cast<size_t>(v)]);
    // Reshape and identity alias their input: same bytes, new shape.
    bool alias = n.kind == op::reshape || n.kind == op::identity;
    for (int o : n.out) {
      if (alias) {
        buf_[static_cast<size_t>(o)] = buf_[static_cast<size_t>(n.in[0])];
        shared_[static_cast<size_t>(o)] = shared_[static_cast<size_t>(n.in[0])];
      } else
        alloc(o);
      s.out.push_back(buf_[static_cast<size_t>(o)]);
    }
    if (n.kind == op::conv2d && q8) { // a conv the plan leaves out: codes of its f32 input, f32 out
      const int v = n.in[0], o = n.out[0];
      const auto& in_q = q8->acts.at(g.values[static_cast<size_t>(v)].name);
      if (!quantized[static_cast<size_t>(v)]) quantize_step(v);
      const auto& p = q8->convs.at(n.name);
      kernels::int8_conv k;
      k.in_scale = in_codes(v) ? types_[static_cast<size_t>(v)].scale : in_q.scale;
      k.in_unsigned = in_codes(v) ? !types_[static_cast<size_t>(v)].is_signed : in_q.is_unsigned;
      k.w = p.w.data();
      k.w_scale = p.scale;
      k.bias = p.bias;
      s.conv_s8 = static_cast<int>(convs_s8_.size());
      convs_s8_.emplace_back(g.values[static_cast<size_t>(v)].shape, codes(v), p.filter, k, n.a,
                             g.values[static_cast<size_t>(o)].shape, s.out[0], threads);
    } else if (n.kind == op::conv2d) {
      s.conv = static_cast<int>(pending.size());
      pending.push_back({&n, s.in[0], s.in[1], n.in.size() > 2 ? s.in[2] : nullptr, s.out[0]});
    }
    if (!alias) steps_.push_back(std::move(s));
  }
  if (q8)
    for (int v : g.outputs)
      if (in_codes(v)) dequantize_step(v);
  build_convs(pending);
}

void session::build_convs(const std::vector<pending_conv>& pending) {
  // Building a primitive is mostly oneDNN generating its kernel code, each
  // independent of the others (its primitive cache is thread-safe): the
  // session's threads share the list instead of one thread building all.
  const graph& g = m_->ir();
  std::vector<std::optional<kernels::conv2d>> built(pending.size());
  std::atomic<size_t> next{0};
  std::exception_ptr failed;
  std::atomic<bool> stop{false};
  auto work = [&](std::exception_ptr& err) {
    try {
      while (!stop) {
        const size_t i = next++;
        if (i >= pending.size()) break;
        const auto& c = pending[i];
        const node& n = *c.n;
        built[i].emplace(g.values[n.in[0]].shape, c.in, g.values[n.in[1]].shape, c.w, c.bias, n.a,
                         g.values[n.out[0]].shape, c.out, threads_);
      }
    } catch (...) {
      err = std::current_exception();
      stop = true;
    }
  };
  const size_t helpers = std::min(static_cast<size_t>(threads_ - 1), pending.size() / 2);
  std::vector<std::exception_ptr> errs(helpers);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < helpers; ++t) pool.emplace_back(work, std::ref(errs[t]));
  work(failed);
  for (auto& t : pool) t.join();
  for (auto& e : errs)
    if (!failed && e) failed = e;
  if (failed) std::rethrow_exception(failed);
  convs_.reserve(pending.size());
  for (auto& c : built) convs_.push_back(std::move(*c));
}

void session::run() {
  for (auto& s : steps_) run_step(s);
}

void session::run_profiled(std::vector<const node*>& nodes, std::vector<double>& ms) {
  nodes.clear();
  ms.resize(steps_.size(), 0.0);
  for (size_t i = 0; i < steps_.size(); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    run_step(steps_[i]);
    ms[i] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    nodes.push_back(steps_[i].n);
  }
}

void session::run_step(step& s) {
  const graph& g = m_->ir();
  auto shape = [&](int v) -> const shape_t& { return g.values[v].shape; };
  if (!s.n && s.dq >= 0) {
    const auto& t = types_[static_cast<size_t>(s.dq)];
    kernels::dequantize_codes(codes_[static_cast<size_t>(s.dq)].data(), numel(shape(s.dq)), t.scale, !t.is_signed,
                              s.out[0], threads_);
    return;
  }
  if (!s.n) {
    const int v = s.q;
    if (types_[static_cast<size_t>(v)].in_codes) { // at the plan's scale, as hls_network::quantize
      const auto& t = types_[static_cast<size_t>(v)];
      kernels::quantize_codes(s.in[0], numel(shape(v)), t.scale, !t.is_signed, codes(v), threads_);
      return;
    }
    const auto& a = m_->int8()->acts.at(g.values[static_cast<size_t>(v)].name);
    kernels::quantize_codes(s.in[0], numel(shape(v)), a.scale, a.is_unsigned, codes(v), threads_);
    return;
  }
  if (s.code >= 0) {
    run_codes(*s.n, s.conv_s8, code_steps_[static_cast<size_t>(s.code)]);
    return;
  }
  const node& n = *s.n;
  const auto& a = n.a;
  const int o = n.out[0];
  switch (n.kind) {
    case op::conv2d:
      if (s.conv_s8 >= 0)
        convs_s8_[static_cast<size_t>(s.conv_s8)].run();
      else
        convs_[static_cast<size_t>(s.conv)].run();
      break;
    case op::add:
    case op::sub:
    case op::mul:
    case op::div:
    case op::pow:
      kernels::binary(n.kind, s.in[0], shape(n.in[0]), s.in[1], shape(n.in[1]), s.out[0], shape(o), threads_);
      break;
    case op::activation: {
      int64_t cnt = numel(shape(o));
      std::copy(s.in[0], s.in[0] + cnt, s.out[0]);
      kernels::apply_activation(s.out[0], cnt, a.activation, a.alpha, a.beta, threads_);
      break;
    }
    case op::pad:
      kernels::pad(s.in[0], shape(n.in[0]), a.ints, a.pad_value, s.out[0], shape(o));
      break;
    case op::max_pool:
      kernels::max_pool_nhwc(s.in[0], shape(n.in[0]), a, s.out[0], shape(o));
      break;
    case op::avg_pool:
      kernels::avg_pool_nhwc(s.in[0], shape(n.in[0]), a, s.out[0], shape(o));
      break;
    case op::global_avg_pool:
      kernels::global_avg_pool_nhwc(s.in[0], shape(n.in[0]), s.out[0]);
      break;
    case op::transpose:
      kernels::transpose(s.in[0], shape(n.in[0]), a.ints, s.out[0], threads_);
      break;
    case op::concat: {
      std::vector<shape_t> shapes;
      for (int v : n.in) shapes.push_back(shape(v));
      kernels::concat(s.in, shapes, a.axis, s.out[0]);
      break;
    }
    case op::split:
      kernels::split(s.in[0], shape(n.in[0]), a.axis, s.out, a.ints);
      break;
    case op::resize_bilinear:
      kernels::resize_bilinear_nhwc(s.in[0], shape(n.in[0]), a.half_pixel, a.align_corners, s.out[0], shape(o),
                                    a.axis == 2 ? a.scale[0] : 0.0f, a.axis == 2 ? a.scale[1] : 0.0f);
      break;
    case op::upsample:
      kernels::upsample_nhwc(s.in[0], shape(n.in[0]), a.stride[0], a.stride[1], s.out[0]);
      break;
    case op::reorg:
      kernels::reorg_nhwc(s.in[0], shape(n.in[0]), a.stride[0], s.out[0], shape(o));
      break;
    case op::yolo_head:
      kernels::yolo_head_nhwc(s.in[0], shape(o), a.anchors, a.classes, a.softmax_classes, s.out[0]);
      break;
    case op::softmax:
      kernels::softmax_last(s.in[0], shape(o), s.out[0], threads_);
      break;
    case op::slice:
      kernels::slice(s.in[0], shape(n.in[0]), a.ints, s.out[0]);
      break;
    case op::reshape:
    case op::identity:
      break;
    case op::sparse_to_dense:
      throw model_error("node '" + n.name + "': SparseToDense survived constant folding");
    case op::shape_fn:
      throw model_error("node '" + n.name + "': shape arithmetic survived compile");
  }
}

void session::run_codes(const node& n, int conv_s8, const code_step& c) {
  const graph& g = m_->ir();
  auto shape = [&](int v) -> const shape_t& { return g.values[static_cast<size_t>(v)].shape; };
  auto type = [&](int v) -> const code_type& { return types_[static_cast<size_t>(v)]; };
  auto bytes = [&](int v) { return static_cast<uint8_t*>(codes(v)); };
  const int x = n.in[0], o = n.out[0];
  switch (n.kind) {
    case op::conv2d: {
      auto& conv = convs_s8_[static_cast<size_t>(conv_s8)];
      if (c.fused) {
        conv.run();
        break;
      }
      conv.run_into(acc_.data());
      const int64_t co = shape(o)[3];
      quant::requantize_conv(acc_.data(), numel(shape(o)) / co, co, c.bias, c.m, c.m_neg, n.a, type(o).is_signed,
                             bytes(o), threads_);
      break;
    }
    case op::max_pool:
      quant::max_pool_codes(bytes(x), shape(x), type(x).is_signed, n.a, bytes(o), shape(o), threads_);
      break;
    case op::add:
      quant::add_codes(bytes(x), type(x).is_signed, bytes(n.in[1]), type(n.in[1]).is_signed, numel(shape(o)), c.add,
                       bytes(o), type(o).is_signed, threads_);
      break;
    case op::resize_bilinear:
      quant::resize_bilinear_codes(bytes(x), shape(x), type(x).is_signed, c.ty, c.tx, c.resize, bytes(o), shape(o),
                                   type(o).is_signed, threads_);
      break;
    default: { // concat on channels
      const int64_t pixels = numel(shape(o)) / shape(o)[3];
      int64_t coff = 0;
      for (size_t k = 0; k < n.in.size(); ++k) {
        const int v = n.in[k];
        const int64_t ch = shape(v)[3];
        quant::copy_codes(bytes(v), pixels, ch, type(v).is_signed, c.m[k], bytes(o), shape(o)[3], coff,
                          type(o).is_signed, threads_);
        coff += ch;
      }
    }
  }
}

const uint8_t* session::value_codes(const std::string& name, code_type* type) const {
  const int v = m_->ir().find(name);
  if (v < 0 || types_.empty() || !types_[static_cast<size_t>(v)].in_codes) return nullptr;
  if (type) *type = types_[static_cast<size_t>(v)];
  return reinterpret_cast<const uint8_t*>(codes_[static_cast<size_t>(v)].data());
}

const float* session::output(size_t i) const { return buf_[static_cast<size_t>(m_->ir().outputs.at(i))]; }

const shape_t& session::output_shape(size_t i) const { return m_->ir().values[m_->ir().outputs.at(i)].shape; }

const std::string& session::output_name(size_t i) const { return m_->ir().values[m_->ir().outputs.at(i)].name; }

int session::find_output(const std::string& name) const {
  std::string n = name;
  if (n.size() > 2 && n.compare(n.size() - 2, 2, ":0") == 0) n.resize(n.size() - 2);
  for (size_t i = 0; i < outputs(); ++i)
    if (output_name(i) == n) return static_cast<int>(i);
  return -1;
}

const float* session::value(const std::string& name, shape_t* shape) const {
  int v = m_->ir().find(name);
  if (v < 0 || m_->ir().values[v].is_const || shared_[static_cast<size_t>(v)]) return nullptr;
  if (shape) *shape = m_->ir().values[v].shape;
  if (!codes_only_.empty() && codes_only_[static_cast<size_t>(v)]) { // only its codes were computed
    const auto& t = types_[static_cast<size_t>(v)];
    kernels::dequantize_codes(codes_[static_cast<size_t>(v)].data(), numel(m_->ir().values[v].shape), t.scale,
                              !t.is_signed, buf_[static_cast<size_t>(v)]);
  }
  return buf_[static_cast<size_t>(v)];
}

size_t session::buffer_floats() const {
  size_t n = shared_block_.size;
  for (const auto& s : storage_) n += s.size;
  return n;
}

session& workspace::session_for(const std::shared_ptr<const model>& m, int threads,
                                const std::vector<std::string>* keep) {
  for (auto& e : sessions_)
    if (e.m == m && e.threads == threads && e.kept_all == !keep && (!keep || e.keep == *keep)) {
      e.used = ++clock_;
      return *e.s;
    }
  if (sessions_.size() >= max_) {
    auto lru = std::min_element(sessions_.begin(), sessions_.end(),
                                [](const entry& a, const entry& b) { return a.used < b.used; });
    sessions_.erase(lru);
  }
  sessions_.push_back({m, threads, !keep, keep ? *keep : std::vector<std::string>{},
                       std::make_unique<session>(m, threads, keep), ++clock_});
  return *sessions_.back().s;
}

} // namespace weaver::engine
