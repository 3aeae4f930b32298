#include "services/gateway/routes.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>
#include <stdexcept>

#include "actors/query/query_params.hpp"
#include "actors/query/standing_queries.hpp"
#include "base/iso8601.hpp"

namespace weaver::gateway {

const char* type_name(param_type t) {
  switch (t) {
    case param_type::integer:
      return "integer";
    case param_type::string:
      return "string";
    case param_type::time:
      return "time";
    case param_type::date:
      return "date";
    case param_type::id_list:
      return "id_list";
    case param_type::enumeration:
      return "enum";
  }
  return "string";
}

const route_param* route::param(const std::string& name) const {
  for (auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

namespace {

// Builders for the table below.
// Its bounds are the query actor's (actors/query/query_params.hpp).
route_param integer(std::string name, std::string description, std::string example = "") {
  const auto& b = query_int_param(name);
  route_param p;
  p.name = std::move(name);
  p.type = param_type::integer;
  p.description = std::move(description);
  p.example = std::move(example);
  p.min = b.min;
  if (b.max) p.max = *b.max;
  return p;
}

route_param typed(param_type t, std::string name, std::string description, std::string example = "") {
  route_param p;
  p.name = std::move(name);
  p.type = t;
  p.description = std::move(description);
  p.example = std::move(example);
  return p;
}

route_param one_of_values(std::string name, std::vector<std::string> values, std::string description,
                          std::string example = "") {
  auto p = typed(param_type::enumeration, std::move(name), std::move(description), std::move(example));
  p.values = std::move(values);
  return p;
}

route_param required(route_param p) {
  p.required = true;
  return p;
}

route_param in_path(route_param p) {
  p.required = true;
  p.in_path = true;
  return p;
}

// The demo data (tools/gen_history) covers 2026-11-21.
const char* const day_example = "2026-11-21";
const char* const t0_example = "2026-11-21T00:00:00Z";
const char* const t1_example = "2026-11-22T00:00:00Z";

route_param t0(bool req) {
  auto p = typed(param_type::time, "t0", "Start of the interval, inclusive (ISO-8601)", t0_example);
  p.required = req;
  return p;
}
route_param t1(bool req) {
  auto p = typed(param_type::time, "t1", "End of the interval, exclusive (ISO-8601)", t1_example);
  p.required = req;
  return p;
}
route_param camera(std::string description) { return integer("camera", std::move(description), "1"); }
route_param zone() {
  return typed(param_type::string, "zone", "Zone (department) name, as in the camera configuration");
}

std::vector<route> make_routes() {
  std::vector<route> t;
  auto add = [&](route r) {
    // Every query route's list answer is paginated by the query actor.
    if (r.kind == route_kind::query) {
      r.params.push_back(integer(
        "limit",
        "Items per page (default " + std::to_string(default_page) + ", at most " + std::to_string(max_page) + ")"));
      r.params.push_back(integer("offset",
                                 "Items to skip (default 0); an answer's next_offset is the "
                                 "next page's offset, null on the last page"));
    }
    t.push_back(std::move(r));
  };
  add({"/healthz", route_kind::health, "", "", "Liveness: 200 when every liveness check passes, else 503", {}, {}});
  add({"/readyz",
       route_kind::health,
       "",
       "",
       "Readiness: 200 when every liveness and readiness check passes, else 503",
       {},
       {}});
  add({"/metrics", route_kind::health, "", "", "Prometheus metrics, text format 0.0.4", {}, {}});
  add({"/v1/cameras", route_kind::query, "cameras", "query", "Cameras and their zones", {}, {}});
  add({"/v1/transitions",
       route_kind::query,
       "transitions",
       "query",
       "People who left one camera and entered another within max_transit_s",
       {required(integer("from", "Camera they left (id)", "1")),
        required(integer("to", "Camera they entered next (id)", "2")), t0(false), t1(false),
        integer("max_transit_s",
                "Longest time from leaving `from` to entering `to`, seconds; -1 = no "
                "limit (default query.max_transit_s)")},
       {}});
  add({"/v1/every-camera",
       route_kind::query,
       "every_camera",
       "query",
       "People seen on every one of the given cameras during a day (UTC)",
       {required(typed(param_type::id_list, "cameras", "Comma-separated camera ids", "1,2,3")),
        required(typed(param_type::date, "day", "The day, YYYY-MM-DD (UTC)", day_example))},
       {}});
  add({"/v1/occupancy",
       route_kind::query,
       "occupancy",
       "query",
       "People present at a camera or in a zone over time, one count per step",
       {camera("Camera id (this or zone is required)"), zone(), t0(true), t1(true),
        integer("step_s", "Seconds between samples")},
       {{"camera", "zone"}}});
  add({"/v1/dwell",
       route_kind::query,
       "dwell",
       "query",
       "How long people stayed at a camera or in a zone: a histogram of visit durations",
       {camera("Camera id (this or zone is required)"), zone(), t0(true), t1(true),
        integer("bucket_s", "Histogram bucket width, seconds")},
       {{"camera", "zone"}}});
  add({"/v1/paths",
       route_kind::query,
       "paths",
       "query",
       "The most common sequences of cameras people walked through",
       {t0(true), t1(true), integer("top", "How many paths to return"),
        integer("min_length", "Fewest cameras in a path")},
       {}});
  add({"/v1/funnel",
       route_kind::query,
       "funnel",
       "query",
       "How many people reached each step of an ordered sequence of cameras",
       {required(typed(param_type::id_list, "steps", "Comma-separated camera ids, in order", "1,2,3")), t0(true),
        t1(true), integer("max_step_s", "Longest time between two steps, seconds")},
       {}});
  add({"/v1/people/{person}/trajectory",
       route_kind::query,
       "trajectory",
       "query",
       "Where one person was seen: their presence intervals in time order",
       {in_path(integer("person", "Global person id", "1")), t0(false), t1(false)},
       {}});
  add({"/v1/visitors",
       route_kind::query,
       "visitors",
       "query",
       "Distinct people per day or hour, overall or at one camera",
       {t0(true), t1(true), one_of_values("bucket", {"day", "hour"}, "Bucket width (default day)"),
        camera("Only people seen at this camera")},
       {}});
  add({"/v1/events",
       route_kind::query,
       "events",
       "query",
       "Alert events (loitering, crowding, restricted entry) in id order",
       {integer("since_id", "Only events with a larger id"),
        one_of_values("kind", alert_kinds(), "Only events of this kind"), t0(false), t1(false)},
       {}});
  add({"/v1/alerts/stream",
       route_kind::stream,
       "events",
       "alerts",
       "Live alert events as Server-Sent Events (event: alert, id: the event id); resumes after the "
       "Last-Event-ID header or since_id, else starts with the next new event",
       {integer("since_id", "Start after this event id (the Last-Event-ID header wins)"),
        one_of_values("kind", alert_kinds(), "Only events of this kind")},
       {}});
  return t;
}

bool parse_integer(const std::string& s, long long& out) {
  if (s.empty() || s.size() > 20) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t k = i; k < s.size(); ++k)
    if (s[k] < '0' || s[k] > '9') return false;
  try {
    out = std::stoll(s);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

std::string join(const std::vector<std::string>& xs, const char* sep) {
  std::string out;
  for (auto& x : xs) out += (out.empty() ? "" : sep) + x;
  return out;
}

} // namespace

const std::vector<route>& routes() {
  static const std::vector<route> table = make_routes();
  return table;
}

const route* find_route_by_path(const std::string& path) {
  for (auto& r : routes())
    if (r.path == path) return &r;
  return nullptr;
}

const route* find_route_by_query(const std::string& query) {
  for (auto& r : routes())
    if (r.kind == route_kind::query && r.query == query) return &r;
  return nullptr;
}

const std::vector<std::string>& known_scopes() {
  static const std::vector<std::string> scopes{"query", "alerts", "zones"};
  return scopes;
}

std::string server_pattern(const route& r) {
  std::string out;
  for (size_t i = 0; i < r.path.size(); ++i) {
    char c = r.path[i];
    if (c == '{') {
      auto end = r.path.find('}', i);
      out += "([^/]+)";
      i = end;
    } else if (c == '.' || c == '+' || c == '*' || c == '?' || c == '(' || c == ')' || c == '[' || c == ']' || c == '^'
               || c == '$' || c == '|' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

std::string check_value(const route_param& p, const std::string& value) {
  const std::string got = ", got '" + value + "'";
  if (value.empty()) return p.name + ": empty value";
  switch (p.type) {
    case param_type::integer: {
      long long v = 0;
      if (!parse_integer(value, v)) return p.name + ": expected an integer" + got;
      if ((p.min && v < *p.min) || (p.max && v > *p.max)) {
        if (p.max)
          return p.name + ": must be between " + std::to_string(*p.min) + " and " + std::to_string(*p.max) + got;
        return p.name + ": must be at least " + std::to_string(*p.min) + got;
      }
      return "";
    }
    case param_type::time:
      if (!parse_iso8601(value)) return p.name + ": expected an ISO-8601 time" + got;
      return "";
    case param_type::date:
      if (value.size() != 10 || !parse_iso8601(value)) return p.name + ": expected a date YYYY-MM-DD" + got;
      return "";
    case param_type::id_list: {
      std::stringstream ss{value};
      std::string item;
      size_t n = 0;
      while (std::getline(ss, item, ',')) {
        long long v = 0;
        if (!parse_integer(item, v) || v < query_int_param("camera").min || v > *query_int_param("camera").max)
          return p.name + ": expected comma-separated ids" + got;
        ++n;
      }
      if (n == 0 || value.back() == ',') return p.name + ": expected comma-separated ids" + got;
      return "";
    }
    case param_type::enumeration:
      if (std::find(p.values.begin(), p.values.end(), value) == p.values.end())
        return p.name + ": expected one of " + join(p.values, ", ") + got;
      return "";
    case param_type::string:
      return "";
  }
  return "";
}

checked_params check_params(const route& r, const std::vector<std::pair<std::string, std::string>>& query,
                            const std::vector<std::string>& path_values) {
  checked_params out;
  std::vector<std::string> known;
  for (auto& p : r.params)
    if (!p.in_path) known.push_back(p.name);
  std::set<std::string> seen;
  for (auto& [k, v] : query) {
    auto p = r.param(k);
    if (!p || p->in_path) {
      out.error = "unknown parameter '" + k + "'"
        + (known.empty() ? " (this route takes none)" : " (known: " + join(known, ", ") + ")");
      return out;
    }
    if (!seen.insert(k).second) {
      out.error = k + ": given more than once";
      return out;
    }
  }
  size_t next_path = 0;
  for (auto& p : r.params) {
    std::optional<std::string> value;
    if (p.in_path) {
      if (next_path < path_values.size()) value = path_values[next_path];
      ++next_path;
    } else {
      for (auto& [k, v] : query)
        if (k == p.name) value = v;
    }
    if (!value) {
      if (p.required) {
        out.error = p.name + ": required (" + p.description + ")";
        return out;
      }
      continue;
    }
    // A '+' of a time zone offset arrives as a space when the client did
    // not encode it: take it back.
    if (p.type == param_type::time) std::replace(value->begin(), value->end(), ' ', '+');
    if (auto err = check_value(p, *value); !err.empty()) {
      out.error = err;
      return out;
    }
    out.params.emplace_back(p.name, *value);
  }
  for (auto& group : r.one_of) {
    bool any = std::any_of(group.begin(), group.end(), [&](const std::string& n) { return seen.count(n) > 0; });
    if (!any) {
      out.error = join(group, " or ") + ": one of them is required";
      return out;
    }
  }
  return out;
}

bool valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned c = p[i];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; // the second byte's range
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0; // overlong
      if (c == 0xED) hi = 0x9F; // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90; // overlong
      if (c == 0xF4) hi = 0x8F; // past U+10FFFF
    } else {
      return false;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
        || c == '~' || c == ',') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string build_target(const route& r, const std::vector<std::pair<std::string, std::string>>& params) {
  std::string path;
  for (size_t i = 0; i < r.path.size(); ++i) {
    if (r.path[i] != '{') {
      path += r.path[i];
      continue;
    }
    auto end = r.path.find('}', i);
    auto name = r.path.substr(i + 1, end - i - 1);
    auto it = std::find_if(params.begin(), params.end(), [&](auto& kv) { return kv.first == name; });
    if (it == params.end() || it->second.empty())
      throw std::invalid_argument(name + ": required (" + r.param(name)->description + ")");
    path += url_encode(it->second);
    i = end;
  }
  std::string qs;
  for (auto& [k, v] : params) {
    auto p = r.param(k);
    if (p && p->in_path) continue;
    qs += (qs.empty() ? "?" : "&") + url_encode(k) + "=" + url_encode(v);
  }
  return path + qs;
}

nlohmann::json routes_json() {
  auto out = nlohmann::json::array();
  for (auto& r : routes()) {
    auto params = nlohmann::json::array();
    for (auto& p : r.params) {
      nlohmann::json j{{"name", p.name},
                       {"in", p.in_path ? "path" : "query"},
                       {"type", type_name(p.type)},
                       {"required", p.required},
                       {"description", p.description}};
      if (!p.example.empty()) j["example"] = p.example;
      if (!p.values.empty()) j["values"] = p.values;
      if (p.min) j["minimum"] = *p.min;
      if (p.max) j["maximum"] = *p.max;
      params.push_back(j);
    }
    nlohmann::json j{{"method", "GET"},
                     {"path", r.path},
                     {"kind",
                      r.kind == route_kind::query      ? "query"
                        : r.kind == route_kind::stream ? "stream"
                                                       : "health"},
                     {"summary", r.summary},
                     {"params", params}};
    if (!r.query.empty()) j["query"] = r.query;
    j["scope"] = r.scope.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.scope);
    if (!r.one_of.empty()) j["one_of"] = r.one_of;
    out.push_back(j);
  }
  return out;
}

std::string routes_text() {
  std::ostringstream os;
  for (auto& r : routes()) {
    os << "GET " << r.path;
    if (!r.query.empty()) os << "  (" << (r.kind == route_kind::stream ? "stream of " : "query ") << r.query << ")";
    os << "  " << (r.scope.empty() ? "no token" : "scope " + r.scope) << "\n";
    os << "    " << r.summary << "\n";
    for (auto& p : r.params) {
      std::string type = type_name(p.type);
      if (!p.values.empty()) type = join(p.values, "|");
      char head[96];
      std::snprintf(head, sizeof head, "    %-14s %-26s %-9s", p.name.c_str(), type.c_str(),
                    p.in_path      ? "path"
                      : p.required ? "required"
                                   : "");
      os << head << p.description;
      if (!p.example.empty()) os << " (e.g. " << p.example << ")";
      os << "\n";
    }
    for (auto& g : r.one_of) os << "    one of " << join(g, ", ") << " is required\n";
  }
  return os.str();
}

} // namespace weaver::gateway
