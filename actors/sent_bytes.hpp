// Counts what a stage sends after detection, the semantic compression the
// summary reports: the size of the message's FlatBuffers envelope. A link
// that crosses processes is counted by its outbound bridge from the envelope
// it encoded and sent (services/bridge.hpp); a link inside the process
// carries no envelope, so the stage encodes one to count it, once.
#pragma once

#include <string>

#include "actors/actors.hpp"
#include "base/metrics.hpp"
#include "schemas/codec.hpp"

namespace weaver {

/// Marks `link` ("detector->tracker") as served by an outbound bridge in
/// this process (true), or no longer (false): the bridge counts its bytes.
void set_remote_link(const std::string& link, bool remote);
bool remote_link(const std::string& link);

template <class T>
void count_sent(const run_stats_ptr& stats, const std::string& link, const T& msg) {
  if (remote_link(link)) return; // the bridge counts what it sends
  auto size = codec::encode(msg, link, 0).size();
  metrics::global().link_bytes(link).Increment(static_cast<double>(size));
  if (stats) stats->bytes_sent += size;
}

/// count_sent for tracker->reid: what a link to another process carries.
/// Started / updated events' features kept for re-id in this process (live
/// person ids: compact_for_link's update_features) would not cross one, so
/// they are not counted (moved out and back, not copied).
void count_sent_tracks(const run_stats_ptr& stats, const std::string& link, track_batch& tb);

} // namespace weaver
