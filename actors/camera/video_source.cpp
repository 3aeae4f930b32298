#include "actors/camera/video_source.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <opencv2/videoio/registry.hpp>

namespace weaver {

namespace {

const char* const network_schemes[] = {"rtsp", "rtsps", "rtmp", "http", "https"};

// The scheme of "scheme://rest" (lower case), empty when there is none.
std::string url_scheme(const std::string& s) {
  auto pos = s.find("://");
  if (pos == std::string::npos || pos == 0) return {};
  std::string scheme = s.substr(0, pos);
  for (char c : scheme)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return {};
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return scheme;
}

bool is_network_scheme(const std::string& scheme) {
  return std::find(std::begin(network_schemes), std::end(network_schemes), scheme) != std::end(network_schemes);
}

// N of "/dev/videoN", -1 otherwise.
int parse_device_index(const std::string& s) {
  static const std::string prefix = "/dev/video";
  if (s.size() <= prefix.size() || s.compare(0, prefix.size(), prefix) != 0) return -1;
  std::string digits = s.substr(prefix.size());
  if (digits.size() > 4 || !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }))
    return -1;
  return std::stoi(digits);
}

bool is_secret_param(std::string key) {
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* word : {"pass", "pwd", "token", "key", "secret", "auth", "sig", "credential"})
    if (key.find(word) != std::string::npos) return true;
  return false;
}

// OpenCV's FFmpeg backend takes demuxer options only from this environment
// variable, read when a capture opens ("key;value|key;value"): opens that set
// it take turns, and the variable is put back afterwards.
std::mutex ffmpeg_env_mutex;

std::string format_fps(double fps) {
  std::ostringstream os;
  os << fps;
  return os.str();
}

} // namespace

const char* to_string(source_kind k) {
  switch (k) {
    case source_kind::file:
      return "file";
    case source_kind::network:
      return "network";
    case source_kind::device:
      return "device";
  }
  return "?";
}

bool is_remote_source(const std::string& source) { return source.rfind("remote:", 0) == 0; }

std::string shown_source(const std::string& source) {
  auto scheme_end = source.find("://");
  if (scheme_end == std::string::npos || url_scheme(source).empty()) return source;
  std::string out = source;
  // user:password@ in the authority (up to the first / ? #).
  auto auth_begin = scheme_end + 3;
  auto auth_end = out.find_first_of("/?#", auth_begin);
  if (auth_end == std::string::npos) auth_end = out.size();
  auto at = out.rfind('@', auth_end - 1);
  if (at != std::string::npos && at >= auth_begin) {
    auto colon = out.find(':', auth_begin);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
      auth_end = out.find_first_of("/?#", auth_begin);
      if (auth_end == std::string::npos) auth_end = out.size();
    }
  }
  // Secret-looking query parameters (?user=admin&password=...).
  auto q = out.find('?', auth_end);
  if (q == std::string::npos) return out;
  size_t pos = q + 1;
  while (pos < out.size() && out[pos] != '#') {
    auto end = out.find_first_of("&#", pos);
    if (end == std::string::npos) end = out.size();
    auto eq = out.find('=', pos);
    if (eq != std::string::npos && eq < end && is_secret_param(out.substr(pos, eq - pos)) && end > eq + 1) {
      out.replace(eq + 1, end - eq - 1, "***");
      end = eq + 4;
    }
    pos = end + (end < out.size() && out[end] == '&' ? 1 : 0);
    if (end < out.size() && out[end] == '#') break;
  }
  return out;
}

source_spec source_spec::parse(const std::string& source) {
  source_spec spec;
  spec.location = source;
  if (is_network_scheme(url_scheme(source)))
    spec.kind = source_kind::network;
  else if (int n = parse_device_index(source); n >= 0) {
    spec.kind = source_kind::device;
    spec.device_index = n;
  }
  return spec;
}

std::optional<std::string> video_source::check(const std::string& source) {
  if (source.empty()) return std::string("empty video source");
  if (is_remote_source(source)) return std::nullopt; // another node opens it
  auto spec = source_spec::parse(source);
  struct stat st {};
  switch (spec.kind) {
    case source_kind::network: {
      auto rest = source.substr(source.find("://") + 3);
      auto host = rest.substr(0, rest.find_first_of("/?#"));
      if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1); // drop user:password@
      if (host.empty() || host[0] == ':') return "malformed URL (no host): " + shown_source(source);
      return std::nullopt;
    }
    case source_kind::device:
      if (::stat(source.c_str(), &st) != 0) return "not a V4L2 device: " + source + " (no such device node)";
      if (!S_ISCHR(st.st_mode)) return "not a V4L2 device: " + source + " (not a character device)";
      if (::access(source.c_str(), R_OK | W_OK) != 0)
        return "cannot access V4L2 device " + source + ": " + std::strerror(errno);
      return std::nullopt;
    case source_kind::file: {
      if (auto scheme = url_scheme(source); !scheme.empty())
        return "unsupported URL scheme '" + scheme + "' in " + shown_source(source)
          + " (supported: rtsp, rtsps, rtmp, http, https)";
      // A printf pattern ("img%04d.jpg") is an image sequence for OpenCV,
      // not one file: leave it to open().
      if (source.find('%') != std::string::npos) return std::nullopt;
      if (::stat(source.c_str(), &st) != 0) return "no such file: " + source;
      if (!S_ISREG(st.st_mode)) return "not a regular file: " + source;
      if (::access(source.c_str(), R_OK) != 0) return "cannot read " + source + ": " + std::strerror(errno);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

video_source::video_source(std::string source, source_options opts)
  : spec_(source_spec::parse(source)), shown_(shown_source(source)), opts_(opts) {}

bool video_source::open(std::string* error) {
  auto fail = [&](std::string why) {
    if (error) *error = std::move(why);
    cap_.release();
    return false;
  };
  close();
  if (auto problem = check(spec_.location)) return fail(*problem);
  auto start = std::chrono::steady_clock::now();
  try {
    switch (spec_.kind) {
      case source_kind::file:
        // FFmpeg only when present: CAP_ANY also tries GStreamer and the
        // image-sequence backend, which log confusing errors for a bad file.
        // "img%04d.jpg" patterns need CAP_ANY (the image-sequence backend).
        if (spec_.location.find('%') == std::string::npos && cv::videoio_registry::hasBackend(cv::CAP_FFMPEG))
          cap_.open(spec_.location, cv::CAP_FFMPEG);
        else
          cap_.open(spec_.location, cv::CAP_ANY);
        if (!cap_.isOpened())
          return fail("cannot decode " + shown_
                      + ": no video backend could open it (not a video or unsupported codec)");
        break;
      case source_kind::network: {
        // Without these FFmpeg may wait for the OS TCP timeout (minutes).
        std::vector<int> params{cv::CAP_PROP_OPEN_TIMEOUT_MSEC, opts_.open_timeout_ms, cv::CAP_PROP_READ_TIMEOUT_MSEC,
                                opts_.read_timeout_ms};
        open_network(params);
        if (!cap_.isOpened()) {
          auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
          // OpenCV does not say why; the elapsed time tells a timeout apart.
          if (ms >= opts_.open_timeout_ms * 9 / 10)
            return fail("cannot open " + shown_ + ": timeout (no stream after " + std::to_string(ms) + " ms)");
          return fail("cannot open " + shown_
                      + ": connection refused, host unreachable or not a stream FFmpeg"
                        " can decode (gave up after " + std::to_string(ms) + " ms)");
        }
        break;
      }
      case source_kind::device:
        cap_.open(spec_.device_index, cv::CAP_V4L2);
        if (!cap_.isOpened())
          return fail("cannot open V4L2 device " + spec_.location
                      + ": busy, no capture capability or no supported pixel format");
        break;
    }
  } catch (const cv::Exception& e) {
    return fail("cannot open " + shown_ + ": " + e.what());
  }
  fps_ = cap_.get(cv::CAP_PROP_FPS);
  if (!std::isfinite(fps_) || fps_ <= 0 || fps_ > 1000) fps_ = 0;
  counted_ = pending_ = frames_read_ = 0;
  rest_counted_ = false;
  bitrate_kbps_ = 0;
  packets_.release();
  if (is_file()) {
    std::error_code ec;
    file_size_ = std::filesystem::file_size(spec_.location, ec);
    if (ec) file_size_ = 0;
    // A second, demux-only reader of the same file: its packets are the
    // compressed frames (cheap: no decoding). Absent for non-FFmpeg files.
    if (file_size_ > 0 && spec_.location.find('%') == std::string::npos
        && cv::videoio_registry::hasBackend(cv::CAP_FFMPEG)) {
      try {
        packets_.open(spec_.location, cv::CAP_FFMPEG, {cv::CAP_PROP_FORMAT, -1});
      } catch (const cv::Exception&) {
        packets_.release();
      }
    }
  } else if (spec_.kind == source_kind::network) {
    const double kbps = cap_.get(cv::CAP_PROP_BITRATE);
    if (std::isfinite(kbps) && kbps > 0) bitrate_kbps_ = kbps;
  }
  width_ = static_cast<int>(cap_.get(cv::CAP_PROP_FRAME_WIDTH));
  height_ = static_cast<int>(cap_.get(cv::CAP_PROP_FRAME_HEIGHT));
  frame_count_ = -1;
  if (is_file()) {
    double n = cap_.get(cv::CAP_PROP_FRAME_COUNT);
    if (std::isfinite(n) && n > 0) frame_count_ = static_cast<int64_t>(n);
  }
  return true;
}

bool video_source::read(cv::Mat& out) {
  if (!cap_.isOpened()) return false;
  try {
    if (!cap_.read(out) || out.empty()) {
      if (is_file()) count_rest_of_file();
      return false;
    }
  } catch (const cv::Exception&) {
    // A corrupt packet or a dropped stream: the caller reconnects or ends.
    if (is_file()) count_rest_of_file();
    return false;
  }
  ++frames_read_;
  count_frame_bytes();
  // Some streams change resolution mid-way; keep describe() truthful.
  width_ = out.cols;
  height_ = out.rows;
  return true;
}

void video_source::open_network(const std::vector<int>& params) {
  const bool rtsp = url_scheme(spec_.location).rfind("rtsp", 0) == 0;
  std::lock_guard<std::mutex> lock(ffmpeg_env_mutex);
  const char* name = "OPENCV_FFMPEG_CAPTURE_OPTIONS";
  const char* before = std::getenv(name);
  std::string saved = before ? before : "";
  std::string options = saved;
  // The user's own options stay and win; ours are added to them.
  auto add = [&](const std::string& key, const std::string& value) {
    if (saved.find(key + ";") != std::string::npos) return;
    options += std::string(options.empty() ? "" : "|") + key + ";" + value;
  };
  if (rtsp && opts_.transport != rtsp_transport::automatic)
    add("rtsp_transport", opts_.transport == rtsp_transport::tcp ? "tcp" : "udp");
  add("probesize", std::to_string(static_cast<int64_t>(opts_.probe_kb) * 1024));
  add("analyzeduration", std::to_string(static_cast<int64_t>(opts_.analyze_ms) * 1000));
  if (options != saved) ::setenv(name, options.c_str(), 1);
  cap_.open(spec_.location, cv::CAP_FFMPEG, params);
  if (options != saved) {
    if (before)
      ::setenv(name, saved.c_str(), 1);
    else
      ::unsetenv(name);
  }
}

void video_source::close() {
  if (cap_.isOpened()) cap_.release();
  packets_.release();
}

void video_source::count_frame_bytes() {
  uint64_t n = 0;
  if (is_file()) {
    cv::Mat packet;
    bool got = false;
    if (packets_.isOpened()) {
      try {
        got = packets_.read(packet) && !packet.empty();
      } catch (const cv::Exception&) {
        got = false;
      }
    }
    if (got) {
      n = packet.total() * packet.elemSize();
    } else if (frame_count_ > 0) { // the file's share of this frame
      const uint64_t due = file_size_ * std::min<uint64_t>(frames_read_, frame_count_) / frame_count_;
      n = due > counted_ ? due - counted_ : 0;
    }
    n = std::min(n, file_size_ > counted_ ? file_size_ - counted_ : 0); // never past the file's size
  } else if (spec_.kind == source_kind::network && bitrate_kbps_ > 0 && fps_ > 0) {
    n = static_cast<uint64_t>(std::llround(bitrate_kbps_ * 1000.0 / 8.0 / fps_));
  }
  counted_ += n;
  pending_ += n;
}

void video_source::count_rest_of_file() {
  if (rest_counted_ || frames_read_ == 0) return;
  rest_counted_ = true;
  const uint64_t rest = file_size_ > counted_ ? file_size_ - counted_ : 0;
  counted_ += rest;
  pending_ += rest;
}

uint64_t video_source::take_source_bytes() {
  const uint64_t n = pending_;
  pending_ = 0;
  return n;
}

const char* video_source::source_bytes_basis() const {
  if (is_file()) return packets_.isOpened() ? "packets" : "file share";
  if (spec_.kind == source_kind::network && bitrate_kbps_ > 0) return "bitrate";
  return "none";
}

std::string video_source::describe() const {
  std::string s = std::string(to_string(spec_.kind)) + " " + shown_;
  if (width_ > 0 && height_ > 0) {
    s += " (" + std::to_string(width_) + "x" + std::to_string(height_);
    if (fps_ > 0) s += " @ " + format_fps(fps_) + " fps";
    s += ")";
  }
  return s;
}

backoff::backoff(int64_t initial_ms, int64_t max_ms)
  : initial_(std::max<int64_t>(1, initial_ms)), max_(std::max(initial_, max_ms)), current_(initial_) {}

int64_t backoff::next() {
  int64_t delay = current_;
  current_ = current_ >= max_ / 2 ? max_ : current_ * 2;
  return delay;
}

} // namespace weaver
