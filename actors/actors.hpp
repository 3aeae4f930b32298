// Every actor interface of Weaver in one place (CAF 0.17.6 typed actors).
// Each stage replies `ok` once it has taken a message over; senders bound
// what they have outstanding, which gives back-pressure end to end (see
// README, "Flow control"). Remote links (services/bridge) present these same
// interfaces.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "accel/card.hpp"
#include "base/types.hpp"

namespace weaver {

using status_atom = caf::atom_constant<caf::atom("status")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using complete_atom = caf::atom_constant<caf::atom("complete")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using inbound_atom = caf::atom_constant<caf::atom("inbound")>;
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;

/// Counters for the run summary, shared by the actors of one process.
struct run_stats {
  std::atomic<uint64_t> frames{0}, frames_dropped{0}, detections{0}, tracks{0};
  std::atomic<uint64_t> identities{0}, presence_rows{0}, bytes_raw{0}, bytes_sent{0};
  std::atomic<uint64_t> bytes_source{0}; // the sources' compressed bytes (video_source::take_source_bytes)
  std::atomic<uint64_t> rejected{0}, zone_events{0};
};
using run_stats_ptr = std::shared_ptr<run_stats>;

/// Detector: admits frames (bounded per camera), runs them on the pool,
/// sends detection batches in frame order to the tracker.
using detector_actor =
  caf::typed_actor<caf::replies_to<frame_ptr>::with<caf::ok_atom>, // replies when admitted or dropped
                   caf::replies_to<end_of_stream>::with<caf::ok_atom>>; // a camera ended

/// Accelerator pool: per-camera queues, dispatch to cards, card health.
using fpga_pool_actor = caf::typed_actor<caf::replies_to<inference_job>::with<detection_batch>, // the job's detections
                                         caf::replies_to<status_atom>::with<std::string>, // cards and queues, as JSON
                                         caf::reacts_to<card_done>, // a card finished a batch (internal)
                                         caf::reacts_to<tick_atom>>; // timeouts, expiry, probes (internal)

/// Tracker: SORT per camera.
using tracker_actor = caf::typed_actor<caf::replies_to<detection_batch>::with<caf::ok_atom>, // one frame's detections
                                       caf::replies_to<end_of_stream>::with<caf::ok_atom>>;

/// Re-id: global person ids, presence intervals.
using reid_actor = caf::typed_actor<caf::replies_to<track_batch>::with<caf::ok_atom>, // one frame's track events
                                    caf::replies_to<end_of_stream>::with<caf::ok_atom>>;

/// Storage: durable rows; replies once committed.
using storage_actor = caf::typed_actor<caf::replies_to<presence_batch>::with<caf::ok_atom>, // committed
                                       caf::replies_to<end_of_stream>::with<caf::ok_atom>,
                                       caf::reacts_to<tick_atom>, // retention (internal)
                                       caf::reacts_to<resolve_atom>>; // scheduled offline re-resolution (internal)

/// Query: answers named queries over the store; runs the standing queries.
using query_actor =
  caf::typed_actor<caf::replies_to<query_request>::with<query_response>,
                   caf::replies_to<flush_atom>::with<caf::ok_atom>, // run the alert rules now (end of a run)
                   caf::reacts_to<tick_atom>>; // alert rules (internal)

} // namespace weaver

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::frame_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::detection_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::track_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::presence_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::end_of_stream)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::query_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::query_response)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::inference_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::inference_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weaver::card_done)
