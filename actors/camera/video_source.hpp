// A camera's pixel source: a video file, a network stream (RTSP/HTTP) or a
// V4L2 device, behind one open/read interface. No CAF here; the camera actor
// adds pacing and reconnects (with `backoff`) around it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

namespace weaver {

enum class source_kind { file, network, device };

/// "file", "network" or "device".
const char* to_string(source_kind k);

/// A source or URL as it may be printed (logs, errors, summaries, labels):
/// the password of "scheme://user:password@host" and the values of query
/// parameters that name a secret (password, passwd, pwd, pass, token, key,
/// secret, auth, ...) become "***". Anything else is returned unchanged.
std::string shown_source(const std::string& source);

/// What a source string denotes. Syntax:
///   rtsp://... rtsps://... rtmp://... http://... https://...  -> network
///   /dev/videoN                                               -> device N
///   anything else                                             -> file path
/// "remote:<where>": a camera that another node opens (a Helm chart's
/// tracker, re-id or storage pods know the camera, its edge pod opens it).
/// Accepted by configuration checks; a camera role refuses to host it.
bool is_remote_source(const std::string& source);

struct source_spec {
  source_kind kind = source_kind::file;
  std::string location; // the source string as given
  int device_index = -1; // N of /dev/videoN, else -1

  /// Never fails: validation (does the file exist, ...) is `video_source::check`.
  static source_spec parse(const std::string& source);
};

/// How RTSP carries the media: "tcp" (interleaved in the RTSP connection:
/// passes NAT and firewalls, no loss; the default), "udp" (lower latency,
/// may lose packets) or "auto" (FFmpeg's own order: UDP, then TCP).
enum class rtsp_transport { tcp, udp, automatic };

struct source_options {
  // Bounds for network streams, so a dead camera fails instead of hanging.
  int open_timeout_ms = 5000;
  int read_timeout_ms = 5000;
  rtsp_transport transport = rtsp_transport::tcp;
  // How much of a stream FFmpeg reads to learn its format before the first
  // frame. Its defaults (5 MB, 5 s) cost ~2 s per (re)connect on a 10 fps
  // MJPEG stream; 512 KB and 1 s open it in ~0.6 s (README, "Configuration").
  int probe_kb = 512;
  int analyze_ms = 1000;
};

class video_source {
public:
  /// Quick validation for config, without decoding: a missing file, a
  /// missing device node or a malformed URL gives a message such as
  /// "no such file: /x.avi" or "not a V4L2 device: /dev/video9".
  /// Network streams are not contacted. nullopt when plausible.
  static std::optional<std::string> check(const std::string& source);

  explicit video_source(std::string source, source_options opts = {});

  /// Opens (or reopens) the source. On failure returns false and, when
  /// `error` is non-null, says why, naming the source.
  bool open(std::string* error);

  /// The next frame (BGR8). False at end of a file, on a read error or
  /// timeout of a stream, or when not open.
  bool read(cv::Mat& out);

  void close();
  bool is_open() const { return cap_.isOpened(); }
  bool is_file() const { return spec_.kind == source_kind::file; }
  const source_spec& spec() const { return spec_; }

  /// Frame rate the source declares, 0 when unknown (many streams/devices).
  double fps() const { return fps_; }
  int width() const { return width_; }
  int height() const { return height_; }
  /// Frames in a file as its container says (may be approximate), -1 unknown.
  int64_t frame_count() const { return frame_count_; }

  /// The source's compressed bytes behind the frames read since the last
  /// call (issue 17: what the video would cost to ship instead). Files: the
  /// size of the packet FFmpeg's demuxer reads next to each decoded frame
  /// (a second capture in raw mode, CAP_PROP_FORMAT -1), and at the end of
  /// the file the rest of it (headers, index), so a whole file counts its
  /// exact size; without raw mode, the file's size times frames read / frames
  /// declared. Network streams: the bitrate the stream reports
  /// (CAP_PROP_BITRATE) over 1 / fps per frame, since OpenCV does not expose
  /// the bytes received; 0 when it reports none. Devices: 0 (uncompressed).
  uint64_t take_source_bytes();
  /// How take_source_bytes counts: "packets", "file share", "bitrate", "none".
  const char* source_bytes_basis() const;

  /// E.g. "file /data/a.avi (768x576 @ 10 fps)"; for logs and errors.
  /// Passwords masked (shown_source).
  std::string describe() const;
  /// The source as it may be printed (shown_source).
  const std::string& shown() const { return shown_; }

private:
  void open_network(const std::vector<int>& params);

  source_spec spec_;
  std::string shown_;
  source_options opts_;
  void count_frame_bytes();
  void count_rest_of_file();

  cv::VideoCapture cap_;
  cv::VideoCapture packets_; // the same file, undecoded (raw mode)
  uint64_t file_size_ = 0; // bytes of the file when opened
  uint64_t counted_ = 0; // source bytes counted since open
  uint64_t pending_ = 0; // ... not yet taken
  uint64_t frames_read_ = 0; // since open
  bool rest_counted_ = false; // the file's end was counted
  double bitrate_kbps_ = 0; // a stream's own figure, 0 when unknown
  double fps_ = 0;
  int width_ = 0, height_ = 0;
  int64_t frame_count_ = -1;
};

/// Reconnect delays: initial, doubling, capped at max; reset() after a
/// successful connection. Deterministic (no jitter), so it is testable.
class backoff {
public:
  explicit backoff(int64_t initial_ms = 500, int64_t max_ms = 30000);
  /// The delay to wait before the next attempt.
  int64_t next();
  void reset() { current_ = initial_; }

private:
  int64_t initial_, max_, current_;
};

} // namespace weaver
