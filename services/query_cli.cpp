#include "services/query_cli.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "services/http.hpp"

#include <nlohmann/json.hpp>

#include "actors/query/query_actor.hpp"
#include "actors/storage/database.hpp"
#include "actors/storage/store.hpp"
#include "services/gateway/routes.hpp"

namespace weaver {

namespace {

using params_t = std::vector<std::pair<std::string, std::string>>;

const gateway::route* route_of(const std::string& name) {
  if (name == "alerts" || name == "alerts/stream" || name == "/v1/alerts/stream")
    return gateway::find_route_by_path("/v1/alerts/stream");
  if (auto r = gateway::find_route_by_query(name)) return r;
  for (auto& r : gateway::routes()) {
    if (r.kind == gateway::route_kind::health) continue;
    if (r.path == name || r.path == "/v1/" + name) return &r;
  }
  return nullptr;
}

std::string known_names() {
  std::string out;
  for (auto& r : gateway::routes()) {
    if (r.kind == gateway::route_kind::query) out += (out.empty() ? "" : ", ") + r.query;
    if (r.kind == gateway::route_kind::stream) out += (out.empty() ? "" : ", ") + std::string{"alerts"};
  }
  return out;
}

// The message of an error answer: its {"error"} field, else the body.
std::string error_of(const httplib::Response& res) {
  auto j = nlohmann::json::parse(res.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string())
    return j["error"].get<std::string>();
  return res.body.empty() ? "no body" : res.body;
}

int fail(const std::string& message, int code = 1) {
  std::cerr << "error: " << message << "\n";
  return code;
}

// Appends every list of `page` to the same list of `all`.
void merge_page(nlohmann::json& all, const nlohmann::json& page) {
  for (auto it = page.begin(); it != page.end(); ++it)
    if (it->is_array() && all.contains(it.key()) && all[it.key()].is_array())
      for (auto& x : *it) all[it.key()].push_back(x);
}

int stream(httplib::Client& cli, const std::string& target, const httplib::Headers& headers, const query_options& o) {
  int events = 0;
  std::string buffer, data;
  bool done = false;
  httplib::Response head;
  auto res = cli.Get(
    target, headers,
    [&](const httplib::Response& r) {
      head = r;
      return true;
    },
    [&](const char* bytes, size_t n) {
      if (head.status != 200) {
        head.body.append(bytes, n);
        return true;
      }
      buffer.append(bytes, n);
      for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
        auto line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind("data:", 0) == 0) {
          data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
        } else if (line.empty() && !data.empty()) {
          std::cout << data << std::endl;
          data.clear();
          if (o.max_events > 0 && ++events >= o.max_events) {
            done = true;
            return false;
          }
        }
      }
      return true;
    });
  if (done) return 0;
  if (head.status > 0 && head.status != 200)
    return fail(error_of(head) + " (HTTP " + std::to_string(head.status) + ")");
  if (!res) return fail("alert stream ended: " + httplib::to_string(res.error()));
  return 0;
}

// An answer as the gateway would give it: HTTP status and body.
struct answer_t {
  int status = 0;
  std::string body; // JSON when 200, else the error message
};

// Answers from the store directly (--db): the route's checks, then the
// query actor's own code, so the answer equals the gateway's.
answer_t ask_store(sql::database& db, const gateway::route& r, const params_t& params) {
  params_t query;
  std::vector<std::string> path_values;
  for (auto& p : r.params)
    if (p.in_path) {
      auto it = std::find_if(params.begin(), params.end(), [&](auto& kv) { return kv.first == p.name; });
      if (it == params.end()) return {400, "missing path parameter '" + p.name + "'"};
      path_values.push_back(it->second);
    }
  for (auto& kv : params) {
    auto p = r.param(kv.first);
    if (!p || !p->in_path) query.push_back(kv);
  }
  auto checked = gateway::check_params(r, query, path_values);
  if (!checked.error.empty()) return {400, checked.error};
  query_request req;
  req.name = r.query;
  req.params = checked.params;
  auto resp = answer_query(db, req, query_settings{});
  if (!resp.ok) return {resp.bad_request ? 400 : 500, resp.error};
  return {200, resp.json};
}

} // namespace

int query_command(const query_options& o) {
  if (o.list) {
    if (o.json)
      std::cout << gateway::routes_json().dump(2) << "\n";
    else
      std::cout << gateway::routes_text();
    return 0;
  }
  if (o.name.empty()) return fail("query: give a query name (" + known_names() + ") or --list", 2);
  auto r = route_of(o.name);
  if (!r) return fail("query: unknown query '" + o.name + "' (known: " + known_names() + ")", 2);
  params_t params;
  for (auto& a : o.args) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) return fail("query: expected key=value, got '" + a + "'", 2);
    params.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  std::unique_ptr<store> st; // --db: the store, opened as the query role opens it
  sql::database* db = nullptr;
  if (!o.db.empty()) {
    if (r->kind != gateway::route_kind::query)
      return fail("query: --db answers queries; the alert stream needs a gateway", 2);
    if (!sql::is_postgres_location(o.db) && !std::filesystem::exists(o.db))
      return fail("query: --db " + o.db + ": no such store file (storage.path of the run's configuration)", 2);
    try {
      st = store::open(o.db);
      db = &st->db();
    } catch (const std::exception& e) {
      return fail("query: --db " + sql::shown_location(o.db) + ": " + e.what());
    }
  }
  std::string url = o.url;
  if (url.empty()) {
    const char* env = std::getenv("WEAVER_URL");
    url = env && *env ? env : "http://127.0.0.1:8080";
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::string token = o.token;
  if (token.empty()) {
    const char* env = std::getenv("WEAVER_TOKEN");
    if (env) token = env;
  }
  std::string target;
  try {
    target = gateway::build_target(*r, params);
  } catch (const std::invalid_argument& e) {
    return fail(std::string{"query: "} + e.what(), 2);
  }
  std::optional<httplib::Client> cli;
  httplib::Headers headers;
  if (!db) {
    cli.emplace(url);
    if (!cli->is_valid()) return fail("query: --url: cannot use '" + url + "'", 2);
    cli->set_connection_timeout(5, 0);
    cli->set_read_timeout(r->kind == gateway::route_kind::stream ? 3600 : o.timeout_s, 0);
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    if (r->kind == gateway::route_kind::stream) return stream(*cli, target, headers, o);
  }
  // One page, from the store or over HTTP.
  auto ask = [&](answer_t& a) -> bool {
    if (db) {
      a = ask_store(*db, *r, params);
      return true;
    }
    auto res = cli->Get(target.c_str(), headers);
    if (!res) return false;
    a.status = res->status;
    a.body = res->status == 200 ? res->body : error_of(*res);
    return true;
  };

  nlohmann::json all;
  bool first = true;
  for (;;) {
    answer_t a;
    if (!ask(a))
      return fail("cannot reach a gateway at " + url + " (is one running? start it with `weaver node -c "
                  "FILE --role query,gateway --gateway-port PORT`, or ask the store directly with "
                  "`weaver query --db FILE " + o.name + " ...`)");
    if (a.status != 200) return fail(a.body + (db ? "" : " (HTTP " + std::to_string(a.status) + ")"));
    auto page = nlohmann::json::parse(a.body, nullptr, false);
    if (page.is_discarded()) return fail("the answer is not JSON: " + a.body.substr(0, 200));
    if (first)
      all = page;
    else
      merge_page(all, page);
    first = false;
    if (!o.all_pages || !page.is_object() || !page.contains("next_offset") || !page["next_offset"].is_number_integer())
      break;
    auto next = std::to_string(page["next_offset"].get<long long>());
    bool replaced = false;
    for (auto& [k, v] : params)
      if (k == "offset") v = next, replaced = true;
    if (!replaced) params.emplace_back("offset", next);
    target = gateway::build_target(*r, params);
  }
  if (o.all_pages && all.is_object() && all.contains("next_offset")) {
    all["next_offset"] = nullptr;
    all.erase("limit");
  }
  std::cout << (o.compact ? all.dump() : all.dump(2)) << "\n";
  return 0;
}

} // namespace weaver
