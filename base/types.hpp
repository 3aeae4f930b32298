// Plain data that flows between Weaver's actors, in process and (through the
// FlatBuffers codec in schemas/codec) across processes. No CAF here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace weaver {

/// Every time in Weaver is milliseconds since the Unix epoch, UTC. The same
/// integer goes into `people_present.enter` / `exit` (see README, "Time").
using timestamp_ms = int64_t;

/// An axis-aligned box in source pixels: top-left corner, width, height.
struct box {
  float x = 0, y = 0, w = 0, h = 0;
  float area() const { return w > 0 && h > 0 ? w * h : 0.f; }
  friend bool operator==(const box& a, const box& b) { return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h; }
};

/// Intersection over union of two boxes (0 when either is empty).
float iou(const box& a, const box& b);

/// One decoded frame of one camera. `image` is BGR8; for a virtual camera it
/// is a ROI view into the decoded source frame (decode once, crop many), so
/// it shares the pixels and is never copied in process.
struct frame {
  uint32_t camera_id = 0;
  uint64_t seq = 0; // per-camera sequence number, from 0
  timestamp_ms capture_ms = 0; // configured start time + seq / fps
  cv::Mat image;
};
using frame_ptr = std::shared_ptr<const frame>;

/// One detected object.
struct detection {
  box bbox;
  float score = 0;
  int32_t class_id = 0; // 0 = person
  std::vector<float> feature; // appearance vector, L2-normalised, may be empty
  std::vector<float> embedding; // learned (DNN backbone) embedding, L2-normalised, may be empty
};

/// All detections of one frame of one camera.
struct detection_batch {
  uint32_t camera_id = 0;
  uint64_t seq = 0;
  timestamp_ms capture_ms = 0;
  int32_t width = 0, height = 0; // frame size the boxes refer to
  std::vector<detection> detections;
};

enum class track_state : uint8_t { started = 0, updated = 1, ended = 2 };

/// A change of one camera-local track.
struct track_event {
  uint32_t camera_id = 0;
  uint64_t track_id = 0; // unique per camera
  track_state state = track_state::updated;
  timestamp_ms time_ms = 0;
  uint64_t frame_seq = 0;
  box bbox;
  float score = 0;
  std::vector<float> feature; // appearance (mean over the track for ended)
};

/// The track events one frame produced (possibly none), in frame order.
/// A track's stay in a named zone of its camera (actors/tracker/zone_events):
/// sent open (exit_ms < 0) when the track enters and again, closed, when it
/// leaves, so storage knows who is inside now (loitering, crowding).
struct zone_visit {
  uint32_t camera_id = 0;
  uint64_t track_id = 0;
  std::string zone;
  timestamp_ms enter_ms = 0;
  timestamp_ms exit_ms = -1; // < 0: still inside
  friend bool operator==(const zone_visit& a, const zone_visit& b) {
    return a.camera_id == b.camera_id && a.track_id == b.track_id && a.zone == b.zone && a.enter_ms == b.enter_ms
      && a.exit_ms == b.exit_ms;
  }
};

/// A camera-local track's evidence crop (actors/tracker/evidence): a small
/// JPEG of its best frame, cut where the frames are (the camera's process)
/// and carried with the track's last batch through re-id to storage, which
/// keeps it in the store with the rows (actors/storage/pictures).
struct evidence_crop {
  uint32_t camera_id = 0;
  uint64_t track_id = 0;
  timestamp_ms time_ms = 0; // of the frame it was cut from
  std::string jpeg;
};

/// Largest crop the mesh carries and the store keeps (a thumbnail is ~5 KB).
constexpr size_t max_crop_bytes = 256 * 1024;

/// One box of a live track (the console draws it with its track id and person).
struct live_box {
  uint64_t track_id = 0;
  box bbox; // source pixels of the camera's frame
  float score = 0;
  // The person re-id provisionally matches the open track to
  // (actors/reid/live_identity): where re-id runs in the camera's process,
  // or in the mesh on the live frames re-id passes on; none before a match.
  std::optional<uint64_t> person;
};

/// A camera's latest picture for the web console when the camera runs in
/// another process than the gateway: JPEG-encoded beside the cameras
/// (actors/tracker/live_sampler), rate-limited, carried with a track batch
/// through re-id to storage (actors/storage/pictures), served by the
/// gateway's snapshot routes.
struct live_frame {
  uint32_t camera_id = 0;
  uint64_t seq = 0; // the frame's
  timestamp_ms time_ms = 0; // its capture time
  int width = 0, height = 0; // of the source frame (the boxes' pixels)
  std::vector<live_box> boxes;
  std::string jpeg; // possibly scaled down
};

/// What the mesh carries and storage keeps of one live frame, at most.
constexpr size_t max_live_jpeg_bytes = size_t{1} << 20;
constexpr size_t max_live_boxes = 1024;

struct track_batch {
  uint32_t camera_id = 0;
  uint64_t seq = 0;
  timestamp_ms time_ms = 0;
  std::vector<track_event> events;
  std::vector<zone_visit> zone_visits; // zone entries and exits of this frame
  std::vector<evidence_crop> crops; // of the tracks that ended in this frame
  std::optional<live_frame> live; // the camera's picture, when one was due
};

/// Camera track -> global person id.
struct identity {
  uint32_t camera_id = 0;
  uint64_t track_id = 0;
  uint64_t person_id = 0;
  float confidence = 0;
};

/// A row of the seed's `people_present(person_id, camera_id, enter, exit)`.
struct presence {
  uint64_t person_id = 0;
  uint32_t camera_id = 0;
  timestamp_ms enter_ms = 0;
  timestamp_ms exit_ms = 0;
  friend bool operator==(const presence& a, const presence& b) {
    return a.person_id == b.person_id && a.camera_id == b.camera_id && a.enter_ms == b.enter_ms
      && a.exit_ms == b.exit_ms;
  }
};

/// A late correction: person `from` was person `into` all along; storage
/// rewrites its rows and identities.
struct person_merge {
  uint64_t from = 0, into = 0;
};

/// One ended camera-local track as re-id resolved it: what the offline pass
/// (actors/reid/offline_resolver) needs to re-solve identities from the store
/// alone. The feature is the track's mean appearance quantised to int8 by
/// its largest magnitude (quantise_feature): a quarter of float's size, and
/// cosine similarity, the only use, does not depend on the dropped scale.
struct tracklet {
  uint32_t camera_id = 0;
  uint64_t track_id = 0;
  uint64_t person_id = 0; // as re-id assigned it (online)
  timestamp_ms enter_ms = 0;
  timestamp_ms exit_ms = 0;
  box entry_box, exit_box; // first and last box, source pixels
  float confidence = 0; // of the online assignment, 0..1
  std::vector<int8_t> feature; // may be empty
  friend bool operator==(const tracklet& a, const tracklet& b) {
    return a.camera_id == b.camera_id && a.track_id == b.track_id && a.person_id == b.person_id
      && a.enter_ms == b.enter_ms && a.exit_ms == b.exit_ms && a.entry_box == b.entry_box && a.exit_box == b.exit_box
      && a.confidence == b.confidence && a.feature == b.feature;
  }
};

/// Longest tracklet feature (the codec refuses longer ones; as long as the
/// longest float feature the codec takes, so every track's fits).
constexpr size_t max_tracklet_feature = size_t{1} << 16;

/// A feature as int8: each component times 127 / the largest magnitude,
/// rounded (all zeros stay zeros). Cosine similarity survives to ~1e-3.
std::vector<int8_t> quantise_feature(const std::vector<float>& f);
/// Back to floats, L2-normalised (the scale is not kept: direction only).
std::vector<float> dequantise_feature(const std::vector<int8_t>& q);

/// What reid hands to storage: new identities, closed presence intervals and
/// merges (applied after the rows of the same batch).
struct presence_batch {
  std::vector<identity> identities;
  std::vector<presence> rows;
  std::vector<person_merge> merges;
  std::vector<zone_visit> zone_visits; // passed through from the trackers
  std::vector<tracklet> tracklets; // the ended tracks behind `rows`
  std::vector<evidence_crop> crops; // passed through from the trackers
  std::optional<live_frame> live; // passed through from a tracker
};

/// Marks the end of a camera's stream (file ended or --max-frames reached);
/// flows through every stage so each can flush and the run can finish.
struct end_of_stream {
  uint32_t camera_id = 0;
  uint64_t frames = 0; // frames the camera emitted
};

/// A query by name with string parameters (e.g. name "transitions",
/// params from=1, to=2, max_transit_s=600), answered as JSON.
struct query_request {
  uint64_t id = 0;
  std::string name;
  std::vector<std::pair<std::string, std::string>> params;
};

struct query_response {
  uint64_t id = 0;
  bool ok = false;
  std::string error; // set when !ok
  std::string json; // the answer when ok
  bool bad_request = false; // !ok because of the request (names the parameter), not the store
};

/// Liveness of a process/role on the mesh.
struct heartbeat {
  std::string role;
  timestamp_ms time_ms = 0;
  bool ready = false;
};

} // namespace weaver
