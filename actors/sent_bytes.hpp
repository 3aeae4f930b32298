// Counts what a stage sends after detection, the semantic compression the
// summary reports: the size of the message's FlatBuffers envelope (the same
// encoder a remote link uses), whether the link is local or remote. Remote
// bridges therefore do not count these messages again.
#pragma once

#include <string>

#include "actors/actors.hpp"
#include "services/codec.hpp"
#include "services/metrics.hpp"

namespace weaver {

template <class T>
void count_sent(const run_stats_ptr& stats, const std::string& link, const T& msg) {
  auto size = codec::encode(msg, link, 0).size();
  metrics::global().link_bytes(link).Increment(static_cast<double>(size));
  if (stats) stats->bytes_sent += size;
}

} // namespace weaver
