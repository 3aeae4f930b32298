// Bridge pairs that make a remote actor look local. The outbound bridge
// presents the remote actor's typed interface, encodes every message as a
// FlatBuffers envelope and sends it over ZeroMQ (services/zmq_link); its
// reply arrives when the remote side acknowledged. The inbound bridge
// verifies every buffer (flatbuffers::Verifier inside codec::decode), counts
// and logs what fails, and never crashes on bad bytes; good messages go to
// the local actor, whose reply becomes the acknowledgement.
#pragma once

#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/actors.hpp"
#include "schemas/codec.hpp"
#include "services/zmq_link.hpp"

namespace weaver {

struct outbound_state {
  static inline const char* name = "outbound_bridge";
  std::string link; // e.g. "detector->tracker", a metric label
  std::string sender; // unique per process and link
  uint64_t next_seq = 1;
  std::unique_ptr<zmq_outbound> out;
  std::map<uint64_t, std::pair<caf::response_promise, bool>> pending; // bool: expects a query reply
  run_stats_ptr stats;
};

caf::behavior outbound_bridge(caf::stateful_actor<outbound_state>* self, std::string link, std::string endpoint,
                              run_stats_ptr stats, link_security security);

/// Spawns an outbound bridge to `endpoint` presenting interface `Handle`.
template <class Handle>
Handle spawn_outbound(caf::actor_system& sys, const std::string& link, const std::string& endpoint, run_stats_ptr stats,
                      link_security security = {}) {
  return caf::actor_cast<Handle>(sys.spawn(outbound_bridge, link, endpoint, std::move(stats), std::move(security)));
}

/// The local actors an inbound bridge may deliver to (unset ones reject).
struct inbound_targets {
  std::string role; // which role this endpoint serves
  detector_actor detector;
  tracker_actor tracker;
  reid_actor reid;
  storage_actor storage;
  query_actor query;
  caf::actor watcher; // told (done_atom, camera) when an end of stream is acked
  // The User-Id (the authenticated upstream's role) every message must carry
  // to be acted on; empty on a plain link. Set by spawn_inbound.
  std::string upstream;
};

/// ZMQ_MAXMSGSIZE of an inbound link, by the role it serves: the largest
/// message that role can legitimately receive, with room to spare. Frames
/// (the detector's link): a raw BGR image of the largest size decode
/// accepts plus 1 MiB of envelope. Every other role gets batches, queries
/// and control messages: 64 MiB, twice a detection batch of 1000 boxes with
/// two 4096-float vectors each (real batches are tens of kilobytes).
constexpr int64_t max_frame_message_bytes = 3 * codec::max_image_pixels + (int64_t{1} << 20);
constexpr int64_t max_batch_message_bytes = int64_t{64} << 20;
int64_t max_message_bytes(const std::string& role);

struct inbound_state {
  static inline const char* name = "inbound_bridge";
  std::string link;
  inbound_targets targets;
  std::shared_ptr<zmq_inbound> in;
  sequence_gate gate;
  uint64_t gate_expired = 0, gate_evicted = 0; // the gate's counts already in the metrics
  std::set<std::pair<std::string, uint64_t>> in_progress; // (sender, seq) handed over, not acked
  uint64_t rejected = 0;
  run_stats_ptr stats;
};

caf::behavior inbound_bridge(caf::stateful_actor<inbound_state>* self, std::shared_ptr<zmq_inbound> in,
                             inbound_targets targets, run_stats_ptr stats);

struct inbound_link {
  caf::actor bridge;
  std::shared_ptr<zmq_inbound> socket;
};

/// Binds `endpoint` and spawns its inbound bridge; throws std::runtime_error
/// naming the endpoint when it cannot bind (before any actor exists). With
/// `security.curve`, only the allowed upstream key connects, and only
/// messages authenticated as that upstream are acted on.
inbound_link spawn_inbound(caf::actor_system& sys, const std::string& endpoint, inbound_targets targets,
                           run_stats_ptr stats, const link_security& security = {});

} // namespace weaver
