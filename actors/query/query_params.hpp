// The queries' integer parameters and their bounds, defined once: the query
// actor checks requests against them, and the gateway's route table states
// them (and so services/gateway/openapi.yaml, held to the table by
// tests/unit/gateway_routes_test.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace weaver {

struct int_bounds {
  int64_t min = 0;
  std::optional<int64_t> max; // none: no upper bound
};

/// Items per page of a list answer: the default and the most.
constexpr int64_t default_page = 100;
constexpr int64_t max_page = 10000;

/// The inclusive bounds of an integer query parameter by name (the same name
/// means the same thing in every query: camera, from, to, limit, offset,
/// max_transit_s, step_s, bucket_s, top, min_length, max_step_s, person,
/// since_id). Throws std::out_of_range for a name that is none of them.
const int_bounds& query_int_param(const std::string& name);

} // namespace weaver
