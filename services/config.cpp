#include "services/config.hpp"
#include "services/zones_file.hpp"

#include "accel/detect/appearance.hpp"
#include "actors/camera/crop.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "actors/camera/video_source.hpp"
#include "actors/storage/database.hpp"
#include "base/iso8601.hpp"

namespace fs = std::filesystem;

namespace weaver {

const camera_config* config::camera(uint32_t id) const {
  for (auto& c : cameras)
    if (c.id == id) return &c;
  return nullptr;
}

const std::vector<std::string>& known_roles() {
  static const std::vector<std::string> roles{"camera", "detector", "tracker", "reid", "storage", "query", "gateway"};
  return roles;
}

namespace {

// Whether a configured file exists; a path the system cannot even look up
// (too long, say) does not (found by fuzz_config: fs::exists threw).
bool file_exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// Typed access with errors that name the full key.
template <class T>
T get(const YAML::Node& node, const std::string& key, const std::string& path, T fallback) {
  // A key of a list or a scalar: yaml-cpp throws its own error there (found
  // by fuzz_config: "cards: [text]" escaped parse_config).
  if (node.IsDefined() && !node.IsNull() && !node.IsMap())
    throw config_error(path.empty() ? "<root>" : path.substr(0, path.size() - 1), "expected a mapping");
  auto n = node[key];
  if (!n || n.IsNull()) return fallback;
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw config_error(path + key,
                       "expected "
                         + std::string(std::is_same_v<T, bool>            ? "true or false"
                                         : std::is_same_v<T, std::string> ? "a string"
                                         : std::is_floating_point_v<T>    ? "a number"
                                                                          : "an integer")
                         + ", got '" + YAML::Dump(n) + "'");
  }
}

void check_keys(const YAML::Node& node, const std::string& path, std::initializer_list<const char*> allowed) {
  if (!node.IsMap())
    throw config_error(path.empty() ? "<root>" : path.substr(0, path.size() - 1), "expected a mapping");
  for (auto it = node.begin(); it != node.end(); ++it) {
    auto k = it->first.as<std::string>();
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; }))
      throw config_error(path + k, "unknown key");
  }
}

template <class T>
void require_range(T v, T lo, T hi, const std::string& key) {
  if (!(v >= lo && v <= hi)) { // NaN too: it compares false with everything
    std::ostringstream os;
    os << "must be between " << lo << " and " << hi << ", got " << v;
    throw config_error(key, os.str());
  }
}

// get() and require_range() of the same key: the value, checked.
template <class T>
T get_in_range(const YAML::Node& node, const std::string& key, const std::string& path, T fallback, T lo, T hi) {
  T v = get<T>(node, key, path, fallback);
  require_range(v, lo, hi, path + key);
  return v;
}

// A duration given in seconds, checked against [lo_s, hi_s], in ms.
int64_t get_ms_in_range(const YAML::Node& node, const std::string& key, const std::string& path, int64_t fallback_ms,
                        double lo_s, double hi_s) {
  return static_cast<int64_t>(get_in_range<double>(node, key, path, fallback_ms / 1000.0, lo_s, hi_s) * 1000);
}

// A [width, height] of whole pixels, each 32..8192: one reading for every
// key that takes a picture size, so they all refuse the same way.
std::pair<int, int> get_size(const YAML::Node& in, const std::string& key, const std::string& expected) {
  if (!in.IsSequence() || in.size() != 2) throw config_error(key, "expected " + expected);
  int w = 0, h = 0;
  try {
    w = in[0].as<int>();
    h = in[1].as<int>();
  } catch (const YAML::Exception&) {
    throw config_error(key, "expected " + expected);
  }
  require_range(w, 32, 8192, key);
  require_range(h, 32, 8192, key);
  return {w, h};
}

timestamp_ms get_time(const YAML::Node& node, const std::string& key, const std::string& path, timestamp_ms fallback) {
  auto text = get<std::string>(node, key, path, "");
  if (text.empty()) return fallback;
  auto t = parse_iso8601(text);
  if (!t) throw config_error(path + key, "not an ISO-8601 UTC time: '" + text + "'");
  return *t;
}

std::string resolve_path(const std::string& source, const std::string& base_dir) {
  if (source.rfind("/dev/", 0) == 0 || source.find("://") != std::string::npos || is_remote_source(source))
    return source;
  fs::path p{source};
  if (p.is_relative() && !base_dir.empty()) p = fs::path{base_dir} / p;
  return p.lexically_normal().string();
}

// A list of [x, y] points in camera pixels.
std::vector<point2> parse_points(const YAML::Node& n, const std::string& key) {
  if (!n || !n.IsSequence()) throw config_error(key, "expected a list of [x, y] points");
  std::vector<point2> out;
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsSequence() || n[i].size() != 2) throw config_error(key, "expected [x, y] points");
    try {
      out.push_back({n[i][0].as<float>(), n[i][1].as<float>()});
    } catch (const YAML::Exception&) {
      throw config_error(key, "expected numbers in [x, y]");
    }
  }
  return out;
}

sim_card_options parse_sim(const YAML::Node& n, const std::string& p, const std::string& base_dir) {
  check_keys(n, p,
             {"kind", "name", "capacity", "distribution", "mean_ms", "cv", "batch_speedup", "seed", "results",
              "replay_dir", "memory_mb", "faults", "fpga"});
  sim_card_options s;
  s.capacity = get_in_range<int>(n, "capacity", p, s.capacity, 1, 1024);
  s.distribution = get<std::string>(n, "distribution", p, s.distribution);
  s.mean_ms = get_in_range<double>(n, "mean_ms", p, s.mean_ms, 0.001, 600000.0);
  s.cv = get_in_range<double>(n, "cv", p, s.cv, 0.0, 10.0);
  if (auto b = n["batch_speedup"]) {
    if (!b.IsSequence() || b.size() == 0) throw config_error(p + "batch_speedup", "expected a list of numbers");
    for (size_t i = 0; i < b.size(); ++i) {
      double v;
      try {
        v = b[i].as<double>();
      } catch (const YAML::Exception&) {
        throw config_error(p + "batch_speedup[" + std::to_string(i) + "]", "expected a number");
      }
      if (!(v > 0)) throw config_error(p + "batch_speedup[" + std::to_string(i) + "]", "must be > 0");
      s.batch_speedup.push_back(v);
    }
  }
  s.seed = static_cast<uint64_t>(get<int64_t>(n, "seed", p, 1));
  s.results = get<std::string>(n, "results", p, s.results);
  if (s.results != "delegate" && s.results != "replay" && s.results != "none")
    throw config_error(p + "results", "'" + s.results + "' (known: delegate, replay, none)");
  s.replay_dir = get<std::string>(n, "replay_dir", p, "");
  if (!s.replay_dir.empty()) s.replay_dir = resolve_path(s.replay_dir, base_dir);
  if (s.results == "replay" && s.replay_dir.empty())
    throw config_error(p + "replay_dir", "required when results is replay");
  s.memory_bytes = static_cast<uint64_t>(get<int64_t>(n, "memory_mb", p, 8192)) << 20;
  if (auto f = n["faults"]) {
    std::string q = p + "faults.";
    check_keys(f, q, {"fail_after", "hang_after", "slow_after", "slow_factor", "disappear_after", "recover_after_ms"});
    s.faults.fail_after = get<int64_t>(f, "fail_after", q, -1);
    s.faults.hang_after = get<int64_t>(f, "hang_after", q, -1);
    s.faults.slow_after = get<int64_t>(f, "slow_after", q, -1);
    s.faults.slow_factor = get_in_range<double>(f, "slow_factor", q, 1.0, 0.01, 1000.0);
    s.faults.disappear_after = get<int64_t>(f, "disappear_after", q, -1);
    s.faults.recover_after_ms = get<int64_t>(f, "recover_after_ms", q, -1);
  }
  if (auto f = n["fpga"]) {
    // The weaver_dnn kernel's speed on an Alveo card: the mean from the cycle model.
    const std::string q = p + "fpga.";
    check_keys(f, q, {"card", "pe", "model", "input"});
    if (n["mean_ms"]) throw config_error(q, "mean_ms comes from the cycle model here; give one or the other");
    s.fpga.card = get<std::string>(f, "card", q, "");
    if (s.fpga.card.empty()) throw config_error(q + "card", "required (U50 or U250)");
    s.fpga.pe = get<std::string>(f, "pe", q, s.fpga.pe);
    const auto model = resolve_path(get<std::string>(f, "model", q, ""), base_dir);
    if (model.empty() || !file_exists(model)) throw config_error(q + "model", "no such file: '" + model + "'");
    if (!f["input"]) throw config_error(q + "input", "expected [width, height]");
    const auto [w, h] = get_size(f["input"], q + "input", "[width, height]");
    try {
      s.fpga.layers = hls_cycles::layers_of(model, w, h);
      (void)hls_cycles::card_named(s.fpga.card);
      (void)hls_cycles::parse_array(s.fpga.pe);
    } catch (const std::exception& e) {
      throw config_error(q, e.what());
    }
    s.fpga.network = fs::path(model).filename().string() + " " + std::to_string(w) + "x" + std::to_string(h);
  }
  try {
    sim_model check{s}; // the distribution's own validation
  } catch (const std::invalid_argument& e) {
    throw config_error(p + "distribution", e.what());
  }
  return s;
}

card_config parse_xrt(const YAML::Node& n, const std::string& p, const std::string& base_dir, card_config c) {
  check_keys(n, p, {"kind", "name", "device", "xclbin", "kernel", "batch", "timeout_ms", "emulation"});
  c.device = get<std::string>(n, "device", p, c.device);
  auto x = get<std::string>(n, "xclbin", p, "");
  if (!x.empty()) {
    c.xclbin = resolve_path(x, base_dir);
    if (!file_exists(c.xclbin)) throw config_error(p + "xclbin", "no such file: " + c.xclbin);
  }
  c.kernel = get<std::string>(n, "kernel", p, c.kernel);
  c.batch = get_in_range<int>(n, "batch", p, c.batch, 1, 256);
  c.timeout_ms = get_in_range<int64_t>(n, "timeout_ms", p, c.timeout_ms, 1, 3600000);
  c.emulation = get<std::string>(n, "emulation", p, c.emulation);
  if (!c.emulation.empty() && c.emulation != "noop")
    throw config_error(p + "emulation", "'" + c.emulation + "' (known: noop, or empty for hardware)");
  return c;
}

bool known_role(const std::string& role) {
  auto& known = known_roles();
  return std::find(known.begin(), known.end(), role) != known.end();
}

// "${VAR}" and "${VAR:-default}" in a string value, "$$" for "$".
std::string expand_env(const std::string& value, const std::string& key) {
  if (value.find('$') == std::string::npos) return value;
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '$') {
      out += value[i];
      continue;
    }
    if (i + 1 < value.size() && value[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (i + 1 >= value.size() || value[i + 1] != '{') {
      out += '$';
      continue;
    }
    auto end = value.find('}', i + 2);
    if (end == std::string::npos) throw config_error(key, "unterminated ${ in a value");
    std::string inner = value.substr(i + 2, end - i - 2);
    std::string name = inner, fallback;
    bool has_fallback = false;
    if (auto d = inner.find(":-"); d != std::string::npos) {
      name = inner.substr(0, d);
      fallback = inner.substr(d + 2);
      has_fallback = true;
    }
    bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char ch : name) valid = valid && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    if (!valid) throw config_error(key, "'${" + inner + "}': not an environment variable name");
    const char* v = std::getenv(name.c_str());
    if (v && *v)
      out += v;
    else if (has_fallback)
      out += fallback;
    else
      throw config_error(key, "environment variable " + name + " is not set (named as ${" + name + "})");
    i = end;
  }
  return out;
}

// Expands environment references in every string scalar of the tree.
// Values only: keys and the YAML structure never come from the environment.
void expand_env_tree(YAML::Node node, const std::string& path) {
  if (node.IsScalar()) {
    auto text = node.Scalar();
    auto expanded = expand_env(text, path.empty() ? "<root>" : path);
    if (expanded != text) node = expanded;
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) expand_env_tree(node[i], path + "[" + std::to_string(i) + "]");
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      // YAML allows a list or a mapping as a key ("? [a, b]: 1"); no key of
      // ours is one (found by fuzz_config: it escaped as a yaml-cpp error).
      if (!it->first.IsScalar())
        throw config_error(path.empty() ? "<root>" : path, "a key must be a plain name, not a list or a mapping");
      expand_env_tree(it->second, (path.empty() ? "" : path + ".") + it->first.Scalar());
    }
  }
}

// One entry of `cameras:` at key prefix `p` ("cameras[2].").
camera_config parse_camera(const YAML::Node& n, const std::string& p, timestamp_ms default_start) {
  check_keys(n, p,
             {"id", "name", "zone", "source", "crop", "warp", "fps", "loop", "start_time", "zones", "lines", "rtsp",
              "reconnect"});
  camera_config c;
  auto id = get<int64_t>(n, "id", p, -1);
  if (id < 0) throw config_error(p + "id", "required: a non-negative integer");
  require_range<int64_t>(id, 0, UINT32_MAX, p + "id");
  c.id = static_cast<uint32_t>(id);
  c.name = get<std::string>(n, "name", p, "camera-" + std::to_string(c.id));
  c.zone = get<std::string>(n, "zone", p, "");
  auto src = get<std::string>(n, "source", p, "");
  if (src.empty()) throw config_error(p + "source", "required");
  c.source = src;
  if (auto crop = n["crop"]) {
    if (!crop.IsSequence() || crop.size() != 4)
      throw config_error(p + "crop", "expected [x, y, width, height] in source pixels");
    std::vector<int> r;
    for (auto v : crop) {
      try {
        r.push_back(v.as<int>());
      } catch (const YAML::Exception&) {
        throw config_error(p + "crop", "expected integers, got '" + YAML::Dump(v) + "'");
      }
    }
    if (r[0] < 0 || r[1] < 0 || r[2] <= 0 || r[3] <= 0)
      throw config_error(p + "crop", "x, y must be >= 0 and width, height > 0");
    c.crop = r;
  }
  if (auto w = n["warp"]) {
    const std::string why =
      "expected four [x, y] source points (top-left, top-right, bottom-right, "
      "bottom-left) inside the crop";
    if (!c.crop) throw config_error(p + "warp", "needs a crop: the warped image has the crop's size");
    if (!w.IsSequence() || w.size() != 4) throw config_error(p + "warp", why);
    warp_quad quad;
    const auto& r = *c.crop;
    for (size_t k = 0; k < 4; ++k) {
      if (!w[k].IsSequence() || w[k].size() != 2) throw config_error(p + "warp", why);
      try {
        quad[k] = {w[k][0].as<double>(), w[k][1].as<double>()};
      } catch (const YAML::Exception&) {
        throw config_error(p + "warp", why);
      }
      if (!(quad[k].x >= r[0] && quad[k].x <= r[0] + r[2] && quad[k].y >= r[1] && quad[k].y <= r[1] + r[3]))
        throw config_error(p + "warp", why);
    }
    try {
      warp_homography(quad, {r[2], r[3]});
    } catch (const std::invalid_argument& e) {
      throw config_error(p + "warp", e.what());
    }
    c.warp = quad;
  }
  c.fps = get_in_range<double>(n, "fps", p, 0.0, 0.0, 1000.0);
  if (auto r = n["rtsp"]) {
    std::string q = p + "rtsp.";
    check_keys(r, q, {"transport", "open_timeout_ms", "read_timeout_ms", "probe_kb", "analyze_ms"});
    auto t = get<std::string>(r, "transport", q, "tcp");
    if (t == "tcp")
      c.input.transport = rtsp_transport::tcp;
    else if (t == "udp")
      c.input.transport = rtsp_transport::udp;
    else if (t == "auto")
      c.input.transport = rtsp_transport::automatic;
    else
      throw config_error(q + "transport", "'" + t + "' (known: tcp, udp, auto)");
    c.input.open_timeout_ms = get_in_range<int>(r, "open_timeout_ms", q, c.input.open_timeout_ms, 100, 600000);
    c.input.read_timeout_ms = get_in_range<int>(r, "read_timeout_ms", q, c.input.read_timeout_ms, 100, 600000);
    c.input.probe_kb = get_in_range<int>(r, "probe_kb", q, c.input.probe_kb, 32, 1 << 20);
    c.input.analyze_ms = get_in_range<int>(r, "analyze_ms", q, c.input.analyze_ms, 0, 600000);
  }
  if (auto r = n["reconnect"]) {
    std::string q = p + "reconnect.";
    check_keys(r, q, {"initial_ms", "max_ms"});
    c.reconnect_initial_ms = get_in_range<int64_t>(r, "initial_ms", q, c.reconnect_initial_ms, 1, 3'600'000);
    c.reconnect_max_ms = get_in_range<int64_t>(r, "max_ms", q, c.reconnect_max_ms, c.reconnect_initial_ms, 3'600'000);
  }
  c.loop = get<bool>(n, "loop", p, false);
  c.start_ms = get_time(n, "start_time", p, default_start);
  if (auto zs = n["zones"]) {
    if (!zs.IsSequence()) throw config_error(p + "zones", "expected a list of {name, polygon}");
    for (size_t k = 0; k < zs.size(); ++k) {
      std::string q = p + "zones[" + std::to_string(k) + "].";
      check_keys(zs[k], q, {"name", "polygon"});
      zone_def z;
      z.name = get<std::string>(zs[k], "name", q, "");
      if (z.name.empty()) throw config_error(q + "name", "required");
      z.polygon = parse_points(zs[k]["polygon"], q + "polygon");
      if (z.polygon.size() < 3) throw config_error(q + "polygon", "needs at least 3 points [x, y]");
      c.zones.push_back(std::move(z));
    }
  }
  if (auto ls = n["lines"]) {
    if (!ls.IsSequence()) throw config_error(p + "lines", "expected a list of {name, from, to}");
    for (size_t k = 0; k < ls.size(); ++k) {
      std::string q = p + "lines[" + std::to_string(k) + "].";
      check_keys(ls[k], q, {"name", "from", "to"});
      line_def l;
      l.name = get<std::string>(ls[k], "name", q, "");
      if (l.name.empty()) throw config_error(q + "name", "required");
      // Each end on its own: a missing one is named, never read as a
      // shorter list (yaml-cpp's push_back of an absent node crashed).
      auto end_point = [&](const char* end) {
        auto pt = ls[k][end];
        if (!pt || pt.IsNull()) throw config_error(q + end, "required: a point [x, y]");
        YAML::Node one;
        one.push_back(pt);
        return parse_points(one, q + end).at(0);
      };
      l.a = end_point("from");
      l.b = end_point("to");
      c.lines.push_back(std::move(l));
    }
  }
  return c;
}

} // namespace

std::map<uint32_t, std::pair<int, int>> views_continued_below(const std::vector<camera_config>& cameras) {
  std::map<uint32_t, std::pair<int, int>> out;
  auto plain = [](const camera_config& c) { return c.crop && c.crop->size() == 4 && !c.warp; };
  for (const auto& c : cameras) {
    if (!plain(c)) continue;
    const auto& a = *c.crop; // x, y, w, h
    const int bottom = a[1] + a[3];
    for (const auto& d : cameras) {
      if (d.id == c.id || d.source != c.source || !d.crop || d.crop->size() != 4) continue;
      const auto& b = *d.crop;
      const bool below = b[1] > a[1] && b[1] <= bottom && b[1] + b[3] > bottom;
      const bool side_by_side = std::min(a[0] + a[2], b[0] + b[2]) > std::max(a[0], b[0]);
      if (below && side_by_side) out[c.id] = {a[2], a[3]};
    }
  }
  return out;
}

std::vector<view_geometry> shared_source_views(const std::vector<camera_config>& cameras) {
  std::map<std::string, int> viewers;
  for (const auto& c : cameras) viewers[c.source]++;
  std::vector<view_geometry> out;
  for (const auto& c : cameras) {
    if (!c.crop || c.crop->size() != 4 || viewers[c.source] < 2) continue;
    const auto& r = *c.crop;
    view_geometry v = crop_view(c.id, c.source, r[0], r[1], r[2], r[3]);
    if (c.warp) {
      const cv::Matx33d h = warp_homography(*c.warp, {r[2], r[3]});
      for (int k = 0; k < 9; ++k) v.to_view[static_cast<size_t>(k)] = h.val[k];
    }
    out.push_back(std::move(v));
  }
  return out;
}

namespace {

// Resolve "camera:<id>" sources (a virtual camera of another camera's
// source) and file paths; then check each distinct source once.
void resolve_sources(config& cfg, const std::string& base_dir) {
  for (size_t i = 0; i < cfg.cameras.size(); ++i) {
    auto& c = cfg.cameras[i];
    std::string key = "cameras[" + std::to_string(i) + "].source";
    if (c.source.rfind("camera:", 0) == 0) {
      uint32_t ref = 0;
      try {
        ref = static_cast<uint32_t>(std::stoul(c.source.substr(7)));
      } catch (...) {
        throw config_error(key, "expected camera:<id>, got '" + c.source + "'");
      }
      auto other =
        std::find_if(cfg.cameras.begin(), cfg.cameras.end(), [&](const camera_config& o) { return o.id == ref; });
      if (other == cfg.cameras.end() || other->source.rfind("camera:", 0) == 0)
        throw config_error(key, "no camera " + std::to_string(ref) + " with a direct source");
      c.source = resolve_path(other->source, base_dir);
      c.input = other->input; // one source, one way to open it
      c.reconnect_initial_ms = other->reconnect_initial_ms;
      c.reconnect_max_ms = other->reconnect_max_ms;
    } else {
      c.source = resolve_path(c.source, base_dir);
    }
    if (auto err = video_source::check(c.source)) throw config_error(key, *err);
  }
}

// The `detector:` section.
void parse_detector(const YAML::Node& d, config& cfg, const std::string& base_dir) {
  check_keys(d, "detector.", {"kind", "queue", "max_age_ms", "hog", "motion", "dnn", "appearance"});
  cfg.detector.kind = get<std::string>(d, "kind", "detector.", cfg.detector.kind);
  const auto kinds = config_detector_kinds();
  if (std::find(kinds.begin(), kinds.end(), cfg.detector.kind) == kinds.end()) {
    std::string known;
    for (const auto& k : kinds) known += (known.empty() ? "" : ", ") + k;
    throw config_error("detector.kind", "unknown detector '" + cfg.detector.kind + "' (known: " + known + ")");
  }
  if (auto n = d["dnn"]) {
    auto& o = cfg.detector.dnn;
    const std::string p = "detector.dnn.";
    check_keys(n, p,
               {"model", "weights", "input", "input_scale", "score_threshold", "nms_iou", "person_class", "embedding",
                "precision", "int8_model", "int8_exact", "head", "anchors", "letterbox"});
    o.input_scale = get_in_range<float>(n, "input_scale", p, o.input_scale, 0.1f, 4.0f);
    o.model = get<std::string>(n, "model", p, o.model);
    if (!o.model.empty()) o.model = resolve_path(o.model, base_dir);
    o.weights = get<std::string>(n, "weights", p, o.weights);
    if (!o.weights.empty()) o.weights = resolve_path(o.weights, base_dir);
    if (auto in = n["input"]) {
      if (in.IsSequence()) {
        std::tie(o.input_width, o.input_height) = get_size(in, p + "input", "[width, height], \"source\" or \"model\"");
        if (o.input_width % 32 || o.input_height % 32)
          throw config_error(p + "input", "width and height must be multiples of 32");
      } else {
        auto v = in.as<std::string>();
        if (v == "source")
          o.input_width = o.input_height = -1;
        else if (v == "model")
          o.input_width = o.input_height = 0;
        else
          throw config_error(p + "input", "expected [width, height], \"source\" or \"model\", got '" + v + "'");
      }
    }
    o.score_threshold = get_in_range<float>(n, "score_threshold", p, o.score_threshold, 0.0f, 1.0f);
    o.nms_iou = get_in_range<float>(n, "nms_iou", p, o.nms_iou, 0.0f, 1.0f);
    o.person_class = get_in_range<int>(n, "person_class", p, o.person_class, 0, 100000);
    o.embedding = get<bool>(n, "embedding", p, o.embedding);
    o.letterbox = get<bool>(n, "letterbox", p, o.letterbox);
    o.precision = get<std::string>(n, "precision", p, o.precision);
    if (o.precision != "f32" && o.precision != "int8")
      throw config_error(p + "precision", "expected f32 or int8, got '" + o.precision + "'");
    o.int8_model = get<std::string>(n, "int8_model", p, o.int8_model);
    if (!o.int8_model.empty()) o.int8_model = resolve_path(o.int8_model, base_dir);
    o.int8_exact = get<bool>(n, "int8_exact", p, o.int8_exact);
    o.head = get<std::string>(n, "head", p, o.head);
    if (!o.head.empty()) {
      const auto& hs = dnn_heads();
      if (std::find(hs.begin(), hs.end(), o.head) == hs.end()) {
        std::string known;
        for (const auto& h : hs) known += (known.empty() ? "" : ", ") + h;
        throw config_error(p + "head", "unknown head '" + o.head + "' (known: " + known + ")");
      }
    }
    if (auto an = n["anchors"]) {
      if (!an.IsSequence() || an.size() == 0 || an.size() % 2)
        throw config_error(p + "anchors", "expected a list of (width, height) pairs: [w0, h0, w1, h1, ...]");
      o.anchors.clear();
      for (const auto& x : an) {
        float v = 0;
        try {
          v = x.as<float>();
        } catch (const YAML::Exception&) {
          throw config_error(p + "anchors", "'" + x.as<std::string>("?") + "' is not a number");
        }
        if (!(v > 0) || v > 100000) throw config_error(p + "anchors", "anchor sizes must be positive");
        o.anchors.push_back(v);
      }
    }
  }
  cfg.detector.queue = get_in_range<int>(d, "queue", "detector.", cfg.detector.queue, 1, 1024);
  cfg.detector.max_age_ms = get_in_range<int64_t>(d, "max_age_ms", "detector.", cfg.detector.max_age_ms, 1, 3600000);
  if (auto h = d["hog"]) {
    check_keys(h, "detector.hog.", {"upscale", "threshold"});
    cfg.detector.hog_upscale = get_in_range<double>(h, "upscale", "detector.hog.", cfg.detector.hog_upscale, 0.25, 8.0);
    cfg.detector.hog_threshold = get<double>(h, "threshold", "detector.hog.", cfg.detector.hog_threshold);
  }
  if (auto a = d["appearance"]) {
    const std::string p = "detector.appearance.";
    check_keys(a, p, {"centre_sigma", "surround"});
    auto& o = cfg.detector.appearance;
    o.centre_sigma = get_in_range<float>(a, "centre_sigma", p, o.centre_sigma, 0.0f, 10.0f);
    o.surround = get<bool>(a, "surround", p, o.surround);
  }
  if (auto m = d["motion"]) {
    check_keys(m, "detector.motion.", {"min_area"});
    cfg.detector.motion_min_area =
      get_in_range<int>(m, "min_area", "detector.motion.", cfg.detector.motion_min_area, 1, 1 << 24);
  }
}

// The `cards:` section.
void parse_cards(const YAML::Node& cards, config& cfg, const std::string& base_dir) {
  if (cards.IsScalar() && cards.as<std::string>() == "all") {
    cfg.cards_all = true;
  } else if (!cards.IsSequence()) {
    throw config_error("cards", "expected a list of cards or 'all'");
  }
  for (size_t i = 0; !cfg.cards_all && i < cards.size(); ++i) {
    std::string p = "cards[" + std::to_string(i) + "].";
    auto n = cards[i];
    card_config c;
    c.kind = get<std::string>(n, "kind", p, "cpu");
    c.name = get<std::string>(n, "name", p, c.kind + std::to_string(i));
    if (c.kind == "cpu") {
      check_keys(n, p, {"kind", "name", "threads"});
      c.threads = get_in_range<int>(n, "threads", p, 1, 1, 256);
    } else if (c.kind == "sim") {
      c.sim = parse_sim(n, p, base_dir);
      c.sim.name = c.name;
    } else if (c.kind == "xrt") {
      c = parse_xrt(n, p, base_dir, cfg.xrt_defaults);
      c.kind = "xrt";
      c.name = get<std::string>(n, "name", p, "xrt" + std::to_string(i));
      if (c.xclbin.empty()) throw config_error(p + "xclbin", "required for an xrt card");
      if (!dnn_detector_kind(cfg.detector.kind))
        throw config_error(p + "kind", "xrt cards run DNN detectors only (detector.kind is " + cfg.detector.kind + ")");
    } else {
      throw config_error(p + "kind", "unknown card kind '" + c.kind + "' (known: cpu, sim, xrt)");
    }
    for (auto& other : cfg.cards)
      if (other.name == c.name) throw config_error(p + "name", "duplicate card name '" + c.name + "'");
    cfg.cards.push_back(c);
  }
}

// The `pool:` section.
void parse_pool(const YAML::Node& p, config& cfg) {
  check_keys(p, "pool.", {"queue_per_camera", "depth", "policy", "card_timeout_ms", "probe_ms"});
  auto& o = cfg.pool;
  o.queue_per_camera =
    static_cast<size_t>(get<int>(p, "queue_per_camera", "pool.", static_cast<int>(o.queue_per_camera)));
  require_range<size_t>(o.queue_per_camera, 1, 100000, "pool.queue_per_camera");
  o.depth = get_in_range<int>(p, "depth", "pool.", o.depth, 1, 64);
  o.policy = get<std::string>(p, "policy", "pool.", o.policy);
  if (o.policy != "earliest_completion" && o.policy != "round_robin")
    throw config_error("pool.policy", "'" + o.policy + "' (known: earliest_completion, round_robin)");
  o.card_timeout_ms = get_in_range<int64_t>(p, "card_timeout_ms", "pool.", o.card_timeout_ms, 1, 3600000);
  o.probe_ms = get_in_range<int64_t>(p, "probe_ms", "pool.", o.probe_ms, 1, 3600000);
}

// The `tracker:` section.
// Zones edited at run time (services/zones_file.hpp) replace the configured
// ones of their cameras; a camera no longer configured is skipped, said.
void apply_zones_file(config& cfg) {
  const auto& path = cfg.tracker.zones_file;
  std::ifstream in{path};
  if (!in) return; // nothing edited yet
  std::stringstream text;
  text << in.rdbuf();
  std::map<uint32_t, zone_shapes> edited;
  try {
    edited = parse_zones_file(text.str(), [&](uint32_t id) {
      // A crop's size is the frame's; otherwise the bound every box is held to.
      const auto* c = cfg.camera(id);
      if (c && c->crop) return std::pair<int, int>{(*c->crop)[2], (*c->crop)[3]};
      return std::pair<int, int>{16384, 16384};
    });
  } catch (const std::exception& e) {
    throw config_error("tracker.zones_file", path + ": " + e.what());
  }
  for (auto& [id, shapes] : edited) {
    const uint32_t camera = id; // (a structured binding cannot be captured before C++20)
    auto it =
      std::find_if(cfg.cameras.begin(), cfg.cameras.end(), [&](const camera_config& c) { return c.id == camera; });
    if (it == cfg.cameras.end()) {
      cfg.notices.push_back("tracker.zones_file: " + path + " has zones of camera " + std::to_string(id)
                            + ", which is not configured: skipped");
      continue;
    }
    it->zones = std::move(shapes.zones);
    it->lines = std::move(shapes.lines);
    cfg.tracker.zones_edited.insert(id);
  }
}

void parse_tracker(const YAML::Node& t, config& cfg, const std::string& base_dir) {
  check_keys(
    t, "tracker.",
    {"kind", "iou_threshold", "max_age", "min_hits", "appearance", "deepsort", "state_file", "repair", "zones_file"});
  if (auto zf = get<std::string>(t, "zones_file", "tracker.", ""); !zf.empty())
    cfg.tracker.zones_file = resolve_path(zf, base_dir);
  cfg.tracker.repair = get<std::string>(t, "repair", "tracker.", cfg.tracker.repair);
  if (cfg.tracker.repair != "off" && cfg.tracker.repair != "join" && cfg.tracker.repair != "fill")
    throw config_error("tracker.repair", "'" + cfg.tracker.repair + "' (known: off, join, fill)");
  if (auto sf = get<std::string>(t, "state_file", "tracker.", ""); !sf.empty())
    cfg.tracker.state_file = resolve_path(sf, base_dir);
  cfg.tracker.kind = get<std::string>(t, "kind", "tracker.", cfg.tracker.kind);
  if (cfg.tracker.kind != "deepsort" && cfg.tracker.kind != "sort")
    throw config_error("tracker.kind", "'" + cfg.tracker.kind + "' (known: deepsort, sort)");
  if (auto d = t["deepsort"]) {
    const std::string q = "tracker.deepsort.";
    check_keys(d, q, {"n_init", "max_age", "max_cosine_distance", "budget", "max_iou_distance", "lambda"});
    auto& ds = cfg.tracker.deep;
    ds.n_init = get_in_range<int>(d, "n_init", q, ds.n_init, 1, 1000);
    ds.max_age = get_in_range<int>(d, "max_age", q, ds.max_age, 1, 100000);
    ds.max_cosine_distance = get_in_range<float>(d, "max_cosine_distance", q, ds.max_cosine_distance, 0.0f, 2.0f);
    ds.budget = get_in_range<int>(d, "budget", q, ds.budget, 1, 100000);
    ds.max_iou_distance = get_in_range<float>(d, "max_iou_distance", q, ds.max_iou_distance, 0.0f, 1.0f);
    ds.lambda = get_in_range<float>(d, "lambda", q, ds.lambda, 0.0f, 1.0f);
  }
  cfg.tracker.appearance = get<std::string>(t, "appearance", "tracker.", cfg.tracker.appearance);
  if (cfg.tracker.appearance != "handcrafted" && cfg.tracker.appearance != "dnn")
    throw config_error("tracker.appearance", "'" + cfg.tracker.appearance + "' (known: handcrafted, dnn)");
  cfg.tracker.iou_threshold =
    get_in_range<float>(t, "iou_threshold", "tracker.", cfg.tracker.iou_threshold, 0.0f, 1.0f);
  cfg.tracker.max_age = get_in_range<int>(t, "max_age", "tracker.", cfg.tracker.max_age, 1, 10000);
  cfg.tracker.min_hits = get_in_range<int>(t, "min_hits", "tracker.", cfg.tracker.min_hits, 1, 10000);
}

// The `reid:` section.
void parse_reid(const YAML::Node& r, config& cfg, const std::string& base_dir) {
  check_keys(r, "reid.",
             {"match_threshold",
              "max_gap_s",
              "same_camera",
              "merge_threshold",
              "learn_graph",
              "learn_after",
              "confident",
              "gallery_ttl_s",
              "links",
              "state_file",
              "window_s",
              "topology",
              "space_time_weight",
              "covisible_weight",
              "overlap_slack_s",
              "overlap_after",
              "min_handovers",
              "resolve",
              "cut_margin",
              "ambiguity_margin",
              "handoff",
              "handoff_weight",
              "handoff_aspect",
              "handoff_overlaps",
              "overlap_colocated",
              "handoff_speed",
              "same_camera_gap_s",
              "lost_inside_share",
              "metric"});
  cfg.reid.window_ms = get_ms_in_range(r, "window_s", "reid.", cfg.reid.window_ms, 0.001, 3600.0);
  cfg.reid.match_threshold = get_in_range<float>(r, "match_threshold", "reid.", cfg.reid.match_threshold, -1.0f, 1.0f);
  cfg.reid.max_gap_ms = get_ms_in_range(r, "max_gap_s", "reid.", cfg.reid.max_gap_ms, 0.0, 86400.0);
  auto& rc = cfg.reid;
  rc.same_camera = get<bool>(r, "same_camera", "reid.", rc.same_camera);
  rc.same_camera_gap_ms = get_ms_in_range(r, "same_camera_gap_s", "reid.", rc.same_camera_gap_ms, 0.0, 86400.0);
  rc.lost_inside_share = get_in_range<float>(r, "lost_inside_share", "reid.", rc.lost_inside_share, -1.0f, 0.5f);
  rc.merge_threshold = get_in_range<float>(r, "merge_threshold", "reid.", rc.merge_threshold, -1.0f, 2.0f);
  rc.learn_graph = get<bool>(r, "learn_graph", "reid.", rc.learn_graph);
  rc.learn_after = get_in_range<int>(r, "learn_after", "reid.", rc.learn_after, 1, 1000000);
  rc.confident = get_in_range<float>(r, "confident", "reid.", rc.confident, -1.0f, 1.0f);
  rc.gallery_ttl_ms = get_ms_in_range(r, "gallery_ttl_s", "reid.", rc.gallery_ttl_ms, 0.0, 365 * 86400.0);
  rc.use_topology = get<bool>(r, "topology", "reid.", rc.use_topology);
  rc.space_time_weight = get_in_range<float>(r, "space_time_weight", "reid.", rc.space_time_weight, 0.0f, 2.0f);
  rc.covisible_weight = get_in_range<float>(r, "covisible_weight", "reid.", rc.covisible_weight, 0.0f, 2.0f);
  rc.overlap_slack_ms = get_ms_in_range(r, "overlap_slack_s", "reid.", rc.overlap_slack_ms, 0.0, 3600.0);
  rc.cut_margin = get_in_range<float>(r, "cut_margin", "reid.", rc.cut_margin, -1.0f, 0.5f);
  rc.ambiguity_margin = get_in_range<float>(r, "ambiguity_margin", "reid.", rc.ambiguity_margin, 0.0f, 1.0f);
  rc.handoff_on = get<bool>(r, "handoff", "reid.", rc.handoff_on);
  rc.handoff_weight = get_in_range<float>(r, "handoff_weight", "reid.", rc.handoff_weight, 0.0f, 2.0f);
  rc.handoff.aspect = get_in_range<float>(r, "handoff_aspect", "reid.", rc.handoff.aspect, 0.1f, 2.0f);
  rc.handoff.whole_bodies = get<bool>(r, "handoff_overlaps", "reid.", rc.handoff.whole_bodies);
  rc.overlap_colocated = get_in_range<float>(r, "overlap_colocated", "reid.", rc.overlap_colocated, 0.0f, 2.0f);
  rc.handoff_speed = get_in_range<float>(r, "handoff_speed", "reid.", rc.handoff_speed, 0.0f, 100.0f);
  // Its cut test is cut_margin's (0.02 when that is off).
  if (rc.cut_margin >= 0) rc.handoff.cut_margin = rc.cut_margin;
  rc.topo.overlap_after = get_in_range<int>(r, "overlap_after", "reid.", rc.topo.overlap_after, 1, 1000000);
  rc.topo.min_handovers = get_in_range<int>(r, "min_handovers", "reid.", rc.topo.min_handovers, 1, 1000000);
  if (auto links = r["links"]) {
    if (!links.IsSequence())
      throw config_error("reid.links", "expected a list of {from, to, min_transit_s, max_transit_s}");
    for (size_t i = 0; i < links.size(); ++i) {
      std::string q = "reid.links[" + std::to_string(i) + "].";
      check_keys(links[i], q, {"from", "to", "min_transit_s", "max_transit_s", "both_ways"});
      camera_link l;
      l.from = get<uint32_t>(links[i], "from", q, 0);
      l.to = get<uint32_t>(links[i], "to", q, 0);
      for (auto cam : {l.from, l.to})
        if (!cfg.camera(cam))
          throw config_error(q + (cam == l.from ? "from" : "to"), "no camera " + std::to_string(cam));
      l.min_transit_ms = static_cast<int64_t>(get<double>(links[i], "min_transit_s", q, -5.0) * 1000);
      l.max_transit_ms = static_cast<int64_t>(get<double>(links[i], "max_transit_s", q, 10.0) * 1000);
      if (l.max_transit_ms < l.min_transit_ms) throw config_error(q + "max_transit_s", "below min_transit_s");
      rc.links.push_back(l);
      if (get<bool>(links[i], "both_ways", q, true))
        rc.links.push_back({l.to, l.from, l.min_transit_ms, l.max_transit_ms});
    }
  }
  if (auto m = get<std::string>(r, "metric", "reid.", ""); !m.empty()) {
    try {
      rc.metric = appearance_metric::load(resolve_path(m, base_dir));
    } catch (const std::exception& e) {
      throw config_error("reid.metric", e.what());
    }
    // Learnt on the hand-made descriptor: any other would pass through
    // unmapped and be judged by thresholds meant for the metric's space.
    if (rc.metric.input_dims() != appearance_dims)
      throw config_error("reid.metric",
                         "maps descriptors of " + std::to_string(rc.metric.input_dims())
                           + " numbers; the detectors' have " + std::to_string(appearance_dims));
    if (cfg.tracker.appearance != "handcrafted")
      throw config_error("reid.metric", "needs tracker.appearance: handcrafted (it maps the hand-made descriptor)");
  }
  auto sf = get<std::string>(r, "state_file", "reid.", "");
  if (!sf.empty()) rc.state_file = resolve_path(sf, base_dir);
  if (auto v = r["resolve"]) {
    const std::string q = "reid.resolve.";
    if (!v.IsMap())
      throw config_error("reid.resolve", "expected a map {every_s, lag_s, window_s, link_threshold, ...}");
    check_keys(
      v, q,
      {"every_s", "lag_s", "window_s", "link_threshold", "max_gap_s", "handover_bonus", "handover_s", "fragment_bonus",
       "fragment_s", "touch_s", "from_online", "online_bonus", "handover_link_threshold", "handover_link_s",
       "evict_margin", "move_threshold", "rechain_threshold", "rechain_margin", "rechain_hold_s"});
    auto seconds = [&](const char* key, int64_t fallback, double lo) {
      return get_ms_in_range(v, key, q, fallback, lo, 366 * 86400.0);
    };
    rc.schedule.every_ms = seconds("every_s", rc.schedule.every_ms, 0.0);
    rc.schedule.lag_ms = seconds("lag_s", rc.schedule.lag_ms, 0.0);
    rc.schedule.window_ms = seconds("window_s", rc.schedule.window_ms, 1.0);
    rc.resolver.max_gap_ms = seconds("max_gap_s", rc.resolver.max_gap_ms, 0.0);
    rc.resolver.link_threshold = get_in_range<float>(v, "link_threshold", q, rc.resolver.link_threshold, -1.0f, 3.0f);
    rc.resolver.handover_bonus = get_in_range<float>(v, "handover_bonus", q, rc.resolver.handover_bonus, 0.0f, 1.0f);
    rc.resolver.fragment_bonus = get_in_range<float>(v, "fragment_bonus", q, rc.resolver.fragment_bonus, 0.0f, 1.0f);
    rc.resolver.handover_ms = seconds("handover_s", rc.resolver.handover_ms, 0.0);
    rc.resolver.fragment_ms = seconds("fragment_s", rc.resolver.fragment_ms, 0.0);
    rc.resolver.touch_ms = seconds("touch_s", rc.resolver.touch_ms, 0.0);
    rc.resolver.from_online = get<bool>(v, "from_online", q, rc.resolver.from_online);
    rc.resolver.online_bonus = get_in_range<float>(v, "online_bonus", q, rc.resolver.online_bonus, 0.0f, 1.0f);
    rc.resolver.handover_link_threshold =
      get_in_range<float>(v, "handover_link_threshold", q, rc.resolver.handover_link_threshold, -1.0f, 1.0f);
    rc.resolver.handover_link_ms = seconds("handover_link_s", rc.resolver.handover_link_ms, 0.0);
    rc.resolver.evict_margin = get_in_range<float>(v, "evict_margin", q, rc.resolver.evict_margin, 0.0f, 2.0f);
    rc.resolver.move_threshold = get_in_range<float>(v, "move_threshold", q, rc.resolver.move_threshold, -1.0f, 2.0f);
    rc.resolver.rechain_threshold =
      get_in_range<float>(v, "rechain_threshold", q, rc.resolver.rechain_threshold, -1.0f, 2.0f);
    rc.resolver.rechain_hold_ms = seconds("rechain_hold_s", rc.resolver.rechain_hold_ms, 0.0);
    rc.resolver.rechain_margin = get_in_range<float>(v, "rechain_margin", q, rc.resolver.rechain_margin, -1.0f, 1.0f);
  }
}

// The `storage:` section.
void parse_storage(const YAML::Node& s, config& cfg, const std::string& base_dir) {
  check_keys(s, "storage.", {"path", "url", "retention_days", "crops"});
  auto url = get<std::string>(s, "url", "storage.", "");
  if (!url.empty() && s["path"])
    throw config_error("storage.url", "give storage.path (SQLite) or storage.url, not both");
  if (!url.empty()) {
    if (!sql::is_postgres_location(url))
      throw config_error("storage.url", "expected postgresql://user@host:port/database, got '" + url + "'");
    cfg.storage_path = url;
  } else {
    auto path = get<std::string>(s, "path", "storage.", cfg.storage_path);
    if (path.empty()) throw config_error("storage.path", "must not be empty");
    cfg.storage_path = path == ":memory:" ? path : resolve_path(path, base_dir);
  }
  auto days = get<double>(s, "retention_days", "storage.", 0.0);
  require_range(days, 0.0, 36500.0, "storage.retention_days");
  cfg.retention_ms = static_cast<int64_t>(days * 86'400'000);
  if (auto c = s["crops"]) {
    if (!c.IsScalar()) throw config_error("storage.crops", "expected true or false");
    // Until schema v5 this named the crops' folder ("none" or "" = off).
    // The crops are in the store now; an old configuration keeps working
    // (crops on) and is told the folder is no longer read or written.
    const auto text = c.as<std::string>();
    bool on = true;
    if (text == "none" || text.empty())
      cfg.crops = false;
    else if (YAML::convert<bool>::decode(c, on))
      cfg.crops = on;
    else
      cfg.notices.push_back("storage.crops: '" + text
                            + "' is a folder, the form before evidence crops moved into the store: crops stay on and "
                              "are kept in the store now; that folder is no longer read or written (delete it when "
                              "done with it). Write `crops: true` or `crops: false`");
  }
}

// The `query:` section.
void parse_query(const YAML::Node& q, config& cfg) {
  auto has_camera = [&](int64_t id) {
    return id >= 0 && id <= UINT32_MAX && cfg.camera(static_cast<uint32_t>(id)) != nullptr;
  };
  check_keys(q, "query.", {"max_transit_s", "transitions", "every_camera", "max_stay_s", "alerts", "alert_poll_ms"});
  cfg.query.max_transit_ms = get_ms_in_range(q, "max_transit_s", "query.", cfg.query.max_transit_ms, 0.0, 86400.0 * 30);
  cfg.query.max_stay_ms = get_ms_in_range(q, "max_stay_s", "query.", cfg.query.max_stay_ms, 1.0, 86400.0 * 30);
  cfg.query.alert_poll_ms = get_in_range<int64_t>(q, "alert_poll_ms", "query.", cfg.query.alert_poll_ms, 10, 3'600'000);
  if (auto al = q["alerts"]) {
    if (!al.IsSequence()) throw config_error("query.alerts", "expected a list of rules");
    for (size_t i = 0; i < al.size(); ++i) {
      const std::string k = "query.alerts[" + std::to_string(i) + "].";
      check_keys(al[i], k, {"kind", "zone", "camera", "dwell_s", "max_people"});
      alert_rule r;
      r.kind = get<std::string>(al[i], "kind", k, "");
      r.zone = get<std::string>(al[i], "zone", k, "");
      if (al[i]["camera"]) {
        auto c = get<int64_t>(al[i], "camera", k, -1);
        if (!has_camera(c)) throw config_error(k + "camera", "unknown camera id");
        r.camera = static_cast<uint32_t>(c);
      }
      r.dwell_ms = static_cast<int64_t>(get<double>(al[i], "dwell_s", k, 0.0) * 1000);
      r.max_people = get<int64_t>(al[i], "max_people", k, 0);
      try {
        validate(r);
      } catch (const std::invalid_argument& e) {
        std::string what = e.what();
        auto colon = what.find(':');
        throw config_error(k + what.substr(0, colon), what.substr(colon + 2));
      }
      cfg.query.alerts.push_back(r);
    }
  }
  if (auto tr = q["transitions"]) {
    for (size_t i = 0; i < tr.size(); ++i) {
      std::string key = "query.transitions[" + std::to_string(i) + "]";
      if (!tr[i].IsSequence() || tr[i].size() != 2) throw config_error(key, "expected [from_camera, to_camera]");
      int64_t a = tr[i][0].as<int64_t>(-1), b = tr[i][1].as<int64_t>(-1);
      if (!has_camera(a) || !has_camera(b)) throw config_error(key, "unknown camera id");
      cfg.query.transitions.emplace_back(static_cast<uint32_t>(a), static_cast<uint32_t>(b));
    }
  }
  if (auto ec = q["every_camera"]) {
    for (size_t i = 0; i < ec.size(); ++i) {
      int64_t a = ec[i].as<int64_t>(-1);
      if (!has_camera(a)) throw config_error("query.every_camera[" + std::to_string(i) + "]", "unknown camera id");
      cfg.query.every_camera.push_back(static_cast<uint32_t>(a));
    }
  }
}

// The `metrics:` section.
void parse_metrics(const YAML::Node& m, config& cfg) {
  check_keys(m, "metrics.", {"port", "bind"});
  cfg.metrics_port = get_in_range<int>(m, "port", "metrics.", 0, 0, 65535);
  cfg.metrics_bind = get<std::string>(m, "bind", "metrics.", cfg.metrics_bind);
}

// The `gateway:` section.
void parse_gateway(const YAML::Node& g, config& cfg) {
  const std::string p = "gateway.";
  check_keys(g, p, {"port",           "bind",
                    "auth",           "tokens",
                    "token_env",      "poll_ms",
                    "keepalive_s",    "timeout_ms",
                    "threads",        "max_streams",
                    "console",        "web_root",
                    "session_ttl_s",  "secure_cookie",
                    "cors_origins",   "snapshots",
                    "snapshot_fps",   "snapshot_quality",
                    "snapshot_width", "login_per_minute",
                    "login_burst",    "stale_after_s"});
  auto& gw = cfg.gateway;
  cfg.gateway_port = get_in_range<int>(g, "port", p, 0, 0, 65535);
  gw.bind = get<std::string>(g, "bind", p, gw.bind);
  if (gw.bind.empty()) throw config_error(p + "bind", "must not be empty");
  gw.auth = get<std::string>(g, "auth", p, gw.auth);
  if (gw.auth != "bearer" && gw.auth != "none")
    throw config_error(p + "auth", "'" + gw.auth + "' (known: bearer, none)");
  gw.token_env = get<std::string>(g, "token_env", p, gw.token_env);
  gw.poll_ms = get_in_range<int64_t>(g, "poll_ms", p, gw.poll_ms, 10, 60000);
  gw.keepalive_s = get_in_range<int64_t>(g, "keepalive_s", p, gw.keepalive_s, 1, 3600);
  gw.timeout_ms = get_in_range<int64_t>(g, "timeout_ms", p, gw.timeout_ms, 100, 600000);
  gw.threads = get_in_range<int>(g, "threads", p, gw.threads, 2, 256);
  gw.max_streams = get_in_range<int>(g, "max_streams", p, gw.max_streams, 0, 256);
  if (gw.max_streams > gw.threads - 1)
    throw config_error(p + "max_streams",
                       "must leave a thread for queries: at most threads - 1 (" + std::to_string(gw.threads - 1) + ")");
  gw.console = get<bool>(g, "console", p, gw.console);
  gw.web_root = get<std::string>(g, "web_root", p, gw.web_root);
  gw.session_ttl_s = get_in_range<int64_t>(g, "session_ttl_s", p, gw.session_ttl_s, 60, 30 * 86400);
  gw.secure_cookie = get<bool>(g, "secure_cookie", p, gw.secure_cookie);
  gw.snapshots = get<bool>(g, "snapshots", p, gw.snapshots);
  gw.snapshot_fps = get_in_range<double>(g, "snapshot_fps", p, gw.snapshot_fps, 0.1, 30);
  gw.snapshot_quality = get_in_range<int>(g, "snapshot_quality", p, gw.snapshot_quality, 10, 100);
  gw.snapshot_width = get_in_range<int>(g, "snapshot_width", p, gw.snapshot_width, 64, 7680);
  gw.stale_after_s = get_in_range<double>(g, "stale_after_s", p, gw.stale_after_s, 0, 86400);
  gw.login_per_minute = get_in_range<double>(g, "login_per_minute", p, gw.login_per_minute, 0.1, 6000);
  gw.login_burst = get_in_range<int>(g, "login_burst", p, gw.login_burst, 1, 1000);
  if (auto co = g["cors_origins"]) {
    if (!co.IsSequence()) throw config_error(p + "cors_origins", "expected a list of origins (https://host[:port])");
    for (size_t i = 0; i < co.size(); ++i) {
      auto o = co[i].as<std::string>("");
      std::string q = p + "cors_origins[" + std::to_string(i) + "]";
      // An origin is scheme://host[:port], nothing after: what browsers send.
      bool scheme = o.rfind("http://", 0) == 0 || o.rfind("https://", 0) == 0;
      auto host_at = o.find("://") + 3;
      if (!scheme || o.size() <= host_at || o.find_first_of("/?# *", host_at) != std::string::npos)
        throw config_error(q, "'" + o + "' is not an origin: expected http(s)://host[:port] (no path, no '*')");
      gw.cors_origins.push_back(o);
    }
  }
  if (auto ts = g["tokens"]) {
    if (!ts.IsSequence()) throw config_error(p + "tokens", "expected a list of {name, token, scopes}");
    std::set<std::string> names;
    for (size_t i = 0; i < ts.size(); ++i) {
      std::string q = p + "tokens[" + std::to_string(i) + "].";
      check_keys(ts[i], q, {"name", "token", "scopes"});
      gateway_token t;
      t.name = get<std::string>(ts[i], "name", q, "token" + std::to_string(i));
      if (!names.insert(t.name).second) throw config_error(q + "name", "duplicate token name '" + t.name + "'");
      t.token = get<std::string>(ts[i], "token", q, "");
      if (t.token.size() < 16)
        throw config_error(q + "token", t.token.empty() ? "required" : "too short: at least 16 characters");
      if (t.token.find_first_of(" \t\r\n") != std::string::npos)
        throw config_error(q + "token", "must not contain whitespace");
      auto sc = ts[i]["scopes"];
      if (!sc) {
        t.scopes = {"query", "alerts"};
      } else {
        if (!sc.IsSequence() || sc.size() == 0)
          throw config_error(q + "scopes", "expected a non-empty list (query, alerts, zones)");
        for (size_t k = 0; k < sc.size(); ++k) {
          auto v = sc[k].as<std::string>("");
          if (v != "query" && v != "alerts" && v != "zones")
            throw config_error(q + "scopes[" + std::to_string(k) + "]",
                               "unknown scope '" + v + "' (known: query, alerts, zones)");
          t.scopes.push_back(v);
        }
      }
      gw.tokens.push_back(std::move(t));
    }
  }
  if (gw.auth == "none" && !gw.tokens.empty())
    throw config_error(p + "auth", "none, but gateway.tokens is set: remove one of them");
  if (cfg.gateway_port != 0 && cfg.gateway_port == cfg.metrics_port && gw.bind == cfg.metrics_bind)
    throw config_error(p + "port",
                       "same as metrics.port (" + std::to_string(cfg.gateway_port)
                         + "): the gateway serves /healthz, /readyz and /metrics itself");
}

// The `mesh:` section.
void parse_mesh(const YAML::Node& m, config& cfg, const std::string& base_dir) {
  check_keys(m, "mesh.",
             {"roles", "endpoints", "security", "keys", "compact", "live_fps", "live_width", "live_quality"});
  cfg.mesh.compact = get<bool>(m, "compact", "mesh.", cfg.mesh.compact);
  cfg.mesh.live_fps = get_in_range<double>(m, "live_fps", "mesh.", cfg.mesh.live_fps, 0, 10);
  cfg.mesh.live_width = get_in_range<int>(m, "live_width", "mesh.", cfg.mesh.live_width, 64, 4096);
  cfg.mesh.live_quality = get_in_range<int>(m, "live_quality", "mesh.", cfg.mesh.live_quality, 1, 100);
  if (auto r = m["roles"]) {
    for (size_t i = 0; i < r.size(); ++i) {
      auto role = r[i].as<std::string>();
      if (!known_role(role)) throw config_error("mesh.roles[" + std::to_string(i) + "]", "unknown role '" + role + "'");
      cfg.mesh.roles.push_back(role);
    }
  }
  if (auto e = m["endpoints"]) {
    if (!e.IsMap()) throw config_error("mesh.endpoints", "expected a mapping role: endpoint");
    for (auto it = e.begin(); it != e.end(); ++it) {
      auto role = it->first.as<std::string>();
      if (!known_role(role)) throw config_error("mesh.endpoints." + role, "unknown role");
      auto ep = it->second.as<std::string>("");
      if (ep.rfind("tcp://", 0) != 0 && ep.rfind("ipc://", 0) != 0 && ep.rfind("inproc://", 0) != 0)
        throw config_error("mesh.endpoints." + role,
                           "expected a ZeroMQ endpoint (tcp://host:port or ipc://path), got '" + ep + "'");
      cfg.mesh.endpoints[role] = ep;
    }
  }
  if (auto sec = m["security"]) {
    cfg.mesh.security = get<std::string>(m, "security", "mesh.", "");
    if (cfg.mesh.security != "curve" && cfg.mesh.security != "plain")
      throw config_error("mesh.security", "expected curve or plain, got '" + cfg.mesh.security + "'");
  }
  if (auto k = m["keys"]) {
    if (!k.IsMap()) throw config_error("mesh.keys", "expected a mapping (secret or secret_env, public)");
    check_keys(k, "mesh.keys.", {"secret", "secret_env", "public"});
    cfg.mesh.secret_file = get<std::string>(k, "secret", "mesh.keys.", "");
    if (!cfg.mesh.secret_file.empty()) cfg.mesh.secret_file = resolve_path(cfg.mesh.secret_file, base_dir);
    cfg.mesh.secret_env = get<std::string>(k, "secret_env", "mesh.keys.", "");
    if (!cfg.mesh.secret_file.empty() && !cfg.mesh.secret_env.empty())
      throw config_error("mesh.keys.secret_env", "both secret and secret_env are set: keep one");
    if (auto pub = k["public"]) {
      if (!pub.IsMap()) throw config_error("mesh.keys.public", "expected a mapping role: key");
      for (auto it = pub.begin(); it != pub.end(); ++it) {
        auto role = it->first.as<std::string>();
        if (!known_role(role)) throw config_error("mesh.keys.public." + role, "unknown role");
        auto v = get<std::string>(pub, role, "mesh.keys.public.", "");
        if (v.empty()) throw config_error("mesh.keys.public." + role, "empty");
        // Z85 text or env:VAR stays; anything else is a file path.
        if (v.size() != 40 && v.rfind("env:", 0) != 0) v = resolve_path(v, base_dir);
        cfg.mesh.public_keys[role] = v;
      }
    }
    if (cfg.mesh.security == "plain")
      throw config_error("mesh.keys", "set, but mesh.security is plain: remove one of them");
  }
}

} // namespace

bool int8_exact_forced(const config& cfg) {
  if (cfg.cards_all) return !cfg.xrt_defaults.xclbin.empty(); // xrt devices are used when found
  return std::any_of(cfg.cards.begin(), cfg.cards.end(), [](const card_config& c) { return c.kind == "xrt"; });
}

config parse_config(const std::string& text, const std::string& file_dir, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw config_error(file, "invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root || root.IsNull()) throw config_error(file, "empty configuration");
  expand_env_tree(root, "");
  check_keys(root, "",
             {"realtime", "start_time", "cameras", "detector", "cards", "tracker", "reid", "storage", "query",
              "metrics", "gateway", "mesh", "pool", "xrt", "paths_from"});
  // A copy of a configuration written elsewhere (a test's, a generated
  // layout's) names the original's folder here, and every relative path in
  // it keeps meaning what it meant there.
  std::string base_dir = file_dir;
  if (root["paths_from"]) {
    const auto from = get<std::string>(root, "paths_from", "", "");
    if (from.empty()) throw config_error("paths_from", "expected a folder");
    base_dir = resolve_path(from, file_dir);
    std::error_code ec;
    if (!fs::is_directory(base_dir, ec)) throw config_error("paths_from", "no such folder: " + base_dir);
  }
  config cfg;
  cfg.file = file;
  cfg.realtime = get<bool>(root, "realtime", "", false);
  auto default_start = get_time(root, "start_time", "", 0);

  // cameras
  auto cams = root["cameras"];
  if (!cams || !cams.IsSequence() || cams.size() == 0)
    throw config_error("cameras", "expected a non-empty list of cameras");
  std::set<uint32_t> ids;
  for (size_t i = 0; i < cams.size(); ++i) {
    std::string p = "cameras[" + std::to_string(i) + "].";
    auto c = parse_camera(cams[i], p, default_start);
    if (!ids.insert(c.id).second) throw config_error(p + "id", "duplicate camera id " + std::to_string(c.id));
    cfg.cameras.push_back(std::move(c));
  }
  resolve_sources(cfg, base_dir);

  if (auto d = root["detector"]) parse_detector(d, cfg, base_dir);

  { // auto picks NanoDet when its model is there
    auto& o = cfg.detector.dnn;
    if (cfg.detector.kind == "auto")
      cfg.detector.kind = !o.model.empty() && file_exists(o.model) ? "nanodet" : "motion";
    if (dnn_detector_kind(cfg.detector.kind)) {
      if (o.model.empty()) throw config_error("detector.dnn.model", "required for detector " + cfg.detector.kind);
      if (!file_exists(o.model)) throw config_error("detector.dnn.model", "no such file: " + o.model);
      if (cfg.detector.kind == "darknet" && (o.weights.empty() || !file_exists(o.weights)))
        throw config_error("detector.dnn.weights",
                           o.weights.empty() ? "required for darknet" : "no such file: " + o.weights);
      if (cfg.detector.kind == "onnx" && o.head.empty())
        throw config_error("detector.dnn.head", "required for detector onnx (nanodet, yolov2, yolov3, yolov5, yolov8)");
      if (cfg.detector.kind != "onnx" && !o.head.empty())
        throw config_error("detector.dnn.head", "only for detector onnx (" + cfg.detector.kind + " knows its head)");
      if ((o.head == "yolov2" || o.head == "yolov3") && o.anchors.empty())
        throw config_error("detector.dnn.anchors", "required for head " + o.head + " (Darknet's anchors, w h pairs)");
      if (o.precision == "int8" && (o.int8_model.empty() || !file_exists(o.int8_model)))
        throw config_error("detector.dnn.int8_model",
                           o.int8_model.empty() ? "required for precision int8 (weaver model quantize)"
                                                : "no such file: " + o.int8_model);
    }
  }

  // cards: a list, or "all" (every card found when the process starts)
  if (auto x = root["xrt"]) cfg.xrt_defaults = parse_xrt(x, "xrt.", base_dir, cfg.xrt_defaults);
  if (auto cards = root["cards"]) parse_cards(cards, cfg, base_dir);
  if (cfg.cards.empty() && !cfg.cards_all) cfg.cards.push_back(card_config{});
  if (!cfg.cards.empty() && cfg.cards[0].name.empty()) cfg.cards[0].name = "cpu0";
  // Any frame gets the same boxes whichever card runs it: the CPU cards then
  // compute as the weaver_dnn kernel does.
  if (int8_exact_forced(cfg)) cfg.detector.dnn.int8_exact = true;

  if (auto p = root["pool"]) parse_pool(p, cfg);
  // In non-real-time runs nothing may be dropped: the pool's queues must
  // hold every frame the detector admits.
  if (!cfg.realtime && cfg.pool.queue_per_camera < static_cast<size_t>(cfg.detector.queue))
    throw config_error("pool.queue_per_camera",
                       "must be >= detector.queue (" + std::to_string(cfg.detector.queue) + ") unless realtime");

  if (auto t = root["tracker"]) parse_tracker(t, cfg, base_dir);
  if (!cfg.tracker.zones_file.empty()) apply_zones_file(cfg);
  if (auto r = root["reid"]) parse_reid(r, cfg, base_dir);
  cfg.reid.resolver.links = cfg.reid.links;
  // Re-id needs the size of the views whose bottom edge cuts people off
  // from where they stand.
  cfg.reid.view_sizes = views_continued_below(cfg.cameras);
  if (cfg.reid.handoff_on) cfg.reid.handoff.views = shared_source_views(cfg.cameras);
  cfg.reid.resolver.handoff = cfg.reid.handoff;
  cfg.reid.resolver.handoff_speed = cfg.reid.handoff_speed;
  if (auto s = root["storage"])
    parse_storage(s, cfg, base_dir);
  else
    cfg.storage_path = resolve_path(cfg.storage_path, base_dir);
  if (auto q = root["query"]) parse_query(q, cfg);
  // Defaults: consecutive camera pairs both ways, and every configured camera.
  if (cfg.query.transitions.empty())
    for (size_t i = 0; i + 1 < cfg.cameras.size(); ++i) {
      cfg.query.transitions.emplace_back(cfg.cameras[i].id, cfg.cameras[i + 1].id);
      cfg.query.transitions.emplace_back(cfg.cameras[i + 1].id, cfg.cameras[i].id);
    }
  if (cfg.query.every_camera.empty())
    for (auto& c : cfg.cameras) cfg.query.every_camera.push_back(c.id);

  if (auto m = root["metrics"]) parse_metrics(m, cfg);
  if (auto g = root["gateway"]) parse_gateway(g, cfg);
  if (auto m = root["mesh"]) parse_mesh(m, cfg, base_dir);
  // Live frames from the mesh come 1 / live_fps apart: a bound under three
  // of those periods would show a working camera as down between two. One
  // written so is refused; the default stretches to it (a slow live_fps of
  // an existing configuration must not stop it starting).
  const double live_fps = cfg.mesh.live_fps;
  auto& stale = cfg.gateway.stale_after_s;
  if (stale > 0 && live_fps > 0 && stale * live_fps < 3) {
    const auto g = root["gateway"];
    if (g && g.IsMap() && g["stale_after_s"])
      throw config_error(
        "gateway.stale_after_s",
        "must be at least 3 periods of mesh.live_fps (" + std::to_string(3 / live_fps) + " s) or 0 (never stale)");
    stale = 3 / live_fps;
  }
  return cfg;
}

tracklet_repair_config repair_settings(const tracker_config& t) {
  tracklet_repair_config rc;
  rc.fill = t.repair == "fill";
  return rc;
}

config load_config(const std::string& path) {
  std::ifstream in{path};
  if (!in) throw config_error(path, "cannot read configuration file");
  std::stringstream ss;
  ss << in.rdbuf();
  auto base = fs::absolute(fs::path{path}).parent_path().string();
  return parse_config(ss.str(), base, path);
}

std::vector<std::string> config_detector_kinds() {
  std::vector<std::string> kinds{"auto"};
  for (const auto& k : detector_kinds()) kinds.push_back(k);
  return kinds;
}

detector_options detector_options_of(const detector_config& d) {
  detector_options o;
  o.hog_upscale = d.hog_upscale;
  o.hog_threshold = d.hog_threshold;
  o.motion_min_area = d.motion_min_area;
  o.dnn = d.dnn;
  o.appearance = d.appearance;
  return o;
}

} // namespace weaver
