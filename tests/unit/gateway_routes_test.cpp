// The gateway's route table: it and services/gateway/openapi.yaml list the
// same paths and parameters; parameter checks name the parameter; the
// client's targets; bearer-token checks; the gateway configuration keys.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include <yaml-cpp/yaml.h>

#include "actors/query/query_actor.hpp"
#include "actors/query/query_params.hpp"
#include "services/config.hpp"
#include "services/gateway/gateway.hpp"
#include "services/gateway/routes.hpp"

using namespace weaver;
using namespace weaver::gateway;

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool contains(const std::string& s, const std::string& p) { return s.find(p) != std::string::npos; }

// The OpenAPI schema a route parameter's type must have.
void check_schema(const route_param& p, const YAML::Node& schema, const std::string& where) {
  INFO(where);
  REQUIRE(schema);
  auto type = schema["type"].as<std::string>();
  auto format = schema["format"] ? schema["format"].as<std::string>() : "";
  switch (p.type) {
    case param_type::integer:
      CHECK(type == "integer");
      if (p.min)
        CHECK(schema["minimum"].as<long long>() == *p.min);
      else
        CHECK(!schema["minimum"]);
      if (p.max)
        CHECK(schema["maximum"].as<long long>() == *p.max);
      else
        CHECK(!schema["maximum"]);
      break;
    case param_type::time:
      CHECK((type == "string" && format == "date-time"));
      break;
    case param_type::date:
      CHECK((type == "string" && format == "date"));
      break;
    case param_type::id_list:
      CHECK(type == "string");
      CHECK(schema["pattern"]);
      break;
    case param_type::enumeration: {
      CHECK(type == "string");
      std::vector<std::string> values;
      for (auto v : schema["enum"]) values.push_back(v.as<std::string>());
      CHECK(values == p.values);
      break;
    }
    case param_type::string:
      CHECK(type == "string");
      break;
  }
}

gateway_settings two_tokens() {
  gateway_settings s;
  s.tokens = {{"reader", "reader-token-0123456789", {"query"}}, {"watcher", "watcher-token-0123456789", {"alerts"}}};
  return s;
}

} // namespace

TEST_CASE("the OpenAPI spec lists exactly the route table's paths and parameters") {
  auto spec = YAML::LoadFile(std::string{WEAVER_SOURCE_DIR} + "/services/gateway/openapi.yaml");
  REQUIRE(spec["openapi"].as<std::string>().rfind("3.", 0) == 0);
  REQUIRE(spec["components"]["securitySchemes"]["bearerAuth"]["scheme"].as<std::string>() == "bearer");
  std::set<std::string> spec_paths, table_paths;
  for (auto it = spec["paths"].begin(); it != spec["paths"].end(); ++it) spec_paths.insert(it->first.as<std::string>());
  for (auto& r : routes()) table_paths.insert(r.path);
  // The browser's session routes (services/gateway/gateway.hpp) are not
  // queries: in the spec, not in the table.
  for (const char* p : {"/login", "/logout", "/session"}) {
    INFO(p);
    CHECK(spec_paths.erase(p) == 1);
  }
  CHECK(spec["paths"]["/login"]["post"]["requestBody"]);
  CHECK(spec["paths"]["/logout"]["post"]);
  CHECK(spec["paths"]["/session"]["get"]["responses"]["401"]);
  // Nor are the pictures (served by the gateway from frames or crop files):
  // typed answers, their path parameters with examples, a documented 404.
  for (const char* p : {"/v1/cameras/{camera}/live", "/v1/cameras/{camera}/snapshot.jpg",
                        "/v1/cameras/{camera}/stream.mjpg", "/v1/evidence/{camera}/{track}.jpg"}) {
    INFO(p);
    REQUIRE(spec_paths.erase(p) == 1);
    auto op = spec["paths"][p]["get"];
    CHECK(op["x-weaver-scope"].as<std::string>() == "query");
    CHECK(op["x-weaver-pictures"]);
    CHECK(op["responses"]["404"]);
    auto ok = op["responses"]["200"]["content"];
    if (contains(p, ".jpg"))
      CHECK(ok["image/jpeg"]["schema"]["format"].as<std::string>() == "binary");
    else if (contains(p, ".mjpg"))
      CHECK(ok["multipart/x-mixed-replace"]["schema"]["format"].as<std::string>() == "binary");
    else
      CHECK(ok["application/json"]["schema"]["$ref"].as<std::string>() == "#/components/schemas/LiveView");
    for (auto param : op["parameters"])
      if (param["in"].as<std::string>() == "path") {
        CHECK(contains(p, "{" + param["name"].as<std::string>() + "}"));
        CHECK(param["required"].as<bool>());
        CHECK(param["example"]);
      }
  }
  // Nor are a camera's zones (the gateway's own, edited at run time): read
  // with scope query, written with scope zones.
  {
    REQUIRE(spec_paths.erase("/v1/cameras/{camera}/zones") == 1);
    auto item = spec["paths"]["/v1/cameras/{camera}/zones"];
    CHECK(item.size() == 2);
    CHECK(item["get"]["x-weaver-scope"].as<std::string>() == "query");
    CHECK(item["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].as<std::string>()
          == "#/components/schemas/CameraZones");
    auto put = item["put"];
    CHECK(put["x-weaver-scope"].as<std::string>() == "zones");
    CHECK(std::find(known_scopes().begin(), known_scopes().end(), "zones") != known_scopes().end());
    CHECK(put["requestBody"]["content"]["application/json"]["schema"]["$ref"].as<std::string>()
          == "#/components/schemas/ZoneShapes");
    for (const char* code : {"200", "400", "401", "403", "404", "409", "413", "415"}) {
      INFO(code);
      CHECK(put["responses"][code]);
    }
  }
  CHECK(spec_paths == table_paths);

  for (auto& r : routes()) {
    INFO("route " << r.path);
    auto op = spec["paths"][r.path]["get"];
    REQUIRE(op);
    // Only GET.
    CHECK(spec["paths"][r.path].size() == 1);
    if (r.kind == route_kind::health) {
      CHECK(op["security"].IsSequence());
      CHECK(op["security"].size() == 0);
    } else {
      CHECK(op["x-weaver-scope"].as<std::string>() == r.scope);
      CHECK(op["x-weaver-query"].as<std::string>() == r.query);
      CHECK(op["security"][0]["bearerAuth"]);
      CHECK(op["responses"]["401"]);
      CHECK(op["responses"]["403"]);
      CHECK(op["responses"]["400"]);
    }
    CHECK(op["responses"]["200"]);
    // Every query's answer has a typed schema: named fields, not a bare object.
    if (r.kind == route_kind::query) {
      auto schema = op["responses"]["200"]["content"]["application/json"]["schema"];
      REQUIRE(schema["$ref"]);
      auto name = schema["$ref"].as<std::string>().substr(std::string{"#/components/schemas/"}.size());
      auto def = spec["components"]["schemas"][name];
      REQUIRE(def);
      // Its own required fields (beside the shared Page and Window parts).
      size_t fields = def["required"] ? def["required"].size() : 0;
      for (auto part : def["allOf"] ? def["allOf"] : YAML::Node{}) {
        if (part["$ref"]) {
          CHECK(spec["components"]["schemas"][part["$ref"].as<std::string>().substr(21)]);
          continue;
        }
        fields += part["required"] ? part["required"].size() : 0;
        if (part["required"])
          for (auto f : part["required"]) CHECK(part["properties"][f.as<std::string>()]["type"]);
      }
      CHECK_MESSAGE(fields >= 1, name << " names no field of its own");
      CHECK(!def["additionalProperties"]);
    }
    if (r.kind == route_kind::stream) CHECK(op["responses"]["200"]["content"]["text/event-stream"]);
    // Same parameters, in the same order, same placement, requiredness,
    // schema and example.
    auto params = op["parameters"];
    std::vector<std::string> spec_names, table_names;
    if (params)
      for (auto p : params) spec_names.push_back(p["name"].as<std::string>());
    for (auto& p : r.params) table_names.push_back(p.name);
    CHECK(spec_names == table_names);
    if (spec_names != table_names) continue;
    for (size_t i = 0; i < r.params.size(); ++i) {
      auto& p = r.params[i];
      auto sp = params[i];
      std::string where = r.path + " " + p.name;
      INFO(where);
      CHECK(sp["in"].as<std::string>() == (p.in_path ? "path" : "query"));
      CHECK(sp["required"].as<bool>() == p.required);
      CHECK(!sp["description"].as<std::string>().empty());
      check_schema(p, sp["schema"], where);
      if (p.required) CHECK_MESSAGE(!p.example.empty(), "a required parameter needs an example");
      if (!p.example.empty()) {
        REQUIRE(sp["example"]);
        CHECK(sp["example"].as<std::string>() == p.example);
        CHECK(check_value(p, p.example) == ""); // the example itself passes the checks
      } else {
        CHECK(!sp["example"]);
      }
      if (p.in_path) CHECK(contains(r.path, "{" + p.name + "}"));
    }
  }
}

TEST_CASE("integer limits: the spec, the gateway and the query actor take them from one definition") {
  auto spec = YAML::LoadFile(std::string{WEAVER_SOURCE_DIR} + "/services/gateway/openapi.yaml");
  auto db = store::open(":memory:");
  int checked = 0;
  for (auto& r : routes())
    for (size_t i = 0; i < r.params.size(); ++i) {
      const auto& p = r.params[i];
      if (p.type != param_type::integer) continue;
      INFO(r.path << " " << p.name);
      const auto& b = query_int_param(p.name);
      auto schema = spec["paths"][r.path]["get"]["parameters"][i]["schema"];
      CHECK(schema["minimum"].as<long long>() == b.min);
      if (b.max)
        CHECK(schema["maximum"].as<long long>() == *b.max);
      else
        CHECK(!schema["maximum"]);
      // Just outside the bounds: refused by the gateway and by the query actor.
      std::vector<std::string> outside{std::to_string(b.min - 1)};
      if (b.max) outside.push_back(std::to_string(*b.max + 1));
      for (auto& v : outside) {
        CHECK(check_value(p, v) != "");
        // The route's other required parameters (and one of each group) valid.
        query_request req{1, r.query, {{p.name, v}}};
        for (auto& q : r.params)
          if (q.name != p.name && q.required) req.params.emplace_back(q.name, q.example);
        for (auto& group : r.one_of)
          if (std::find(group.begin(), group.end(), p.name) == group.end())
            req.params.emplace_back(group.front(), r.param(group.front())->example);
        auto resp = answer_query(db->db(), req, query_settings{});
        CHECK(!resp.ok);
        CHECK(resp.bad_request);
        CHECK(resp.error.rfind(p.name + ":", 0) == 0);
      }
      ++checked;
    }
  CHECK(checked >= 13);
}

TEST_CASE("route table: shape") {
  std::set<std::string> seen;
  for (auto& r : routes()) {
    INFO(r.path);
    CHECK(seen.insert(r.path).second);
    CHECK(!r.summary.empty());
    if (r.kind == route_kind::health) {
      CHECK(r.scope.empty());
    } else {
      CHECK(starts_with(r.path, "/v1/"));
      CHECK(std::find(known_scopes().begin(), known_scopes().end(), r.scope) != known_scopes().end());
      CHECK(!r.query.empty());
    }
    if (r.kind == route_kind::query) {
      CHECK(r.param("limit"));
      CHECK(r.param("offset"));
      CHECK(find_route_by_query(r.query) == &r);
    }
    for (auto& g : r.one_of)
      for (auto& n : g) CHECK(r.param(n));
  }
  CHECK(find_route_by_path("/v1/alerts/stream")->kind == route_kind::stream);
  CHECK(find_route_by_query("every_camera")->path == "/v1/every-camera");
  CHECK(server_pattern(*find_route_by_path("/v1/people/{person}/trajectory")) == "/v1/people/([^/]+)/trajectory");
  CHECK(contains(routes_text(), "/v1/transitions"));
  CHECK(routes_json().size() == routes().size());
}

TEST_CASE("parameter checks name the parameter") {
  auto& tr = *find_route_by_path("/v1/transitions");
  auto ok = check_params(tr, {{"from", "1"}, {"to", "2"}, {"t0", "2026-11-21"}, {"limit", "2"}}, {});
  CHECK(ok.error == "");
  CHECK(ok.params.size() == 4);

  auto bad_time = check_params(tr, {{"from", "1"}, {"to", "2"}, {"t0", "yesterday"}}, {});
  CHECK(starts_with(bad_time.error, "t0: expected an ISO-8601 time, got 'yesterday'"));
  auto unknown = check_params(tr, {{"from", "1"}, {"to", "2"}, {"colour", "red"}}, {});
  CHECK(starts_with(unknown.error, "unknown parameter 'colour'"));
  auto missing = check_params(tr, {{"from", "1"}}, {});
  CHECK(starts_with(missing.error, "to: required"));
  auto twice = check_params(tr, {{"from", "1"}, {"from", "2"}, {"to", "3"}}, {});
  CHECK(starts_with(twice.error, "from: given more than once"));
  auto not_int = check_params(tr, {{"from", "1x"}, {"to", "2"}}, {});
  CHECK(starts_with(not_int.error, "from: expected an integer, got '1x'"));
  auto big = check_params(tr, {{"from", "1"}, {"to", "2"}, {"limit", "10001"}}, {});
  CHECK(starts_with(big.error, "limit: must be between 1 and 10000"));
  auto neg = check_params(tr, {{"from", "1"}, {"to", "2"}, {"offset", "-1"}}, {});
  CHECK(starts_with(neg.error, "offset: must be at least 0"));
  auto empty = check_params(tr, {{"from", ""}, {"to", "2"}}, {});
  CHECK(starts_with(empty.error, "from: empty value"));
  // An unencoded '+' of a time zone offset arrives as a space.
  auto plus = check_params(tr, {{"from", "1"}, {"to", "2"}, {"t0", "2026-11-21T09:00:00 01:00"}}, {});
  CHECK(plus.error == "");
  CHECK(plus.params[2].second == "2026-11-21T09:00:00+01:00");

  auto& ec = *find_route_by_path("/v1/every-camera");
  CHECK(starts_with(check_params(ec, {{"cameras", "1,,2"}, {"day", "2026-11-21"}}, {}).error, "cameras:"));
  CHECK(starts_with(check_params(ec, {{"cameras", "1,2,"}, {"day", "2026-11-21"}}, {}).error, "cameras:"));
  CHECK(starts_with(check_params(ec, {{"cameras", "1,2"}, {"day", "2026-11-21T00:00:00Z"}}, {}).error,
                    "day: expected a date YYYY-MM-DD"));
  CHECK(check_params(ec, {{"cameras", "1,2"}, {"day", "2026-11-21"}}, {}).error == "");

  auto& occ = *find_route_by_path("/v1/occupancy");
  auto none = check_params(occ, {{"t0", "2026-11-21"}, {"t1", "2026-11-22"}}, {});
  CHECK(starts_with(none.error, "camera or zone: one of them is required"));
  CHECK(check_params(occ, {{"zone", "shoes"}, {"t0", "2026-11-21"}, {"t1", "2026-11-22"}}, {}).error == "");

  auto& vis = *find_route_by_path("/v1/visitors");
  auto bucket = check_params(vis, {{"t0", "2026-11-21"}, {"t1", "2026-11-22"}, {"bucket", "week"}}, {});
  CHECK(starts_with(bucket.error, "bucket: expected one of day, hour, got 'week'"));

  auto& traj = *find_route_by_path("/v1/people/{person}/trajectory");
  auto path = check_params(traj, {{"t0", "2026-11-21"}}, {"17"});
  CHECK(path.error == "");
  REQUIRE(path.params.size() == 2);
  CHECK(path.params[0] == std::make_pair(std::string{"person"}, std::string{"17"}));
  CHECK(starts_with(check_params(traj, {}, {"x"}).error, "person: expected an integer"));
  // A path parameter is not a query-string parameter.
  CHECK(starts_with(check_params(traj, {{"person", "3"}}, {"17"}).error, "unknown parameter 'person'"));

  auto& health = *find_route_by_path("/healthz");
  CHECK(contains(check_params(health, {{"x", "1"}}, {}).error, "takes none"));
}

TEST_CASE("client targets: path parameters substituted, the rest encoded") {
  auto& tr = *find_route_by_path("/v1/transitions");
  CHECK(build_target(tr, {{"from", "1"}, {"to", "2"}, {"t0", "2026-11-21T09:00:00+01:00"}})
        == "/v1/transitions?from=1&to=2&t0=2026-11-21T09%3A00%3A00%2B01%3A00");
  auto& traj = *find_route_by_path("/v1/people/{person}/trajectory");
  CHECK(build_target(traj, {{"person", "7"}, {"limit", "5"}}) == "/v1/people/7/trajectory?limit=5");
  CHECK_THROWS_WITH_AS(build_target(traj, {{"limit", "5"}}), doctest::Contains("person: required"),
                       std::invalid_argument);
  CHECK(url_encode("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9");
  CHECK(build_target(*find_route_by_path("/v1/cameras"), {}) == "/v1/cameras");
}

TEST_CASE("bearer tokens: 401 without a valid one, 403 without the scope") {
  auto s = two_tokens();
  auto none = authorize(s, "", "query");
  CHECK(none.status == 401);
  CHECK(starts_with(none.www_authenticate, "Bearer"));
  CHECK(contains(none.error, "missing bearer token"));
  auto basic = authorize(s, "Basic dXNlcjpwYXNz", "query");
  CHECK(basic.status == 401);
  auto wrong = authorize(s, "Bearer reader-token-012345678X", "query");
  CHECK(wrong.status == 401);
  CHECK(contains(wrong.www_authenticate, "invalid_token"));
  auto prefix = authorize(s, "Bearer reader-token", "query");
  CHECK(prefix.status == 401);
  auto ok = authorize(s, "Bearer reader-token-0123456789", "query");
  CHECK(ok.status == 200);
  CHECK(ok.token_name == "reader");
  CHECK(authorize(s, "bearer  reader-token-0123456789 ", "query").status == 200);
  auto scope = authorize(s, "Bearer watcher-token-0123456789", "query");
  CHECK(scope.status == 403);
  CHECK(contains(scope.error, "lacks scope 'query'"));
  CHECK(contains(scope.www_authenticate, "insufficient_scope"));
  CHECK(authorize(s, "Bearer watcher-token-0123456789", "alerts").status == 200);
  CHECK(authorize(s, "", "").status == 200); // health: no token needed
  s.auth = false;
  CHECK(authorize(s, "", "query").status == 200);

  CHECK(constant_time_equal("abc", "abc"));
  CHECK(!constant_time_equal("abc", "abd"));
  CHECK(!constant_time_equal("abc", "abcd"));
  CHECK(!constant_time_equal("", "a"));
  CHECK(constant_time_equal("", ""));
}

namespace {
const char* base_yaml = R"(
cameras:
  - id: 1
    source: rtsp://camera.example/stream
)";
config with_gateway(const std::string& section) { return parse_config(std::string{base_yaml} + section, "/tmp"); }
} // namespace

TEST_CASE("gateway configuration keys") {
  auto c = with_gateway(R"(
gateway:
  port: 8080
  bind: 0.0.0.0
  poll_ms: 100
  tokens:
    - {name: app, token: "abcdefghijklmnopqrstuvwxyz", scopes: [query]}
    - {name: ops, token: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
)");
  CHECK(c.gateway_port == 8080);
  CHECK(c.gateway.bind == "0.0.0.0");
  CHECK(c.gateway.poll_ms == 100);
  REQUIRE(c.gateway.tokens.size() == 2);
  CHECK(c.gateway.tokens[0].scopes == std::vector<std::string>{"query"});
  CHECK(c.gateway.tokens[1].scopes == std::vector<std::string>{"query", "alerts"});
  CHECK(std::find(known_roles().begin(), known_roles().end(), "gateway") != known_roles().end());

  auto error_of = [](const std::string& section) -> std::string {
    try {
      with_gateway(section);
    } catch (const config_error& e) {
      return e.what();
    }
    return "";
  };
  CHECK(starts_with(error_of("gateway:\n  tokens:\n    - {name: a, token: short}\n"),
                    "gateway.tokens[0].token: too short"));
  CHECK(starts_with(error_of("gateway:\n  tokens:\n    - {token: abcdefghijklmnopqrstuvwxyz, scopes: [admin]}\n"),
                    "gateway.tokens[0].scopes[0]: unknown scope 'admin'"));
  CHECK(starts_with(error_of("gateway:\n  auth: basic\n"), "gateway.auth:"));
  CHECK(starts_with(error_of("gateway:\n  colour: red\n"), "gateway.colour: unknown key"));
  CHECK(starts_with(error_of("gateway:\n  threads: 4\n  max_streams: 4\n"), "gateway.max_streams:"));
  CHECK(starts_with(error_of("metrics:\n  port: 9000\ngateway:\n  port: 9000\n"), "gateway.port: same as"));
  CHECK(starts_with(error_of("gateway:\n  auth: none\n  tokens:\n    - {token: abcdefghijklmnopqrstuvwxyz}\n"),
                    "gateway.auth:"));
}

TEST_CASE("gateway settings: the environment's token, and no token refused") {
  auto c = with_gateway("gateway:\n  port: 8080\n  token_env: WEAVER_TEST_GATEWAY_TOKEN\n");
  ::unsetenv("WEAVER_TEST_GATEWAY_TOKEN");
  CHECK_THROWS_WITH_AS(gateway_settings_of(c), doctest::Contains("gateway.tokens: no bearer token"), config_error);
  ::setenv("WEAVER_TEST_GATEWAY_TOKEN", "from-the-environment-0123\n", 1);
  auto s = gateway_settings_of(c);
  REQUIRE(s.tokens.size() == 1);
  CHECK(s.tokens[0].token == "from-the-environment-0123");
  CHECK(s.tokens[0].scopes == known_scopes());
  CHECK(authorize(s, "Bearer from-the-environment-0123", "alerts").status == 200);
  ::setenv("WEAVER_TEST_GATEWAY_TOKEN", "short", 1);
  CHECK_THROWS_AS(gateway_settings_of(c), config_error);
  ::unsetenv("WEAVER_TEST_GATEWAY_TOKEN");

  auto open = with_gateway("gateway:\n  port: 8080\n  auth: none\n");
  auto so = gateway_settings_of(open);
  CHECK(!so.auth);
  CHECK(so.tokens.empty());
}

TEST_CASE("valid_utf8: well-formed UTF-8 only") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("/v1/people/7/trajectory"));
  CHECK(valid_utf8("caf\xc3\xa9")); // é
  CHECK(valid_utf8("\xe2\x82\xac")); // €
  CHECK(valid_utf8("\xf0\x9f\x98\x80")); // U+1F600
  CHECK(valid_utf8("\xf4\x8f\xbf\xbf")); // U+10FFFF, the last one
  CHECK(!valid_utf8("\xff"));
  CHECK(!valid_utf8("\xff\xfe"));
  CHECK(!valid_utf8("abc\x80")); // a lone continuation byte
  CHECK(!valid_utf8("\xc3")); // cut short
  CHECK(!valid_utf8("\xe2\x82"));
  CHECK(!valid_utf8("\xc0\xaf")); // overlong '/'
  CHECK(!valid_utf8("\xe0\x80\xaf")); // overlong '/'
  CHECK(!valid_utf8("\xed\xa0\x80")); // a surrogate
  CHECK(!valid_utf8("\xf4\x90\x80\x80")); // past U+10FFFF
  CHECK(!valid_utf8("\xe2\x28\xa1")); // a bad second byte
}
