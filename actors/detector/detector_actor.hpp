// The detector actor: admits frames per camera (bounded), runs them on the
// accelerator pool (several at once for stateless detectors), and sends each
// camera's detection batches to the tracker in frame order. A frame holds its slot until the tracker acknowledged its
// batch, so the bound covers the whole pipeline (back-pressure end to end).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "accel/detect/detector.hpp"
#include "actors/actors.hpp"
#include "actors/detector/detection_log.hpp"
#include "schemas/compact.hpp"

namespace weaver {

struct detector_settings {
  std::string kind = "motion";
  detector_options options;
  int queue = 4; // frames in flight per camera
  bool realtime = false; // drop instead of waiting when full
  std::shared_ptr<detection_log> log; // optional: every batch as MOT text
  // Compact batches for the tracker (mesh.compact), keeping the appearance
  // it reads; nullopt sends every float.
  std::optional<compact::appearance> compact;
  // Engines made ahead per camera, each already run once on a frame of the
  // camera's size (its model compiled; the cards' workers were prepared
  // with it): in real time the first frames would otherwise wait for that
  // and be dropped.
  std::map<uint32_t, std::vector<std::shared_ptr<detector>>> prepared;
};

struct detector_state {
  static inline const char* name = "detector";
  struct camera_slot {
    // Stateless detectors run several frames of a camera at once, on
    // different cards: one engine per frame in flight (an engine is not
    // shared between threads; it is small, the buffers it runs on belong to
    // the card workers). Stateful ones (motion) have one, one frame at a
    // time: the others wait in `held`, admitted, with their admission time.
    std::vector<std::shared_ptr<detector>> engines;
    std::vector<bool> engine_busy;
    std::deque<std::pair<frame_ptr, int64_t>> held;
    std::deque<uint64_t> order; // admitted, not yet passed on
    std::map<uint64_t, std::optional<detection_batch>> ready; // finished out of order
    int in_flight = 0;
    std::deque<std::pair<frame_ptr, caf::typed_response_promise<caf::ok_atom>>> waiting;
    bool eos = false;
    end_of_stream eos_msg;
    caf::typed_response_promise<caf::ok_atom> eos_rp;
  };
  detector_settings settings;
  std::map<uint32_t, camera_slot> cameras;
  fpga_pool_actor pool;
  tracker_actor tracker;
  run_stats_ptr stats;
};

detector_actor::behavior_type detector_actor_impl(detector_actor::stateful_pointer<detector_state> self,
                                                  detector_settings settings, fpga_pool_actor pool,
                                                  tracker_actor tracker, run_stats_ptr stats);

} // namespace weaver
