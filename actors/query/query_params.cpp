#include "actors/query/query_params.hpp"

#include <limits>
#include <map>
#include <stdexcept>

namespace weaver {

namespace {

constexpr int64_t camera_max = std::numeric_limits<uint32_t>::max();
constexpr int64_t thirty_days_s = 30LL * 86400; // time spans: transits, steps, buckets

} // namespace

const int_bounds& query_int_param(const std::string& name) {
  static const std::map<std::string, int_bounds> table{
    {"camera", {0, camera_max}},
    {"from", {0, camera_max}},
    {"to", {0, camera_max}},
    {"limit", {1, max_page}},
    {"offset", {0, std::nullopt}},
    {"max_transit_s", {-1, thirty_days_s}}, // -1: no limit
    {"step_s", {1, thirty_days_s}},
    {"bucket_s", {1, thirty_days_s}},
    {"top", {1, 10000}},
    {"min_length", {1, 1000}},
    {"max_step_s", {0, thirty_days_s}},
    {"person", {0, std::nullopt}},
    {"since_id", {0, std::nullopt}},
    {"track", {0, std::nullopt}},
  };
  auto it = table.find(name);
  if (it == table.end()) throw std::out_of_range("no integer query parameter '" + name + "'");
  return it->second;
}

} // namespace weaver
