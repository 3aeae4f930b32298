// Weaver's own failures, as CAF errors of the category "weaver": a domain
// failure (a frame the pool dropped, a job its card failed, a batch the
// store refused) is told apart from CAF's system errors (a request timeout,
// a dead actor) by its category, not by borrowing a system code.
#pragma once

#include <cstdint>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace weaver {

enum class errc : uint8_t {
  frame_dropped = 1, // the pool dropped the frame and counted why (context: the reason)
  card_failed, // the job failed on its card (context: card and error)
  store_failed, // the store could not write a batch (context: the error)
  bad_reply, // a peer's reply is not the answer asked for (context: link and why)
};

/// The category atom of Weaver's errors.
constexpr caf::atom_value error_category = caf::atom("weaver");

std::string to_string(errc x);

/// A Weaver error without context (CAF finds it for `error == errc::x`).
caf::error make_error(errc x);
/// A Weaver error with a context message.
caf::error make_error(errc x, std::string context);

/// Registers the category, so actor_system::render names Weaver's errors.
void add_error_category(caf::actor_system_config& cfg);

} // namespace weaver
