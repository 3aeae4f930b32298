#include "accel/engine/onnx_import.hpp"

#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accel/engine/tfjs_import.hpp" // half_to_float
#include "onnx.pb.h"

namespace weaver::engine {

namespace {

// TensorProto.DataType values (onnx.proto).
enum : int { t_float = 1, t_int32 = 6, t_int64 = 7, t_float16 = 10, t_double = 11 };

// Larger tensors are a corrupt file, not a model (keeps a bad dim from
// turning into a huge allocation).
constexpr int64_t max_elements = int64_t{1} << 31;

/// The bytes of an initializer stored outside the model (data_location
/// EXTERNAL): `location` relative to the model, optional offset and length.
std::string external_bytes(const onnx::TensorProto& t, const std::string& dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    try {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset")
        offset = std::stoll(kv.value());
      else if (kv.key() == "length")
        length = std::stoll(kv.value());
    } catch (const std::exception&) {
      throw model_error("initializer '" + t.name() + "': external data " + kv.key() + " '" + kv.value()
                        + "' is not a number");
    }
  }
  if (location.empty()) throw model_error("initializer '" + t.name() + "': external data without a location");
  // The file sits beside the model (the format's rule): no escaping it.
  if (location[0] == '/' || location.find("..") != std::string::npos)
    throw model_error("initializer '" + t.name() + "': external data location '" + location
                      + "' leaves the model's directory");
  auto bytes = read_model_file(dir + location, "initializer '" + t.name() + "' external data");
  if (offset < 0 || offset > static_cast<int64_t>(bytes.size()))
    throw model_error("initializer '" + t.name() + "': external data offset " + std::to_string(offset)
                      + " past the end of " + location);
  if (length < 0) length = static_cast<int64_t>(bytes.size()) - offset;
  if (offset + length > static_cast<int64_t>(bytes.size()))
    throw model_error("initializer '" + t.name() + "': external data " + location + " truncated (needs "
                      + std::to_string(offset + length) + " bytes, has " + std::to_string(bytes.size()) + ")");
  return bytes.substr(static_cast<size_t>(offset), static_cast<size_t>(length));
}

/// A TensorProto (initializer or Constant value) as engine constant data:
/// float32/float16/double as f32, int64/int32 as i64.
/// A byte range of the mapped file (an initializer's raw_data, see
/// split_raw_data); `found` false when the tensor had none.
struct raw_span {
  const char* data = nullptr;
  size_t size = 0;
  bool found = false;
};

tensor_data load_tensor(const onnx::TensorProto& t, const std::string& dir, raw_span span = {}) {
  const std::string what = "initializer '" + t.name() + "'";
  tensor_data d;
  for (auto x : t.dims()) {
    if (x < 0) throw model_error(what + ": negative dimension");
    d.shape.push_back(x);
  }
  int64_t n = 1;
  for (auto x : d.shape) {
    if (x > 0 && n > max_elements / x) throw model_error(what + ": too many elements");
    n *= x;
  }
  const bool external = t.data_location() == onnx::TensorProto::EXTERNAL;
  const bool raw = external || span.found || t.has_raw_data();
  std::string ext = external ? external_bytes(t, dir) : std::string();
  // Not copied: weights are most of a file.
  const std::string_view bytes = external ? std::string_view(ext)
    : span.found                          ? std::string_view(span.data, span.size)
                                          : std::string_view(t.raw_data());
  auto need = [&](size_t width, int64_t typed) {
    if (raw ? bytes.size() != static_cast<size_t>(n) * width : typed != n)
      throw model_error(what + ": holds " + std::to_string(raw ? static_cast<int64_t>(bytes.size() / width) : typed)
                        + " values for shape " + to_string(d.shape));
  };
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  auto rd = [&](auto zero, int64_t k) {
    decltype(zero) x;
    std::memcpy(&x, p + k * static_cast<int64_t>(sizeof x), sizeof x);
    return x;
  };
  switch (t.data_type()) {
    case t_float:
      need(4, t.float_data_size());
      d.f.resize(static_cast<size_t>(n));
      if (raw && n > 0) // little-endian IEEE floats, as the host's: one copy
        std::memcpy(d.f.data(), p, static_cast<size_t>(n) * sizeof(float));
      else if (!raw)
        d.f.assign(t.float_data().begin(), t.float_data().end());
      break;
    case t_float16:
      need(2, t.int32_data_size()); // typed form: the half's bits in int32_data
      d.f.resize(static_cast<size_t>(n));
      for (int64_t k = 0; k < n; ++k)
        d.f[k] = half_to_float(raw ? rd(uint16_t{0}, k) : static_cast<uint16_t>(t.int32_data(static_cast<int>(k))));
      break;
    case t_double:
      need(8, t.double_data_size());
      d.f.resize(static_cast<size_t>(n));
      for (int64_t k = 0; k < n; ++k)
        d.f[k] = static_cast<float>(raw ? rd(0.0, k) : t.double_data(static_cast<int>(k)));
      break;
    case t_int64:
      need(8, t.int64_data_size());
      d.type = dtype::i64;
      d.i.resize(static_cast<size_t>(n));
      if (raw && n > 0)
        std::memcpy(d.i.data(), p, static_cast<size_t>(n) * sizeof(int64_t));
      else if (!raw)
        d.i.assign(t.int64_data().begin(), t.int64_data().end());
      break;
    case t_int32:
      need(4, t.int32_data_size());
      d.type = dtype::i64;
      d.i.resize(static_cast<size_t>(n));
      for (int64_t k = 0; k < n; ++k) d.i[k] = raw ? rd(int32_t{0}, k) : t.int32_data(static_cast<int>(k));
      break;
    default:
      throw model_error(what + ": data type " + std::to_string(t.data_type())
                        + " is not supported (float32, float16, double, int64, int32)");
  }
  return d;
}

/// The model file mapped read-only: the weights are read from the page
/// cache in place (a read() into a buffer first-touches a fresh copy).
class mapped_file {
public:
  explicit mapped_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw model_error("model: cannot open " + path);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw model_error("model: cannot read " + path + " (not a regular file)");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        throw model_error("model: cannot map " + path);
      }
      data_ = static_cast<const char*>(p);
    }
    ::close(fd);
  }
  ~mapped_file() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  const char* data() const { return data_; }
  size_t size() const { return size_; }

private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

/// Protobuf copies every bytes field into a string of its own: for an ONNX
/// file, its weights (initializer raw_data), most of the file. Instead the
/// file is walked at the wire level (ModelProto.graph = 7 ->
/// GraphProto.initializer = 5 -> TensorProto.raw_data = 9) and rewritten
/// without those fields into `rest` (kilobytes), which protobuf parses; the
/// raw_data of the k-th initializer is spans[k], a range of the file. The
/// walk follows protobuf's rules where they matter here: graph fields given
/// more than once merge (their initializers append) and the last raw_data
/// of a tensor wins. Anything it does not understand (groups, a bad varint,
/// a length past the end) returns false, and the caller parses the whole
/// file with protobuf, which then accepts or refuses it as before.
class raw_data_splitter {
public:
  raw_data_splitter(const char* data, size_t size) : p_(reinterpret_cast<const uint8_t*>(data)), n_(size) {}

  bool split(std::string& rest, std::vector<raw_span>& spans) {
    rest.clear();
    spans.clear();
    rest.reserve(1024);
    return message(0, n_, rest, spans, level::model);
  }

private:
  enum class level { model, graph, tensor };
  const uint8_t* p_;
  size_t n_;

  bool varint(size_t& at, size_t end, uint64_t& v) const {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at >= end) return false;
      const uint8_t b = p_[at++];
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  static void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  void copy(std::string& out, size_t b, size_t e) const { out.append(reinterpret_cast<const char*>(p_ + b), e - b); }

  // The fields of [at, end) into `out`, rewriting the submessages on the
  // path to raw_data and leaving raw_data out.
  bool message(size_t at, size_t end, std::string& out, std::vector<raw_span>& spans, level lv) {
    while (at < end) {
      const size_t field_start = at;
      uint64_t key = 0;
      if (!varint(at, end, key)) return false;
      const uint64_t field = key >> 3, wire = key & 7;
      if (field == 0) return false;
      if (wire == 0) {
        uint64_t v;
        if (!varint(at, end, v)) return false;
      } else if (wire == 1 || wire == 5) {
        const size_t w = wire == 1 ? 8 : 4;
        if (end - at < w) return false;
        at += w;
      } else if (wire == 2) {
        uint64_t len = 0;
        if (!varint(at, end, len) || len > end - at) return false;
        const size_t body = at;
        at += static_cast<size_t>(len);
        const bool descend = (lv == level::model && field == 7) || (lv == level::graph && field == 5);
        if (descend) {
          if (lv == level::graph) spans.emplace_back();
          std::string sub;
          if (!message(body, at, sub, spans, lv == level::model ? level::graph : level::tensor)) return false;
          put_varint(out, key);
          put_varint(out, sub.size());
          out += sub;
          continue;
        }
        if (lv == level::tensor && field == 9) { // raw_data: the last one wins
          spans.back() = {reinterpret_cast<const char*>(p_ + body), static_cast<size_t>(len), true};
          continue;
        }
      } else {
        return false; // groups (wire types 3 and 4): not in ONNX files
      }
      copy(out, field_start, at);
    }
    return at == end;
  }
};

class importer {
public:
  importer(const std::string& path) : path_(path), dir_(dir_of(path)) {}

  graph run() {
    // Mapped, the weights left where they are (raw_data_splitter): the
    // tensors below are the only copy of them.
    mapped_file file(path_);
    std::string rest;
    std::vector<raw_span> spans;
    raw_data_splitter split(file.data(), file.size());
    const bool was_split = file.size() > 0 && split.split(rest, spans);
    onnx::ModelProto m;
    // A truncated, empty or foreign file fails here; the message says which.
    const bool parsed = was_split
      ? m.ParseFromString(rest)
      : m.ParseFromArray(file.data(), static_cast<int>(std::min<size_t>(file.size(), INT_MAX)));
    if (!parsed || !m.has_graph() || (!was_split && file.size() > INT_MAX))
      throw model_error(path_ + ": not an ONNX model (the protobuf does not parse as a ModelProto with a graph)");
    if (was_split && spans.size() != static_cast<size_t>(m.graph().initializer_size()))
      throw model_error(path_ + ": not an ONNX model (its initializers do not parse)");
    opset_ = -1;
    for (const auto& o : m.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = static_cast<int>(o.version());
    if (opset_ < onnx_min_opset || opset_ > onnx_max_opset) {
      // Older exporters (opsets 7-10) upsample with Upsample, which opset 11
      // replaced by Resize: say so, the fix is a re-export.
      bool upsample = false;
      for (const auto& n : m.graph().node()) upsample = upsample || n.op_type() == "Upsample";
      throw model_error(
        path_ + ": opset " + std::to_string(opset_) + " is not supported (ONNX opsets " + std::to_string(onnx_min_opset)
        + " to " + std::to_string(onnx_max_opset) + ")"
        + (upsample ? "; its Upsample nodes are Resize from opset 11: export with opset 11 or later" : ""));
    }
    const auto& gp = m.graph();
    g_.format = "onnx";
    std::set<std::string> inits;
    for (int k = 0; k < gp.initializer_size(); ++k) {
      const auto& t = gp.initializer(k);
      if (t.name().empty()) throw model_error(path_ + ": an initializer without a name");
      inits.insert(t.name());
      bind(t.name(),
           g_.add_const(t.name(), load_tensor(t, dir_, was_split ? spans[static_cast<size_t>(k)] : raw_span{})));
    }
    for (const auto& in : gp.input()) {
      if (inits.count(in.name())) continue; // old IR versions list initializers as inputs
      const auto& tt = in.type().tensor_type();
      if (tt.elem_type() != t_float)
        throw model_error(path_ + ": input '" + in.name() + "' is not float32 (type " + std::to_string(tt.elem_type())
                          + ")");
      value v;
      v.name = in.name();
      // Dynamic (named or missing) dims are 1 until compile sets batch and size.
      for (const auto& d : tt.shape().dim())
        v.shape.push_back(d.has_dim_value() && d.dim_value() > 0 ? d.dim_value() : 1);
      int id = g_.add_value(std::move(v));
      bind(in.name(), id);
      g_.inputs.push_back(id);
    }
    if (g_.inputs.empty()) throw model_error(path_ + ": the graph has no (non-initializer) input");
    for (int k = 0; k < gp.node_size(); ++k) import_node(gp.node(k), k);
    for (const auto& o : gp.output()) {
      int v = lookup(o.name(), "graph output");
      g_.values[v].name = o.name();
      g_.outputs.push_back(v);
    }
    if (g_.outputs.empty()) throw model_error(path_ + ": the graph has no output");
    return std::move(g_);
  }

private:
  std::string path_, dir_;
  graph g_;
  int opset_ = 0;
  std::map<std::string, int> by_name_; // ONNX value name -> value index
  std::vector<int> rank_; // per value index, -1 when unknown at import

  void bind(const std::string& name, int v) { by_name_[name] = v; }
  int lookup(const std::string& name, const std::string& who) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) throw model_error(who + ": value '" + name + "' is not produced before it is used");
    return it->second;
  }
  int rank(int v) const {
    const auto& x = g_.values[v];
    if (x.is_const || x.producer < 0) return static_cast<int>(x.shape.size());
    return static_cast<size_t>(v) < rank_.size() ? rank_[v] : -1;
  }
  void set_rank(int v, int r) {
    if (rank_.size() <= static_cast<size_t>(v)) rank_.resize(static_cast<size_t>(v) + 1, -1);
    rank_[v] = r;
  }

  // --- one node ---------------------------------------------------------
  struct ctx {
    const onnx::NodeProto& n;
    std::string name; // node name, or op_Index when the file gives none
    std::vector<int> in; // -1 for an omitted optional input
  };

  [[noreturn]] static void fail(const ctx& c, const std::string& why) {
    throw model_error("node '" + c.name + "' (" + c.n.op_type() + "): " + why);
  }
  static const onnx::AttributeProto* attr(const ctx& c, const char* key) {
    for (const auto& a : c.n.attribute())
      if (a.name() == key) return &a;
    return nullptr;
  }
  static int64_t attr_i(const ctx& c, const char* key, int64_t dflt) {
    auto a = attr(c, key);
    return a ? a->i() : dflt;
  }
  static float attr_f(const ctx& c, const char* key, float dflt) {
    auto a = attr(c, key);
    return a ? a->f() : dflt;
  }
  static std::string attr_s(const ctx& c, const char* key, std::string dflt) {
    auto a = attr(c, key);
    return a ? a->s() : dflt;
  }
  static std::vector<int64_t> attr_ints(const ctx& c, const char* key) {
    auto a = attr(c, key);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
  }

  const value& input(const ctx& c, size_t k) const {
    if (k >= c.in.size() || c.in[k] < 0) fail(c, "input " + std::to_string(k) + " is missing");
    return g_.values[c.in[k]];
  }
  const tensor_data& const_input(const ctx& c, size_t k, const char* what) const {
    const auto& v = input(c, k);
    if (!v.is_const) fail(c, std::string(what) + " ('" + v.name + "') must be a constant");
    return v.data;
  }
  std::vector<int64_t> const_ints(const ctx& c, size_t k, const char* what) const {
    const auto& d = const_input(c, k, what);
    if (d.type != dtype::i64) fail(c, std::string(what) + " must be integers");
    return d.i;
  }
  bool has_input(const ctx& c, size_t k) const { return k < c.in.size() && c.in[k] >= 0; }

  int add(op k, const ctx& c, const std::string& suffix, std::vector<int> in, attrs a = {}, int outs = 1) {
    int id = g_.add_node(k, c.name + suffix, std::move(in), std::move(a), outs, c.n.op_type());
    return g_.nodes[id].out[0];
  }
  int transpose(const ctx& c, int v, std::vector<int64_t> perm, const std::string& suffix) {
    attrs a;
    a.ints = std::move(perm);
    int out = add(op::transpose, c, suffix, {v}, a);
    set_rank(out, static_cast<int>(a.ints.size()));
    return out;
  }
  /// An NHWC image op on the NCHW input 0: transposes around it.
  int nhwc(op k, const ctx& c, std::vector<int> extra, attrs a) {
    int x = c.in.at(0);
    if (rank(x) >= 0 && rank(x) != 4) fail(c, "needs a 4-D NCHW input, got rank " + std::to_string(rank(x)));
    std::vector<int> ins{transpose(c, x, {0, 2, 3, 1}, "/to_nhwc")};
    ins.insert(ins.end(), extra.begin(), extra.end());
    int y = add(k, c, "", std::move(ins), std::move(a));
    return transpose(c, y, {0, 3, 1, 2}, "/to_nchw");
  }
  void output(const ctx& c, int v, size_t k = 0) {
    if (static_cast<int>(k) >= c.n.output_size()) fail(c, "has no output " + std::to_string(k));
    const auto& name = c.n.output(static_cast<int>(k));
    g_.values[v].name = name;
    bind(name, v);
  }
  int constant(const ctx& c, const std::string& suffix, tensor_data d) {
    return g_.add_const(c.name + suffix, std::move(d));
  }

  /// Conv and pool geometry: strides, dilations, pads, auto_pad.
  void spatial(const ctx& c, attrs& a, bool dilations_allowed) {
    auto s = attr_ints(c, "strides");
    if (!s.empty()) {
      if (s.size() != 2) fail(c, "only 2-D (strides of length 2) is supported");
      a.stride = {static_cast<int>(s[0]), static_cast<int>(s[1])};
    }
    auto d = attr_ints(c, "dilations");
    if (!d.empty()) {
      if (d.size() != 2) fail(c, "only 2-D (dilations of length 2) is supported");
      a.dilation = {static_cast<int>(d[0]), static_cast<int>(d[1])};
      if (!dilations_allowed && (d[0] != 1 || d[1] != 1)) fail(c, "dilations other than 1 are not supported");
    }
    for (int k = 0; k < 2; ++k)
      if (a.stride[k] < 1 || a.dilation[k] < 1) fail(c, "strides and dilations must be >= 1");
    auto ap = attr_s(c, "auto_pad", "NOTSET");
    if (ap == "SAME_UPPER") {
      a.same_padding = true; // TF's SAME: the odd pixel at the end
    } else if (ap == "SAME_LOWER") {
      a.same_padding = true; // the odd pixel at the start
      a.same_lower = true;
    } else if (ap == "NOTSET") {
      auto p = attr_ints(c, "pads"); // [top, left, bottom, right], the IR's order
      if (!p.empty()) {
        if (p.size() != 4) fail(c, "only 2-D (pads of length 4) is supported");
        for (int k = 0; k < 4; ++k) {
          if (p[k] < 0) fail(c, "negative pads are not supported");
          a.pads[k] = static_cast<int>(p[k]);
        }
      }
    } else if (ap != "VALID") {
      fail(c, "unknown auto_pad " + ap);
    }
  }

  void pool(const ctx& c, op k) {
    attrs a;
    auto ks = attr_ints(c, "kernel_shape");
    if (ks.size() != 2 || ks[0] < 1 || ks[1] < 1) fail(c, "needs a 2-D kernel_shape");
    a.kernel = {static_cast<int>(ks[0]), static_cast<int>(ks[1])};
    spatial(c, a, false);
    a.ceil_mode = attr_i(c, "ceil_mode", 0) != 0;
    if (a.ceil_mode && a.same_padding) fail(c, "ceil_mode with auto_pad SAME is not supported");
    if (k == op::max_pool) {
      if (attr_i(c, "storage_order", 0) != 0) fail(c, "storage_order 1 is not supported");
      if (c.n.output_size() > 1 && !c.n.output(1).empty()) fail(c, "the Indices output is not supported");
    } else {
      a.count_include_pad = attr_i(c, "count_include_pad", 0) != 0;
    }
    output(c, nhwc(k, c, {}, a));
  }

  void import_node(const onnx::NodeProto& n, int index) {
    ctx c{n, n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name(), {}};
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      throw model_error("unsupported op '" + n.domain() + "." + n.op_type() + "' at node '" + c.name + "'");
    for (const auto& name : n.input())
      c.in.push_back(name.empty() ? -1 : lookup(name, "node '" + c.name + "' (" + n.op_type() + ")"));
    const std::string& t = n.op_type();
    // Every supported op but Constant reads input 0 (found by fuzz_onnx: a
    // MaxPool without inputs escaped as std::out_of_range).
    if (t != "Constant" && (c.in.empty() || c.in[0] < 0)) fail(c, "needs an input");
    attrs a;
    auto same_rank = [&](int v) { set_rank(v, rank(c.in.at(0))); };
    if (t == "Conv") {
      // A copy: adding nodes below grows g_.values.
      const shape_t ws = input(c, 1).shape;
      if (!input(c, 1).is_const) fail(c, "weights ('" + input(c, 1).name + "') must be a constant");
      if (ws.size() != 4) fail(c, "only 2-D convolutions (4-D weights) are supported, weights are " + to_string(ws));
      auto ks = attr_ints(c, "kernel_shape");
      if (!ks.empty() && (ks.size() != 2 || ks[0] != ws[2] || ks[1] != ws[3]))
        fail(c, "kernel_shape does not match the weights " + to_string(ws));
      spatial(c, a, true);
      a.groups = static_cast<int>(attr_i(c, "group", 1));
      if (a.groups < 1) fail(c, "group must be >= 1");
      // OIHW -> HWIO (constant folding does the permutation).
      std::vector<int> extra{transpose(c, c.in[1], {2, 3, 1, 0}, "/hwio")};
      if (has_input(c, 2)) {
        const auto& b = input(c, 2);
        if (!b.is_const || numel(b.shape) != ws[0])
          fail(c, "bias must be a constant of " + std::to_string(ws[0]) + " values");
        extra.push_back(c.in[2]);
      }
      int y = nhwc(op::conv2d, c, extra, a);
      output(c, y);
    } else if (t == "BatchNormalization") {
      if (attr_i(c, "training_mode", 0) != 0) fail(c, "training_mode is not supported");
      const auto& scale = const_input(c, 1, "scale");
      const auto& bias = const_input(c, 2, "B");
      const auto& mean = const_input(c, 3, "mean");
      const auto& var = const_input(c, 4, "var");
      float eps = attr_f(c, "epsilon", 1e-5f);
      int64_t ch = numel(scale.shape);
      for (const auto* d : {&scale, &bias, &mean, &var})
        if (d->type != dtype::f32 || numel(d->shape) != ch)
          fail(c, "scale, B, mean and var must be float vectors of one size");
      // y = x * s + (B - mean * s), s = scale / sqrt(var + eps): a per-channel
      // multiply and add that fold into a preceding conv.
      int r = rank(c.in[0]) < 0 ? 4 : rank(c.in[0]);
      if (r < 2) fail(c, "needs an input of rank >= 2");
      tensor_data s, b;
      s.shape.assign(static_cast<size_t>(r - 1), 1);
      s.shape[0] = ch;
      b.shape = s.shape;
      for (int64_t k = 0; k < ch; ++k) {
        float sk = scale.f[k] / std::sqrt(var.f[k] + eps);
        s.f.push_back(sk);
        b.f.push_back(bias.f[k] - mean.f[k] * sk);
      }
      int m = add(op::mul, c, "/scale", {c.in[0], constant(c, "/scale_value", std::move(s))});
      same_rank(m);
      int y = add(op::add, c, "", {m, constant(c, "/shift_value", std::move(b))});
      same_rank(y);
      output(c, y);
    } else if (t == "Relu" || t == "LeakyRelu" || t == "Sigmoid" || t == "Exp" || t == "Sqrt") {
      a.activation = t == "Relu" ? act::relu
        : t == "LeakyRelu"       ? act::leaky
        : t == "Sigmoid"         ? act::sigmoid
        : t == "Sqrt"            ? act::sqrt
                                 : act::exp;
      a.alpha = attr_f(c, "alpha", 0.01f); // ONNX's LeakyRelu default
      input(c, 0);
      int y = add(op::activation, c, "", {c.in[0]}, a);
      same_rank(y);
      output(c, y);
    } else if (t == "HardSigmoid" || t == "HardSwish" || t == "Clip") {
      input(c, 0);
      if (t == "HardSwish") {
        a.activation = act::hard_swish;
      } else if (t == "HardSigmoid") {
        a.activation = act::hard_sigmoid;
        a.alpha = attr_f(c, "alpha", 0.2f);
        a.beta = attr_f(c, "beta", 0.5f);
      } else { // Clip (opset 11+: min and max are optional constant inputs)
        auto bound = [&](size_t k, float dflt) {
          if (!has_input(c, k)) return dflt;
          const auto& d = const_input(c, k, k == 1 ? "min" : "max");
          if (numel(d.shape) != 1) fail(c, "min and max must be scalars");
          return d.type == dtype::f32 ? d.f[0] : static_cast<float>(d.i[0]);
        };
        a.activation = act::clip;
        a.alpha = bound(1, -std::numeric_limits<float>::infinity());
        a.beta = bound(2, std::numeric_limits<float>::infinity());
        if (a.alpha > a.beta) fail(c, "min is above max");
      }
      int y = add(op::activation, c, "", {c.in[0]}, a);
      same_rank(y);
      output(c, y);
    } else if (t == "Slice") {
      input(c, 0);
      auto starts = const_ints(c, 1, "starts"), ends = const_ints(c, 2, "ends");
      std::vector<int64_t> axes, steps;
      if (has_input(c, 3)) {
        axes = const_ints(c, 3, "axes");
      } else {
        for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
      }
      steps = has_input(c, 4) ? const_ints(c, 4, "steps") : std::vector<int64_t>(starts.size(), 1);
      if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
        fail(c, "starts, ends, axes and steps differ in length");
      for (size_t k = 0; k < starts.size(); ++k) {
        if (steps[k] == 0) fail(c, "a step of 0");
        a.ints.insert(a.ints.end(), {axes[k], starts[k], ends[k], steps[k]});
      }
      const auto& x = g_.values[c.in[0]];
      if (x.is_const) { // shape arithmetic (a Slice of a Shape): evaluated here
        try {
          output(c, constant(c, "", slice_constant(x.data, a.ints)));
        } catch (const model_error& e) {
          fail(c, e.what());
        }
        return;
      }
      int y = add(op::slice, c, "", {c.in[0]}, a);
      same_rank(y);
      output(c, y);
    } else if (t == "Add" || t == "Sub" || t == "Mul" || t == "Div") {
      input(c, 0);
      input(c, 1);
      op k = t == "Add" ? op::add : t == "Sub" ? op::sub : t == "Mul" ? op::mul : op::div;
      int y = add(k, c, "", {c.in[0], c.in[1]});
      int r0 = rank(c.in[0]), r1 = rank(c.in[1]);
      set_rank(y, r0 < 0 || r1 < 0 ? -1 : std::max(r0, r1));
      output(c, y);
    } else if (t == "Pow") {
      input(c, 0);
      input(c, 1);
      int e = c.in[1]; // an integer exponent (opset 12+) turns float in remove_layout_transposes
      int y = add(op::pow, c, "", {c.in[0], e});
      int r0 = rank(c.in[0]), r1 = rank(e);
      set_rank(y, r0 < 0 || r1 < 0 ? -1 : std::max(r0, r1));
      output(c, y);
    } else if (t == "MaxPool") {
      pool(c, op::max_pool);
    } else if (t == "AveragePool") {
      pool(c, op::avg_pool);
    } else if (t == "GlobalAveragePool") {
      output(c, nhwc(op::global_avg_pool, c, {}, a));
    } else if (t == "Concat") {
      if (!attr(c, "axis")) fail(c, "needs an axis");
      a.axis = static_cast<int>(attr_i(c, "axis", 0));
      bool all_const = true;
      for (size_t k = 0; k < c.in.size(); ++k) all_const = input(c, k).is_const && all_const;
      if (all_const) { // shape arithmetic: evaluated here, see shape_op()
        std::vector<const tensor_data*> parts;
        for (int v : c.in) parts.push_back(&g_.values[v].data);
        try {
          output(c, constant(c, "", concat_constants(parts, a.axis)));
        } catch (const model_error& e) {
          fail(c, e.what());
        }
        return;
      }
      int y = add(op::concat, c, "", c.in, a);
      same_rank(y);
      output(c, y);
    } else if (t == "Reshape") {
      input(c, 0);
      input(c, 1);
      a.copy_zero_dims = attr_i(c, "allowzero", 0) == 0;
      int y = add(op::reshape, c, "", {c.in[0], c.in[1]}, a); // the shape may need constant folding first
      const auto& s = g_.values[c.in[1]];
      set_rank(y, s.is_const ? static_cast<int>(numel(s.shape)) : -1);
      output(c, y);
    } else if (t == "Flatten") {
      input(c, 0);
      auto axis = attr_i(c, "axis", 1);
      if (axis != 0 && axis != 1) fail(c, "only axis 0 or 1 is supported");
      tensor_data s;
      s.type = dtype::i64;
      s.shape = {2};
      s.i = {axis == 0 ? 1 : 0, -1};
      a.copy_zero_dims = true;
      int y = add(op::reshape, c, "", {c.in[0], constant(c, "/shape", std::move(s))}, a);
      set_rank(y, 2);
      output(c, y);
    } else if (t == "Transpose") {
      input(c, 0);
      auto perm = attr_ints(c, "perm");
      if (perm.empty()) { // default: reverse the axes
        int r = rank(c.in[0]);
        if (r < 0) fail(c, "needs a perm (the input's rank is not known at import)");
        for (int k = r - 1; k >= 0; --k) perm.push_back(k);
      }
      output(c, transpose(c, c.in[0], perm, ""));
    } else if (t == "Softmax") {
      input(c, 0);
      int r = rank(c.in[0]);
      int64_t axis = attr_i(c, "axis", opset_ >= 13 ? -1 : 1);
      if (axis < 0 && r >= 0) axis += r;
      bool last = axis == -1 || (r >= 0 && axis == r - 1);
      if (last) {
        int y = add(op::softmax, c, "", {c.in[0]});
        same_rank(y);
        output(c, y);
      } else if (opset_ >= 13 && r >= 0 && axis >= 0 && axis < r) {
        // Softmax over one axis: swap it to the end and back.
        std::vector<int64_t> perm;
        for (int k = 0; k < r; ++k) perm.push_back(k);
        std::swap(perm[static_cast<size_t>(axis)], perm.back());
        int x = transpose(c, c.in[0], perm, "/to_last");
        int y = add(op::softmax, c, "/last", {x});
        set_rank(y, r);
        output(c, transpose(c, y, perm, ""));
      } else {
        fail(c, "axis " + std::to_string(axis) + " is not supported (the last axis, or any axis from opset 13)");
      }
    } else if (t == "Resize") {
      resize(c);
    } else if (t == "Split") {
      input(c, 0);
      a.axis = static_cast<int>(attr_i(c, "axis", 0));
      if (opset_ >= 13 && has_input(c, 1))
        a.ints = const_ints(c, 1, "split");
      else
        a.ints = attr_ints(c, "split");
      int outs = c.n.output_size();
      if (a.ints.empty()) a.ints.assign(static_cast<size_t>(outs), -1); // equal parts, set by shape inference
      if (static_cast<int>(a.ints.size()) != outs) fail(c, "split sizes do not match the outputs");
      int id = g_.add_node(op::split, c.name, {c.in[0]}, a, outs, t);
      for (int k = 0; k < outs; ++k) {
        int v = g_.nodes[id].out[k];
        same_rank(v);
        output(c, v, static_cast<size_t>(k));
      }
    } else if (t == "Identity" || t == "Dropout") {
      input(c, 0);
      if (t == "Dropout" && c.n.output_size() > 1 && !c.n.output(1).empty())
        fail(c, "the mask output is not supported");
      int y = add(op::identity, c, "", {c.in[0]});
      same_rank(y);
      output(c, y);
    } else if (t == "Constant") {
      output(c, constant(c, "", constant_value(c)));
    } else if (t == "Shape" || t == "Gather" || t == "Unsqueeze" || t == "Squeeze" || t == "Cast" || t == "Floor"
               || t == "Ceil") {
      shape_op(c);
    } else if (t == "Upsample") {
      fail(c, "Upsample is deprecated since opset 10: export with Resize (opset 11 or later)");
    } else {
      throw model_error("unsupported op '" + t + "' at node '" + c.name + "'");
    }
  }

  tensor_data constant_value(const ctx& c) {
    if (auto v = attr(c, "value")) return load_tensor(v->t(), dir_);
    tensor_data d;
    if (auto v = attr(c, "value_float")) {
      d.f = {v->f()};
    } else if (auto v = attr(c, "value_floats")) {
      d.f.assign(v->floats().begin(), v->floats().end());
      d.shape = {static_cast<int64_t>(d.f.size())};
    } else if (auto v = attr(c, "value_int")) {
      d.type = dtype::i64;
      d.i = {v->i()};
    } else if (auto v = attr(c, "value_ints")) {
      d.type = dtype::i64;
      d.i.assign(v->ints().begin(), v->ints().end());
      d.shape = {static_cast<int64_t>(d.i.size())};
    } else {
      fail(c, "needs a value, value_float(s) or value_int(s)");
    }
    return d;
  }

  /// Shape arithmetic (the Shape -> Gather -> Unsqueeze -> Concat chains
  /// exporters write): on constants evaluated here; on a computed tensor a
  /// shape_fn node that compile folds once the input size is set.
  void shape_op(const ctx& c) {
    const std::string& t = c.n.op_type();
    const auto& x = input(c, 0);
    attrs a;
    const tensor_data* indices = nullptr;
    int r = rank(c.in[0]), out_rank = -1;
    if (t == "Shape") {
      auto start = attr(c, "start"), end = attr(c, "end");
      if (start || end) a.ints = {start ? start->i() : 0, end ? end->i() : std::numeric_limits<int64_t>::max()};
      if (r >= 0 && !start && !end) out_rank = 1;
    } else if (t == "Gather") {
      a.axis = static_cast<int>(attr_i(c, "axis", 0));
      indices = &const_input(c, 1, "indices");
      if (r >= 0) out_rank = r - 1 + static_cast<int>(indices->shape.size());
    } else if (t == "Unsqueeze" || t == "Squeeze") {
      a.ints = opset_ >= 13 && has_input(c, 1) ? const_ints(c, 1, "axes") : attr_ints(c, "axes");
      if (r >= 0 && (t == "Unsqueeze" || !a.ints.empty()))
        out_rank = r + (t == "Unsqueeze" ? 1 : -1) * static_cast<int>(a.ints.size());
    } else if (t == "Cast") {
      a.axis = static_cast<int>(attr_i(c, "to", 0));
      out_rank = r;
    } else { // Floor, Ceil
      out_rank = r;
    }
    if (x.is_const) {
      try {
        output(c, constant(c, "", eval_shape_op(t, x.data, indices, a)));
      } catch (const model_error& e) {
        fail(c, e.what());
      }
      return;
    }
    if (t == "Cast" && (a.axis == t_float || a.axis == t_double || a.axis == t_float16)) {
      // A float tensor stays float (the engine computes in float32).
      int y = add(op::identity, c, "", {c.in[0]});
      set_rank(y, r);
      output(c, y);
      return;
    }
    std::vector<int> in{c.in[0]};
    if (t == "Gather") in.push_back(c.in[1]);
    int y = add(op::shape_fn, c, "", in, a);
    set_rank(y, out_rank);
    output(c, y);
  }

  void resize(const ctx& c) {
    input(c, 0);
    auto mode = attr_s(c, "mode", "nearest");
    auto ctm = attr_s(c, "coordinate_transformation_mode", "half_pixel");
    if (attr_i(c, "antialias", 0) != 0) fail(c, "antialias is not supported");
    if (attr_ints(c, "axes").size()) fail(c, "the axes attribute is not supported");
    // The target: scales (input 2) unless absent or empty, else sizes (input
    // 3). A constant is read here; one computed in the graph (exports that
    // take Shape -> Gather -> Mul -> Concat of the input) stays an input of
    // the node until compile knows the shapes (fold_constants).
    size_t k = 3;
    if (has_input(c, 2) && (!input(c, 2).is_const || numel(input(c, 2).shape) > 0))
      k = 2;
    else if (!has_input(c, 3))
      fail(c, "needs scales or sizes");
    const bool is_scales = k == 2;
    const value& target = input(c, k);
    attrs a;
    a.axis = static_cast<int>(k); // which input a computed target is (set_resize_target)
    op kind = op::upsample;
    if (mode == "nearest") {
      // Integer factors: each output pixel copies input pixel floor(x / s),
      // which is what asymmetric+floor and the half-pixel modes with rounding
      // give for integer scales.
      auto nm = attr_s(c, "nearest_mode", "round_prefer_floor");
      bool exact = (ctm == "asymmetric" && nm == "floor")
        || ((ctm == "half_pixel" || ctm == "pytorch_half_pixel") && nm.rfind("round", 0) == 0);
      if (!exact) fail(c, "nearest with " + ctm + " / " + nm + " is not supported");
    } else if (mode == "linear") {
      kind = op::resize_bilinear;
      if (ctm == "half_pixel" || ctm == "pytorch_half_pixel")
        a.half_pixel = true;
      else if (ctm == "align_corners")
        a.align_corners = true;
      else if (ctm != "asymmetric")
        fail(c, "linear with " + ctm + " is not supported");
    } else {
      fail(c, "mode " + mode + " is not supported (nearest, linear)");
    }
    std::vector<int> extra;
    if (target.is_const) {
      try {
        set_resize_target(kind, target.data, is_scales, a);
      } catch (const model_error& e) {
        fail(c, e.what());
      }
    } else {
      extra.push_back(c.in[k]);
    }
    output(c, nhwc(kind, c, extra, a));
  }
};

} // namespace

graph import_onnx(const std::string& path) { return importer(path).run(); }

} // namespace weaver::engine
