// Weaver's configuration: one YAML file, validated up front. Every error names
// the key and the reason ("cameras[2].source: no such file: /x.avi").
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "accel/detect/detector.hpp"
#include "accel/sim_card.hpp"
#include "actors/camera/camera_config.hpp"
#include "actors/query/standing_queries.hpp"
#include "actors/reid/reid_engine.hpp"
#include "actors/reid/resolve_pass.hpp"
#include "actors/tracker/deep_sort.hpp"
#include "actors/tracker/tracklet_repair.hpp"
#include "actors/tracker/zone_events.hpp"
#include "base/types.hpp"

namespace weaver {

/// Thrown for invalid configuration; what() is "key: reason".
struct config_error : std::runtime_error {
  config_error(const std::string& key, const std::string& reason) : std::runtime_error(key + ": " + reason), key(key) {}
  std::string key;
};

struct detector_config {
  // auto: nanodet when dnn.model exists, else motion | nanodet | darknet | onnx | motion | hog
  std::string kind = "auto";
  int queue = 4; // frames in flight per camera (admission bound)
  int64_t max_age_ms = 2000; // realtime: frames older than this are dropped
  double hog_upscale = 1.5; // HOG misses people under ~128 px: upscale first
  double hog_threshold = 0.5; // SVM margin; measured best precision/recall trade-off
  int motion_min_area = 400; // px; smaller blobs are mostly noise
  dnn_options dnn; // nanodet / darknet / onnx (model paths resolved)
  appearance_options appearance; // detector.appearance: centre_sigma, surround
};

struct card_config {
  std::string kind = "cpu"; // cpu | sim | xrt
  std::string name;
  int threads = 1; // cpu: worker threads
  sim_card_options sim; // sim: service-time model, faults, results
  // xrt: an Alveo card through XRT
  std::string device = "0"; // index or PCIe BDF
  std::string xclbin; // resolved path
  std::string kernel = "weaver_dnn";
  int batch = 1; // frames per kernel run
  int64_t timeout_ms = 1000; // per run
  std::string emulation; // "" = hardware, "noop" = XRT's noop shim
};

/// The accelerator pool's scheduling (accel/pool_scheduler.hpp).
struct pool_config {
  size_t queue_per_camera = 16; // jobs waiting per camera; a full queue drops its oldest
  int depth = 2; // batches a card may hold per slot
  std::string policy = "earliest_completion"; // or round_robin
  int64_t card_timeout_ms = 5000; // no completion this long: the card is down
  int64_t probe_ms = 1000; // a down card is re-probed this often
};

struct tracker_config {
  // sort (IoU only) or deepsort. On Weaver's own NanoDet detections SORT
  // measured better (full vtest.avi: IDF1 0.684 vs 0.604, cross-camera
  // answers off by 2.5 vs 4.5 people); Deep SORT wins on the public Faster
  // R-CNN detections (IDF1 0.583 vs 0.396). README, "Tracking and re-id".
  std::string kind = "sort";
  deep_sort_config deep; // deepsort's parameters (actors/tracker/deep_sort.hpp)
  float iou_threshold = 0.3f; // sort
  int max_age = 5; // sort
  int min_hits = 3; // sort
  // Appearance vector tracks and re-id compare: "handcrafted" (HSV stripe
  // histograms) or "dnn" (the detector's pooled backbone features).
  std::string appearance = "handcrafted";
  std::string state_file; // trackers' snapshot, restored at start ("" = none)
  // Tracklet repair (actors/tracker/tracklet_repair.hpp): "join" gives a
  // fragment's continuation its id, "fill" (the default) also writes
  // interpolated boxes to --tracks. It was off while its appearance gate
  // (0.6) let it join different people and the offline pass merged on group
  // means; with the 0.9 gate and the handover pass it lifts the full-frame
  // MOTA/IDF1 and the demo's cross-camera answers (README, "Tracking and
  // re-identification").
  std::string repair = "fill";
  // Zones edited at run time (PUT /v1/cameras/{camera}/zones) are written
  // here and, at start, replace the configured zones and lines of their
  // cameras ("" = none: edits last until restart). services/zones_file.hpp.
  std::string zones_file;
  std::set<uint32_t> zones_edited; // the cameras whose shapes came from it
};

/// Tracklet repair's settings for `tracker.repair` (join or fill): the
/// tracker role's and `weaver eval crosscam --replay --repair`'s.
tracklet_repair_config repair_settings(const tracker_config& t);

struct reid_config_section : reid_config {
  std::string state_file; // snapshot kept here, restored at start ("" = none)
  // reid.resolve: the offline pass (actors/reid/offline_resolver); its
  // links are reid.links. schedule.every_ms = 0: on demand only.
  resolver_config resolver;
  resolve_schedule schedule;
  // reid.handoff: hand the presence of people cut by a view's bottom edge to
  // the view holding their foot (reid_config::handoff, from shared_source_views).
  bool handoff_on = false;
};

struct query_config {
  int64_t max_transit_ms = 60000; // X->Y: max time from leaving X to entering Y
  int64_t max_stay_ms = 86'400'000; // occupancy: the longest stay looked back for
  std::vector<alert_rule> alerts; // standing queries
  int64_t alert_poll_ms = 1000; // how often the standing queries run
  std::vector<std::pair<uint32_t, uint32_t>> transitions; // pairs to answer in the summary
  std::vector<uint32_t> every_camera; // set for "seen on every camera"
};

/// A bearer token of the REST gateway and the scopes it grants.
struct gateway_token {
  std::string name; // for logs; never the token itself
  std::string token;
  // query (the /v1 queries and pictures), alerts (/v1/alerts/stream), zones
  // (PUT /v1/cameras/{camera}/zones: a write). Without `scopes` in the
  // configuration: query and alerts, read only.
  std::vector<std::string> scopes;
};

/// The REST gateway (services/gateway). Its port is config::gateway_port.
struct gateway_config {
  std::string bind = "127.0.0.1";
  // "bearer": every route but /healthz, /readyz, /metrics needs a token, and
  // the gateway refuses to start without one. "none": no authentication (say
  // so explicitly; for a loopback-only gateway).
  std::string auth = "bearer";
  std::vector<gateway_token> tokens;
  // Environment variable holding one more token (all scopes, zones too), read when the
  // gateway starts; the Helm chart sets WEAVER_GATEWAY_TOKEN from a Secret.
  std::string token_env = "WEAVER_GATEWAY_TOKEN";
  int64_t poll_ms = 250; // alert streams poll the events query this often
  int64_t keepalive_s = 15; // an idle alert stream sends a comment this often
  int64_t timeout_ms = 10000; // a query not answered in time: 504
  int threads = 16; // HTTP worker threads
  int max_streams = 8; // open alert streams at most (each holds a thread)
  // The web console (services/gateway/web): served at / unless false.
  bool console = true;
  std::string web_root; // "" = the files built into the binary; else serve this folder's
  int64_t session_ttl_s = 43200; // a browser login (POST /login) lasts this long
  bool secure_cookie = false; // the session cookie only over HTTPS (behind a TLS proxy)
  // Origins (scheme://host[:port]) whose pages may call the API with a
  // bearer token (CORS); none by default. Cookies are never sent cross-origin.
  std::vector<std::string> cors_origins;
  // Camera snapshots for the console (GET /v1/cameras/{camera}/live): only
  // of the cameras this process opens (weaver run, or a node with the
  // camera and gateway roles); each camera encoded at most snapshot_fps
  // times a second whoever watches.
  bool snapshots = true;
  double snapshot_fps = 2;
  int snapshot_quality = 70; // JPEG quality
  int snapshot_width = 960; // wider frames are scaled down
  // A camera whose newest picture is older than this is shown stale (down);
  // 0 = never. 10 s: many periods of the picture rates in use (a camera's
  // frames, the snapshots' 2/s, a mesh.live_fps of 1/s), so a busy machine
  // does not flap it, yet a dead camera shows within one glance at the
  // console. At least 3 periods of mesh.live_fps (checked).
  double stale_after_s = 10;
  // POST /login per client address: a burst, refilled at this rate (429 beyond).
  double login_per_minute = 10;
  int login_burst = 5;
};

/// The process-level mesh: which roles run here and where each role listens.
struct mesh_config {
  std::vector<std::string> roles; // `weaver node` without --role hosts these
  std::map<std::string, std::string> endpoints; // role -> zmq endpoint it binds
  // mesh.security: "curve", "plain", or "" (not set: curve when mesh.keys
  // is there, else a node with remote links refuses to start).
  std::string security;
  // mesh.keys: this node's secret key (a file, or an environment variable
  // holding it) and each role's public key (Z85 text, a file, or env:VAR).
  std::string secret_file, secret_env;
  std::map<std::string, std::string> public_keys; // role -> key source
  // mesh.compact: stages send only what the next one reads, features as int8
  // and boxes in quarter pixels (schemas/compact.hpp); false sends floats.
  bool compact = true;
  // mesh.live_fps: the tracker beside the cameras sends each camera's
  // latest picture with its boxes this many times a second (0 = never, the
  // default) with its batches to storage, for a gateway in another process
  // (actors/tracker/live_sampler); live_width / live_quality: its JPEG.
  double live_fps = 0;
  int live_width = 640;
  int live_quality = 70;
};

struct config {
  std::string file; // the YAML file it came from
  bool realtime = false; // pace at fps and drop stale frames
  std::vector<camera_config> cameras;
  detector_config detector;
  std::vector<card_config> cards;
  bool cards_all = false; // `cards: all`: every card found at start (cpu + xrt devices)
  card_config xrt_defaults; // `xrt:` section: settings for discovered xrt devices
  pool_config pool;
  tracker_config tracker;
  reid_config_section reid;
  std::string storage_path = "weaver.db"; // a SQLite path or a postgresql:// URL
  int64_t retention_ms = 0; // storage.retention_days; 0 = keep everything
  // storage.crops: cut each track's evidence crop and keep it in the store
  // (actors/storage/pictures), on SQLite and PostgreSQL alike.
  bool crops = true;
  // An older form accepted, to be logged as a warning when the configuration
  // is used (storage.crops naming a folder); empty for a current one.
  std::vector<std::string> notices;
  query_config query;
  int metrics_port = 0; // 0 = no exposer
  std::string metrics_bind = "127.0.0.1";
  int gateway_port = 0; // gateway.port; 0 = no REST gateway
  gateway_config gateway;
  mesh_config mesh;

  const camera_config* camera(uint32_t id) const;
};

/// Every role a process can host.
const std::vector<std::string>& known_roles();

/// Loads and validates; paths in the file are relative to the file's folder.
/// Any string value may name environment variables, "${VAR}" or
/// "${VAR:-default}" ("$$" is a literal "$"), so secrets (camera passwords,
/// database URLs) can come from the environment, e.g. a Kubernetes Secret;
/// an unset variable without a default is an error naming the key.
/// Throws config_error.
config load_config(const std::string& path);
/// The pool may hold an xrt card (listed, or `cards: all` with an xclbin):
/// then detector.dnn.int8_exact is forced on (parse_config does).
bool int8_exact_forced(const config& cfg);

/// The views whose bottom edge another view continues: virtual cameras (a
/// crop, no warp) of one source with another camera's crop just below
/// (sharing part of the edge's width, touching or overlapping it), as
/// camera id -> view width, height (re-id's reid_config::view_sizes). A
/// person cut off by such an edge stands on the view below; the edge of the
/// image itself says nothing of where they stand.
std::map<uint32_t, std::pair<int, int>> views_continued_below(const std::vector<camera_config>& cameras);

/// The views whose geometry is known: virtual cameras (a crop, or a crop and
/// a warp) of a source that at least one other camera also views, each with
/// the homography from source to view pixels (re-id's view_handoff).
std::vector<view_geometry> shared_source_views(const std::vector<camera_config>& cameras);

/// The detector settings as the detectors take them.
detector_options detector_options_of(const detector_config& d);

/// What detector.kind accepts: auto, then detector_kinds().
std::vector<std::string> config_detector_kinds();

/// Same from YAML text; relative paths are resolved from `file_dir` (the
/// file's folder), or from the folder a top-level `paths_from` names.
config parse_config(const std::string& yaml_text, const std::string& file_dir, const std::string& file = "<string>");

} // namespace weaver
