// darknet_reference: runs a Darknet network with the real libdarknet (Debian's
// `darknet` package) and dumps every layer's output, so Weaver's own Darknet
// importer/engine can be compared against it layer by layer.
//
// Build (Debian darknet 0.0.0+git20180914.61c9d02e, CPU-only, x86-64):
//   g++ -O2 -std=c++17 -Wall -Wextra tests/reference/darknet_reference.cpp
//       -I/usr/lib/darknet/include -L/usr/lib/darknet -ldarknet
//       -Wl,-rpath,/usr/lib/darknet -lm -lpthread -o darknet_reference
//   (one command line)
// Do NOT define GPU, CUDNN or OPENCV: the library links OpenCV (that only
// matters for its own image I/O) but not CUDA, and only GPU/CUDNN change the
// `layer`/`network` structs. The layout is checked below against sizes and
// offsets read from the library's machine code (set_batch_network,
// get_network_output_layer, network_predict).
//
// Usage:
//   darknet_reference --cfg NET.cfg [--weights NET.weights] --input IN.f32
//                     --out OUTDIR [--width W] [--height H]
//     Parses the cfg, loads the weights (without --weights the network keeps
//     darknet's own random initialisation), sets batch 1, resizes the input
//     to W x H if asked (resize_network), reads IN.f32 (raw little-endian
//     float32, C x H x W planar, exactly c*h*w values, used as given) and runs
//     network_predict. Writes OUTDIR/layer_<i>.f32 (l.outputs float32 values,
//     little-endian, darknet's C,H,W order) for each layer and
//     OUTDIR/layers.json:
//       {"input_w":W,"input_h":H,"input_c":C,"layers":[{"index","type",
//        "out_c","out_h","out_w","outputs","in_c","in_h","in_w",
//        "activation","file","nonfinite","min","max"}, ...]}
//     "type" is the LAYER_TYPE enumerator name (CONVOLUTIONAL, MAXPOOL, ...).
//     out_c/out_h/out_w are darknet's, except for REGION/YOLO/ISEG, whose
//     out_h/out_w resize_network leaves at the cfg size: there they are c/h/w
//     (output shape = input shape); layers that leave out_* at 0 (SOFTMAX)
//     get c/h/w if c*h*w == outputs, else outputs x 1 x 1. in_* are the
//     layer's c/h/w; min/max skip non-finite values (null if none is finite).
//     REGION output: per anchor, x,y and objectness logistic, w,h raw, classes
//     softmax; YOLO: x,y, objectness and classes logistic, w,h raw (both keep
//     the conv layout: channel = anchor*(coords+1+classes) + entry).
//   darknet_reference --cfg NET.cfg --write-random-weights FILE [--seed N]
//     Fills the weights of every CONVOLUTIONAL, DECONVOLUTIONAL, CONNECTED
//     and BATCHNORM layer with deterministic pseudo-random values (splitmix64
//     of the seed, same on every platform) and writes them with darknet's own
//     save_weights, then reads the file back and checks every float against
//     the order documented below. Values:
//       biases, rolling_mean        uniform [-0.1, 0.1]
//       scales (batch-norm gamma)   uniform [ 0.5, 1.5]
//       rolling_variance            uniform [ 0.5, 1.5]
//       weights                     uniform [-a, a], a = min(0.1, sqrt(3/fan_in))
//                                   (variance <= 1/fan_in, so activations stay
//                                   O(1) even in deep nets)
// Exit status: 0 on success, 1 on usage/input errors, 2 if libdarknet calls
// exit() itself (it uses exit(0) for an unreadable file, so this is caught);
// its error() asserts, so cfg errors may also end in SIGABRT (status 134).
//
// Weights file format, as written by this libdarknet's save_weights and
// checked byte for byte by --write-random-weights (all little-endian):
//   header (20 bytes):
//     int32  major     = 0
//     int32  minor     = 2
//     int32  revision  = 0
//     size_t seen      (8 bytes; images seen in training, 0 here)
//   When reading, load_weights takes `seen` as 8 bytes when
//   major*10+minor >= 2 and major < 1000 and minor < 1000, otherwise as a
//   4-byte int (older files: 16-byte header); if major > 1000 or minor > 1000
//   CONNECTED weights are stored transposed.
//   Then, for each layer in cfg order, only layers that carry weights, float32:
//     CONVOLUTIONAL / DECONVOLUTIONAL:
//       biases[n], and if batch_normalize: scales[n], rolling_mean[n],
//       rolling_variance[n]; then weights[n * c/groups * size * size]
//       (filter-major: [n][c][ky][kx]). Checked numerically on a tiny net:
//       inference batch norm is (x - mean) / (sqrt(var) + 1e-6) * scale + bias
//       (bias added after), pad=1 means padding size/2, leaky slope 0.1.
//     CONNECTED: biases[outputs], weights[outputs*inputs], and if
//       batch_normalize: scales, rolling_mean, rolling_variance [outputs]
//     BATCHNORM: scales[c], rolling_mean[c], rolling_variance[c]
//   No per-layer header, no padding, no trailer. File size arithmetic:
//     yolov2-tiny.cfg: 20 + 4 * 11,237,145 = 44,948,600 bytes
//     yolov3-tiny.cfg: 20 + 4 *  8,858,734 = 35,434,956 bytes
//   (the sizes of the files this program writes for those cfgs).

#include <darknet.h> // has its own extern "C" guard

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// ---- struct layout check (Debian darknet 0.0.0+git20180914, CPU build) ----
// sizeof(layer): stride of the loop in set_batch_network (0x4a0);
// offsetof(layer, batch): store in that loop (0x48);
// sizeof(network): 0x22 quadwords copied by network_predict;
// offsetof(network, layers/output/input/train): 0x20/0x28/0xd8/0xf8.
#ifndef DARKNET_REFERENCE_SKIP_LAYOUT_CHECK
static_assert(sizeof(layer) == 0x4a0, "darknet.h layer struct does not match libdarknet (GPU/CUDNN defined?)");
static_assert(offsetof(layer, batch) == 0x48, "darknet.h layer struct does not match libdarknet");
static_assert(sizeof(network) == 0x110, "darknet.h network struct does not match libdarknet");
static_assert(offsetof(network, layers) == 0x20, "darknet.h network struct does not match libdarknet");
static_assert(offsetof(network, output) == 0x28, "darknet.h network struct does not match libdarknet");
static_assert(offsetof(network, input) == 0xd8, "darknet.h network struct does not match libdarknet");
static_assert(offsetof(network, train) == 0xf8, "darknet.h network struct does not match libdarknet");
#endif

// libdarknet calls exit() itself on some errors (exit(0) for a file it cannot
// open). This handler turns any exit that happens before we are done into a
// failure status.
bool g_finished = false;

void exit_guard() {
  if (!g_finished) {
    std::fflush(stdout);
    std::fprintf(stderr, "darknet_reference: error: libdarknet ended the program early (see its message above)\n");
    std::fflush(stderr);
    std::_Exit(2);
  }
}

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& msg) { throw std::runtime_error(msg); }

const char* layer_type_name(LAYER_TYPE t) {
  switch (t) {
    case CONVOLUTIONAL:
      return "CONVOLUTIONAL";
    case DECONVOLUTIONAL:
      return "DECONVOLUTIONAL";
    case CONNECTED:
      return "CONNECTED";
    case MAXPOOL:
      return "MAXPOOL";
    case SOFTMAX:
      return "SOFTMAX";
    case DETECTION:
      return "DETECTION";
    case DROPOUT:
      return "DROPOUT";
    case CROP:
      return "CROP";
    case ROUTE:
      return "ROUTE";
    case COST:
      return "COST";
    case NORMALIZATION:
      return "NORMALIZATION";
    case AVGPOOL:
      return "AVGPOOL";
    case LOCAL:
      return "LOCAL";
    case SHORTCUT:
      return "SHORTCUT";
    case ACTIVE:
      return "ACTIVE";
    case RNN:
      return "RNN";
    case GRU:
      return "GRU";
    case LSTM:
      return "LSTM";
    case CRNN:
      return "CRNN";
    case BATCHNORM:
      return "BATCHNORM";
    case NETWORK:
      return "NETWORK";
    case XNOR:
      return "XNOR";
    case REGION:
      return "REGION";
    case YOLO:
      return "YOLO";
    case ISEG:
      return "ISEG";
    case REORG:
      return "REORG";
    case UPSAMPLE:
      return "UPSAMPLE";
    case LOGXENT:
      return "LOGXENT";
    case L2NORM:
      return "L2NORM";
    case BLANK:
      return "BLANK";
  }
  return "UNKNOWN";
}

const char* activation_name(ACTIVATION a) {
  switch (a) {
    case LOGISTIC:
      return "logistic";
    case RELU:
      return "relu";
    case RELIE:
      return "relie";
    case LINEAR:
      return "linear";
    case RAMP:
      return "ramp";
    case TANH:
      return "tanh";
    case PLSE:
      return "plse";
    case LEAKY:
      return "leaky";
    case ELU:
      return "elu";
    case LOGGY:
      return "loggy";
    case STAIR:
      return "stair";
    case HARDTAN:
      return "hardtan";
    case LHTAN:
      return "lhtan";
    case SELU:
      return "selu";
  }
  return "unknown";
}

// Layer types whose output has a meaningful activation field.
bool has_activation(LAYER_TYPE t) {
  return t == CONVOLUTIONAL || t == DECONVOLUTIONAL || t == CONNECTED || t == SHORTCUT || t == ACTIVE || t == LOCAL;
}

// ---- little-endian float I/O ----
bool host_is_little_endian() {
  const std::uint32_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

std::uint32_t bswap32(std::uint32_t v) { return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24); }

void to_from_le(std::vector<float>& v) {
  if (host_is_little_endian()) return;
  for (float& f : v) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    u = bswap32(u);
    std::memcpy(&f, &u, 4);
  }
}

std::uintmax_t file_size_or_fail(const std::string& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(std::string(what) + " '" + path + "' is not a readable file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(std::string(what) + " '" + path + "' cannot be opened: " + std::strerror(errno));
  std::fclose(f);
  auto sz = std::filesystem::file_size(path, ec);
  if (ec) fail(std::string(what) + " '" + path + "': " + ec.message());
  return sz;
}

std::vector<float> read_f32_file(const std::string& path, std::size_t expected_count) {
  auto sz = file_size_or_fail(path, "input file");
  if (sz != expected_count * sizeof(float)) {
    std::ostringstream os;
    os << "input file '" << path << "' has " << sz << " bytes, expected " << expected_count * sizeof(float)
       << " (= " << expected_count << " float32 values, the network input c*h*w)";
    fail(os.str());
  }
  std::vector<float> v(expected_count);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(sz)))
    fail("cannot read input file '" + path + "'");
  to_from_le(v);
  return v;
}

void write_f32_file(const std::filesystem::path& path, const float* data, std::size_t count) {
  std::vector<float> v(data, data + count);
  to_from_le(v);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("cannot create '" + path.string() + "'");
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(count * sizeof(float)));
  if (!out) fail("cannot write '" + path.string() + "'");
}

// ---- deterministic pseudo-random numbers (splitmix64) ----
struct splitmix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi), 24-bit resolution, exact in float.
  float uniform(float lo, float hi) {
    const float u = static_cast<float>(next() >> 40) * (1.0f / 16777216.0f);
    return lo + (hi - lo) * u;
  }
  void fill(float* p, std::size_t n, float lo, float hi) {
    if (!p && n) fail("internal: layer array is null");
    for (std::size_t i = 0; i < n; ++i) p[i] = uniform(lo, hi);
  }
};

// ---- weights file layout (see the comment at the top) ----
struct weights_block {
  const float* data;
  std::size_t count;
  const char* name;
};

std::size_t conv_weight_count(const layer& l) {
  // make_convolutional_layer: nweights = c/groups * n * size * size;
  // deconvolutional layers are stored with c * n * size * size.
  if (l.type == DECONVOLUTIONAL) return static_cast<std::size_t>(l.c) * l.n * l.size * l.size;
  return static_cast<std::size_t>(l.nweights);
}

// The blocks of one layer in file order; empty for layers without weights.
// Sets *unsupported for weight-carrying layer types this program does not
// model (RNN, GRU, LSTM, CRNN, LOCAL).
std::vector<weights_block> layer_blocks(const layer& l, bool* unsupported) {
  std::vector<weights_block> b;
  const std::size_t n = static_cast<std::size_t>(l.n);
  switch (l.type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL:
      b.push_back({l.biases, n, "biases"});
      if (l.batch_normalize) {
        b.push_back({l.scales, n, "scales"});
        b.push_back({l.rolling_mean, n, "rolling_mean"});
        b.push_back({l.rolling_variance, n, "rolling_variance"});
      }
      b.push_back({l.weights, conv_weight_count(l), "weights"});
      break;
    case CONNECTED: {
      const std::size_t o = static_cast<std::size_t>(l.outputs);
      b.push_back({l.biases, o, "biases"});
      b.push_back({l.weights, o * static_cast<std::size_t>(l.inputs), "weights"});
      if (l.batch_normalize) {
        b.push_back({l.scales, o, "scales"});
        b.push_back({l.rolling_mean, o, "rolling_mean"});
        b.push_back({l.rolling_variance, o, "rolling_variance"});
      }
      break;
    }
    case BATCHNORM: {
      const std::size_t c = static_cast<std::size_t>(l.c);
      b.push_back({l.scales, c, "scales"});
      b.push_back({l.rolling_mean, c, "rolling_mean"});
      b.push_back({l.rolling_variance, c, "rolling_variance"});
      break;
    }
    case RNN:
    case GRU:
    case LSTM:
    case CRNN:
    case LOCAL:
      if (unsupported) *unsupported = true;
      break;
    default:
      break;
  }
  return b;
}

struct weights_header {
  std::int32_t major = 0, minor = 0, revision = 0;
  std::uint64_t seen = 0;
  std::size_t bytes = 0; // 16 or 20
};

weights_header read_weights_header(std::FILE* f, const std::string& path) {
  weights_header h;
  std::int32_t v[3];
  if (std::fread(v, 4, 3, f) != 3) fail("weights file '" + path + "' is too short for a header");
  if (!host_is_little_endian())
    for (auto& x : v) x = static_cast<std::int32_t>(bswap32(static_cast<std::uint32_t>(x)));
  h.major = v[0];
  h.minor = v[1];
  h.revision = v[2];
  // Same rule as load_weights_upto.
  if (h.major * 10 + h.minor >= 2 && h.major < 1000 && h.minor < 1000) {
    unsigned char s[8];
    if (std::fread(s, 1, 8, f) != 8) fail("weights file '" + path + "' is too short for a header");
    for (int i = 7; i >= 0; --i) h.seen = (h.seen << 8) | s[i];
    h.bytes = 20;
  } else {
    unsigned char s[4];
    if (std::fread(s, 1, 4, f) != 4) fail("weights file '" + path + "' is too short for a header");
    for (int i = 3; i >= 0; --i) h.seen = (h.seen << 8) | s[i];
    h.bytes = 16;
  }
  return h;
}

// libdarknet's load_weights does not check fread results: a short file would
// silently leave parts of the network at its random initialisation, and a
// long one is silently truncated. Require the exact size first.
void check_weights_file(const network* net, const std::string& path) {
  const auto size = file_size_or_fail(path, "weights file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail("weights file '" + path + "' cannot be opened");
  weights_header h;
  try {
    h = read_weights_header(f, path);
  } catch (...) {
    std::fclose(f);
    throw;
  }
  std::fclose(f);
  bool unsupported = false;
  std::size_t floats = 0;
  for (int i = 0; i < net->n; ++i) {
    const layer& l = net->layers[i];
    if (l.dontload) continue;
    for (const auto& b : layer_blocks(l, &unsupported)) floats += b.count;
  }
  std::fprintf(stderr, "darknet_reference: weights header major=%d minor=%d revision=%d seen=%llu (%zu bytes)\n",
               h.major, h.minor, h.revision, static_cast<unsigned long long>(h.seen), h.bytes);
  if (unsupported) {
    std::fprintf(stderr,
                 "darknet_reference: warning: network has RNN/GRU/LSTM/CRNN/LOCAL layers; weights file "
                 "size not checked\n");
    return;
  }
  const std::uintmax_t expected = h.bytes + floats * sizeof(float);
  if (size < expected) {
    std::ostringstream os;
    os << "weights file '" << path << "' has " << size << " bytes but the network needs " << expected << " (" << h.bytes
       << "-byte header + " << floats << " float32); wrong cfg for these weights?";
    fail(os.str());
  }
  if (size > expected) {
    std::ostringstream os;
    os << "weights file '" << path << "' has " << size << " bytes but the network uses only " << expected << " ("
       << h.bytes << "-byte header + " << floats << " float32); wrong cfg for these weights?";
    fail(os.str());
  }
}

// ---- command line ----
struct options {
  std::string cfg, weights, input, out, random_weights;
  int width = 0, height = 0;
  std::uint64_t seed = 1;
  bool seed_given = false;
};

const char* const k_usage =
  "usage:\n"
  "  darknet_reference --cfg NET.cfg [--weights NET.weights] --input IN.f32 --out OUTDIR\n"
  "                    [--width W] [--height H]\n"
  "  darknet_reference --cfg NET.cfg --write-random-weights FILE [--seed N]\n";

int parse_positive_int(const std::string& flag, const std::string& v) {
  try {
    std::size_t pos = 0;
    long x = std::stol(v, &pos);
    if (pos != v.size() || x <= 0 || x > 1000000) throw std::invalid_argument(v);
    return static_cast<int>(x);
  } catch (const std::exception&) {
    throw usage_error(flag + " needs a positive integer, got '" + v + "'");
  }
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(k_usage, stdout);
      g_finished = true;
      std::exit(0);
    }
    if (i + 1 >= argc) throw usage_error("missing value after " + a);
    const std::string v = argv[++i];
    if (a == "--cfg")
      o.cfg = v;
    else if (a == "--weights")
      o.weights = v;
    else if (a == "--input")
      o.input = v;
    else if (a == "--out")
      o.out = v;
    else if (a == "--width")
      o.width = parse_positive_int(a, v);
    else if (a == "--height")
      o.height = parse_positive_int(a, v);
    else if (a == "--write-random-weights")
      o.random_weights = v;
    else if (a == "--seed") {
      try {
        std::size_t pos = 0;
        o.seed = std::stoull(v, &pos);
        if (pos != v.size()) throw std::invalid_argument(v);
      } catch (const std::exception&) {
        throw usage_error("--seed needs a non-negative integer, got '" + v + "'");
      }
      o.seed_given = true;
    } else
      throw usage_error("unknown option " + a);
  }
  if (o.cfg.empty()) throw usage_error("--cfg is required");
  if (!o.random_weights.empty()) {
    if (!o.input.empty() || !o.out.empty() || !o.weights.empty() || o.width || o.height)
      throw usage_error("--write-random-weights takes only --cfg and --seed");
  } else {
    if (o.seed_given) throw usage_error("--seed is only used with --write-random-weights");
    if (o.input.empty()) throw usage_error("--input is required");
    if (o.out.empty()) throw usage_error("--out is required");
  }
  return o;
}

network* parse_cfg(const std::string& cfg) {
  file_size_or_fail(cfg, "cfg file");
  std::vector<char> path(cfg.begin(), cfg.end());
  path.push_back('\0');
  network* net = parse_network_cfg(path.data());
  if (!net || net->n <= 0 || !net->layers) fail("libdarknet could not parse '" + cfg + "'");
  return net;
}

// Sanity checks that would fail if the struct layout did not match.
void check_network_shape(const network* net) {
  // Non-image networks (rnn.cfg, ...) have w = h = c = 0 and only `inputs`.
  const bool image_input = net->w > 0 || net->h > 0 || net->c > 0;
  if (net->inputs <= 0 || (image_input && net->inputs != net->w * net->h * net->c))
    fail("network input shape looks wrong (w=" + std::to_string(net->w) + " h=" + std::to_string(net->h)
         + " c=" + std::to_string(net->c) + " inputs=" + std::to_string(net->inputs) + ")");
  for (int i = 0; i < net->n; ++i) {
    const layer& l = net->layers[i];
    if (l.outputs <= 0 || l.out_c < 0 || l.out_h < 0 || l.out_w < 0 || l.batch != net->batch
        || static_cast<int>(l.type) < CONVOLUTIONAL || static_cast<int>(l.type) > BLANK)
      fail("layer " + std::to_string(i) + " (" + layer_type_name(l.type)
           + ") has an invalid shape: outputs=" + std::to_string(l.outputs) + " out c/h/w=" + std::to_string(l.out_c)
           + "/" + std::to_string(l.out_h) + "/" + std::to_string(l.out_w) + " batch=" + std::to_string(l.batch)
           + "; the cfg or the input size does not work for this network (e.g. route inputs of different sizes)");
  }
  if (image_input && net->layers[0].inputs != net->inputs) fail("layer 0 input does not match the network input");
}

// resize_network in this libdarknet handles CONVOLUTIONAL, CROP, MAXPOOL,
// REGION, YOLO, ROUTE, SHORTCUT, UPSAMPLE, REORG, AVGPOOL, NORMALIZATION and
// COST, stops after the first AVGPOOL, and calls error() (assert/abort) for
// any other type. resize_shortcut_layer asserts that both inputs have the
// same size, so downsampling shortcuts (ResNet cfgs) cannot be resized.
// Report those cases clearly instead of aborting.
void check_resizable(const network* net) {
  const std::string hint = "; set width/height in a copy of the cfg instead of --width/--height";
  for (int i = 0; i < net->n; ++i) {
    const layer& l = net->layers[i];
    switch (l.type) {
      case CONVOLUTIONAL:
      case CROP:
      case MAXPOOL:
      case REGION:
      case YOLO:
      case ROUTE:
      case UPSAMPLE:
      case REORG:
      case NORMALIZATION:
      case COST:
        break;
      case AVGPOOL:
        return;
      case SHORTCUT:
        if (l.w != l.out_w || l.h != l.out_h)
          fail("libdarknet cannot resize layer " + std::to_string(i) + " (SHORTCUT between layers of different sizes)"
               + hint);
        break;
      default:
        fail("libdarknet cannot resize layer " + std::to_string(i) + " (" + layer_type_name(l.type) + ")" + hint);
    }
  }
}

// ---- mode: write random weights ----
int write_random_weights(const options& o) {
  network* net = parse_cfg(o.cfg);
  check_network_shape(net);
  splitmix64 rng{o.seed};
  bool unsupported = false;
  std::size_t floats = 0;
  for (int i = 0; i < net->n; ++i) {
    layer& l = net->layers[i];
    if (l.type == CONVOLUTIONAL || l.type == DECONVOLUTIONAL || l.type == CONNECTED) {
      const std::size_t nout = static_cast<std::size_t>(l.type == CONNECTED ? l.outputs : l.n);
      const std::size_t nw = l.type == CONNECTED ? nout * static_cast<std::size_t>(l.inputs) : conv_weight_count(l);
      const double fan_in = static_cast<double>(nw) / static_cast<double>(nout);
      const float a = static_cast<float>(std::min(0.1, std::sqrt(3.0 / std::max(1.0, fan_in))));
      rng.fill(l.biases, nout, -0.1f, 0.1f);
      if (l.batch_normalize) {
        rng.fill(l.scales, nout, 0.5f, 1.5f);
        rng.fill(l.rolling_mean, nout, -0.1f, 0.1f);
        rng.fill(l.rolling_variance, nout, 0.5f, 1.5f);
      }
      rng.fill(l.weights, nw, -a, a);
    } else if (l.type == BATCHNORM) {
      const std::size_t c = static_cast<std::size_t>(l.c);
      rng.fill(l.scales, c, 0.5f, 1.5f);
      rng.fill(l.rolling_mean, c, -0.1f, 0.1f);
      rng.fill(l.rolling_variance, c, 0.5f, 1.5f);
    }
    for (const auto& b : layer_blocks(l, &unsupported)) floats += b.count;
  }
  if (unsupported)
    std::fprintf(stderr,
                 "darknet_reference: warning: RNN/GRU/LSTM/CRNN/LOCAL layers keep darknet's own "
                 "initialisation and are not verified\n");

  { // fail with our own message rather than darknet's exit(0)
    std::FILE* f = std::fopen(o.random_weights.c_str(), "wb");
    if (!f) fail("cannot create '" + o.random_weights + "': " + std::strerror(errno));
    std::fclose(f);
  }
  std::vector<char> path(o.random_weights.begin(), o.random_weights.end());
  path.push_back('\0');
  save_weights(net, path.data());

  // Read the file back and check it against the documented format.
  std::FILE* f = std::fopen(o.random_weights.c_str(), "rb");
  if (!f) fail("cannot reopen '" + o.random_weights + "'");
  const weights_header h = read_weights_header(f, o.random_weights);
  std::vector<float> buf;
  for (int i = 0; i < net->n && !unsupported; ++i) {
    for (const auto& b : layer_blocks(net->layers[i], nullptr)) {
      buf.resize(b.count);
      if (std::fread(buf.data(), sizeof(float), b.count, f) != b.count) {
        std::fclose(f);
        fail("written weights file is shorter than expected at layer " + std::to_string(i) + " " + b.name);
      }
      to_from_le(buf);
      if (std::memcmp(buf.data(), b.data, b.count * sizeof(float)) != 0) {
        std::fclose(f);
        fail("written weights file differs from the documented layout at layer " + std::to_string(i) + " " + b.name);
      }
    }
  }
  const bool at_end = unsupported || std::fgetc(f) == EOF;
  std::fclose(f);
  if (!at_end) fail("written weights file is longer than the documented layout");
  const auto size = std::filesystem::file_size(o.random_weights);
  std::printf("wrote %s: %ju bytes = %zu-byte header (major=%d minor=%d revision=%d seen=%llu) + %zu float32\n",
              o.random_weights.c_str(), static_cast<std::uintmax_t>(size), h.bytes, h.major, h.minor, h.revision,
              static_cast<unsigned long long>(h.seen), floats);
  free_network(net);
  return 0;
}

// ---- mode: run the network and dump layer outputs ----
std::string json_escape(const std::string& s) {
  std::string r;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      r += '\\';
      r += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      r += buf;
    } else {
      r += ch;
    }
  }
  return r;
}

std::string json_float(float v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

int run_network(const options& o) {
  network* net = parse_cfg(o.cfg);
  if (!o.weights.empty()) {
    check_weights_file(net, o.weights);
    std::vector<char> path(o.weights.begin(), o.weights.end());
    path.push_back('\0');
    load_weights(net, path.data());
  } else {
    std::fprintf(stderr, "darknet_reference: warning: no --weights, using darknet's random initialisation\n");
  }
  set_batch_network(net, 1);
  check_network_shape(net);
  if (o.width || o.height) {
    const int w = o.width ? o.width : net->w;
    const int h = o.height ? o.height : net->h;
    if (w != net->w || h != net->h) {
      check_resizable(net);
      resize_network(net, w, h);
      check_network_shape(net);
      if (net->w != w || net->h != h) fail("resize_network did not give the requested input size");
    }
  }

  const std::size_t n_in = static_cast<std::size_t>(net->inputs);
  std::vector<float> input = read_f32_file(o.input, n_in);

  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec || !std::filesystem::is_directory(o.out)) fail("cannot create output directory '" + o.out + "'");

  const auto t0 = std::chrono::steady_clock::now();
  network_predict(net, input.data());
  const auto t1 = std::chrono::steady_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();

  std::ostringstream js;
  js << "{\n  \"cfg\": \"" << json_escape(o.cfg) << "\",\n  \"input_w\": " << net->w << ",\n  \"input_h\": " << net->h
     << ",\n  \"input_c\": " << net->c << ",\n  \"layers\": [\n";
  std::printf("input %d x %d x %d (c x h x w), %d layers, network_predict %.1f ms\n", net->c, net->h, net->w, net->n,
              ms);
  std::size_t total_nonfinite = 0;
  for (int i = 0; i < net->n; ++i) {
    const layer& l = net->layers[i];
    const std::size_t n = static_cast<std::size_t>(l.outputs);
    std::string file = "layer_" + std::to_string(i) + ".f32";
    std::size_t nonfinite = 0;
    float mn = std::numeric_limits<float>::infinity(), mx = -mn;
    if (l.output) {
      for (std::size_t k = 0; k < n; ++k) {
        const float v = l.output[k];
        if (!std::isfinite(v)) {
          ++nonfinite;
          continue;
        }
        mn = std::min(mn, v);
        mx = std::max(mx, v);
      }
      write_f32_file(std::filesystem::path(o.out) / file, l.output, n);
    } else {
      std::fprintf(stderr, "darknet_reference: warning: layer %d has no output buffer\n", i);
      file.clear();
    }
    total_nonfinite += nonfinite;
    // REGION/YOLO/ISEG output has the input's shape, but their resize
    // functions leave out_h/out_w at the cfg size: report c/h/w instead.
    int oc = l.out_c, oh = l.out_h, ow = l.out_w;
    if (l.type == REGION || l.type == YOLO || l.type == ISEG) {
      oc = l.c;
      oh = l.h;
      ow = l.w;
    }
    // Some layers (SOFTMAX, ...) never set out_*: fall back to the input
    // shape when it accounts for every output, else to outputs x 1 x 1.
    if (static_cast<long long>(oc) * oh * ow != l.outputs && oc == 0 && oh == 0 && ow == 0) {
      if (static_cast<long long>(l.c) * l.h * l.w == l.outputs) {
        oc = l.c;
        oh = l.h;
        ow = l.w;
      } else {
        oc = l.outputs;
        oh = ow = 1;
      }
    }
    if (static_cast<long long>(oc) * oh * ow != l.outputs)
      std::fprintf(stderr, "darknet_reference: warning: layer %d: out_c*out_h*out_w = %d*%d*%d != outputs %d\n", i, oc,
                   oh, ow, l.outputs);
    js << "    {\"index\": " << i << ", \"type\": \"" << layer_type_name(l.type) << "\", \"out_c\": " << oc
       << ", \"out_h\": " << oh << ", \"out_w\": " << ow << ", \"outputs\": " << l.outputs << ", \"in_c\": " << l.c
       << ", \"in_h\": " << l.h << ", \"in_w\": " << l.w << ", \"activation\": ";
    if (has_activation(l.type))
      js << '"' << activation_name(l.activation) << '"';
    else
      js << "null";
    js << ", \"file\": ";
    if (file.empty())
      js << "null";
    else
      js << '"' << file << '"';
    js << ", \"nonfinite\": " << nonfinite << ", \"min\": " << json_float(mn) << ", \"max\": " << json_float(mx) << "}"
       << (i + 1 < net->n ? "," : "") << "\n";
    std::printf("%3d %-15s %4d x %3d x %3d  outputs %8d  range [%g, %g]%s\n", i, layer_type_name(l.type), oc, oh, ow,
                l.outputs, static_cast<double>(mn), static_cast<double>(mx), nonfinite ? "  NON-FINITE VALUES" : "");
  }
  js << "  ]\n}\n";
  {
    std::ofstream out(std::filesystem::path(o.out) / "layers.json", std::ios::trunc);
    out << js.str();
    if (!out) fail("cannot write layers.json in '" + o.out + "'");
  }
  if (total_nonfinite)
    std::fprintf(stderr, "darknet_reference: warning: %zu non-finite output values\n", total_nonfinite);
  free_network(net);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::atexit(exit_guard);
  int rc = 1;
  try {
    const options o = parse_args(argc, argv);
    rc = o.random_weights.empty() ? run_network(o) : write_random_weights(o);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "darknet_reference: error: %s\n%s", e.what(), k_usage);
    rc = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "darknet_reference: error: %s\n", e.what());
    rc = 1;
  }
  g_finished = true;
  return rc;
}
