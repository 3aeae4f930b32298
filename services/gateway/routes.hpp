// The REST gateway's routes: one table that drives the HTTP server
// (services/gateway/gateway.hpp), the `weaver query` client
// (services/query_cli.hpp), `weaver query --list` and the checks that keep
// services/gateway/openapi.yaml in step with the code
// (tests/unit/gateway_routes_test.cpp).
//
// Every route is a GET. Query routes forward to the query actor under the
// route's query name, with the path parameters and query-string parameters
// as the request's params (names unchanged). Times are ISO-8601 strings in
// both directions; list answers are paginated by the query actor (limit,
// offset; answers carry total, offset, limit, next_offset).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace weaver::gateway {

/// How a parameter's text is checked before it is forwarded.
enum class param_type {
  integer, // -12, 0, 42
  string, // anything non-empty
  time, // ISO-8601 date or date-time (base/iso8601.hpp)
  date, // YYYY-MM-DD
  id_list, // comma-separated integers: 1,2,3
  enumeration, // one of route_param::values
};

/// The OpenAPI name of a parameter type's schema ("integer", "string", ...).
const char* type_name(param_type t);

struct route_param {
  std::string name;
  param_type type = param_type::string;
  bool required = false;
  bool in_path = false; // a {name} segment of the route's path
  std::string description; // one line
  std::string example; // valid against the demo data (tools/gen_history)
  std::vector<std::string> values; // enumeration: the allowed values
  std::optional<long long> min, max; // integer bounds, inclusive
};

enum class route_kind {
  query, // JSON answer of the query actor
  stream, // Server-Sent Events (polls a query)
  health, // /healthz, /readyz, /metrics: no token
};

struct route {
  std::string path; // OpenAPI form: /v1/people/{person}/trajectory
  route_kind kind = route_kind::query;
  std::string query; // the query actor's name (query, stream)
  std::string scope; // the bearer token scope it needs ("" = none)
  std::string summary; // one line
  std::vector<route_param> params;
  /// Each group: at least one of these parameters is required.
  std::vector<std::vector<std::string>> one_of;

  const route_param* param(const std::string& name) const;
};

/// Every route the gateway serves, in a stable order.
const std::vector<route>& routes();

/// The route of an OpenAPI path ("/v1/transitions"), or null.
const route* find_route_by_path(const std::string& path);

/// The route serving a query name ("transitions"), or null.
const route* find_route_by_query(const std::string& query);

/// The scopes tokens may carry.
const std::vector<std::string>& known_scopes();

/// The regular expression httplib matches the route with: {x} becomes a
/// capture group of one path segment.
std::string server_pattern(const route& r);

/// A request's parameters, checked against the route: unknown, repeated,
/// missing and malformed parameters are errors naming the parameter
/// ("t0: expected an ISO-8601 time, got 'x'", "unknown parameter 'x'").
/// `path_values` are the path parameters in the order of the path.
struct checked_params {
  std::vector<std::pair<std::string, std::string>> params; // path first, then query
  std::string error; // empty = ok
};
checked_params check_params(const route& r, const std::vector<std::pair<std::string, std::string>>& query,
                            const std::vector<std::string>& path_values);

/// The error for one value of a parameter, or "" when it is fine.
std::string check_value(const route_param& p, const std::string& value);

/// The request target for a route and parameters (client side): path
/// parameters substituted, the others URL-encoded into the query string.
/// Throws std::invalid_argument naming the parameter on a missing path
/// parameter.
std::string build_target(const route& r, const std::vector<std::pair<std::string, std::string>>& params);

/// Well-formed UTF-8 (no overlong forms, surrogates or code points past
/// U+10FFFF): what the gateway requires of every path, parameter and header
/// it reads, since its answers are JSON and echo them.
bool valid_utf8(const std::string& s);

/// Percent-encodes a query-string component.
std::string url_encode(const std::string& s);

/// The table as JSON (for `weaver query --list --json` and tests).
nlohmann::json routes_json();

/// The table as text, one route per block (for `weaver query --list`).
std::string routes_text();

} // namespace weaver::gateway
