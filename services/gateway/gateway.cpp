#include "services/gateway/gateway.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <thread>

#include <limits>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include "services/http.hpp"

#include <nlohmann/json.hpp>

#include "actors/storage/pictures.hpp"
#include "base/base64.hpp"
#include "base/iso8601.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"
#include "schemas/codec.hpp"
#include "services/gateway/http_server.hpp"
#include "services/gateway/login_limiter.hpp"
#include "services/gateway/routes.hpp"
#include "services/gateway/snapshots.hpp"
#include "services/gateway/web_assets.hpp"
#include "services/gateway/web_session.hpp"

namespace weaver {

namespace {

const logger log{"gateway"};

using clock_type = std::chrono::steady_clock;

bool has_scope(const gateway_token& t, const std::string& scope) {
  return std::find(t.scopes.begin(), t.scopes.end(), scope) != t.scopes.end();
}

void set_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  // Messages echo what the client sent: bytes that are not UTF-8 become
  // U+FFFD rather than an exception (requests are checked before this).
  res.set_content(
    nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
    "application/json");
}

// The first part of a request the gateway reads that is not UTF-8, or null.
const char* not_utf8(const httplib::Request& req) {
  if (!gateway::valid_utf8(req.path)) return "path";
  for (auto& [k, v] : req.params)
    if (!gateway::valid_utf8(k) || !gateway::valid_utf8(v)) return "query parameter";
  for (const char* h : {"Authorization", "Last-Event-ID", "Origin"})
    if (!gateway::valid_utf8(req.get_header_value(h))) return h;
  return nullptr;
}

} // namespace

bool constant_time_equal(const std::string& a, const std::string& b) {
  // Walks the longer string whatever the contents: the time depends on the
  // lengths only.
  size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

gateway_settings gateway_settings_of(const config& cfg) {
  gateway_settings s;
  const auto& g = cfg.gateway;
  s.bind = g.bind;
  s.port = cfg.gateway_port;
  s.auth = g.auth != "none";
  s.tokens = g.tokens;
  if (s.auth && !g.token_env.empty()) {
    if (const char* env = std::getenv(g.token_env.c_str()); env && *env) {
      std::string token{env};
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
      if (token.size() < 16)
        throw config_error("gateway.token_env", "$" + g.token_env + " is too short: at least 16 characters");
      s.tokens.push_back(gateway_token{"$" + g.token_env, token, gateway::known_scopes()});
    }
  }
  if (s.auth && s.tokens.empty())
    throw config_error("gateway.tokens",
                       "no bearer token: set gateway.tokens, or the environment variable "
                         + (g.token_env.empty() ? std::string{"named by gateway.token_env"} : "$" + g.token_env)
                         + ", or gateway.auth: none for a gateway without authentication");
  s.poll = std::chrono::milliseconds{g.poll_ms};
  s.keepalive = std::chrono::milliseconds{g.keepalive_s * 1000};
  s.timeout = std::chrono::milliseconds{g.timeout_ms};
  s.threads = g.threads;
  s.max_streams = g.max_streams;
  s.console = g.console;
  s.web_root = g.web_root;
  s.session_ttl = std::chrono::seconds{g.session_ttl_s};
  s.secure_cookie = g.secure_cookie;
  s.cors_origins = g.cors_origins;
  s.snapshots = g.snapshots;
  s.snapshot_fps = g.snapshot_fps;
  s.snapshot_quality = g.snapshot_quality;
  s.snapshot_width = g.snapshot_width;
  s.stale_after_ms = static_cast<int64_t>(g.stale_after_s * 1000 + 0.5);
  for (auto& c : cfg.cameras) s.cameras.push_back({c.id, c.zones, c.lines});
  s.zones_kept = !cfg.tracker.zones_file.empty();
  s.login_per_minute = g.login_per_minute;
  s.login_burst = g.login_burst;
  return s;
}

const gateway_token* match_token(const gateway_settings& s, const std::string& token) {
  const gateway_token* match = nullptr;
  for (auto& t : s.tokens) // no early exit: every token is compared
    if (constant_time_equal(t.token, token) && !match) match = &t;
  return match;
}

auth_outcome authorize_session(const gateway_settings& s, const std::optional<std::string>& token_name,
                               const std::string& scope) {
  auth_outcome out;
  if (scope.empty() || !s.auth) return out;
  const gateway_token* match = nullptr;
  if (token_name)
    for (auto& t : s.tokens)
      if (t.name == *token_name) match = &t;
  if (!match) { // no such session, or its token is gone
    out.status = 401;
    out.error = "session expired or unknown: log in again (POST /login)";
    out.www_authenticate = "Bearer realm=\"weaver\"";
    return out;
  }
  out.token_name = match->name;
  if (!has_scope(*match, scope)) {
    out.status = 403;
    out.error = "token '" + match->name + "' lacks scope '" + scope + "'";
    out.www_authenticate = "Bearer realm=\"weaver\", error=\"insufficient_scope\", scope=\"" + scope + "\"";
  }
  return out;
}

auth_outcome authorize(const gateway_settings& s, const std::string& authorization, const std::string& scope) {
  auth_outcome out;
  if (scope.empty() || !s.auth) return out;
  static const std::string realm = "Bearer realm=\"weaver\"";
  // "Bearer <token>", the scheme case-insensitive.
  std::string token;
  bool bearer = authorization.size() > 7
    && std::equal(authorization.begin(), authorization.begin() + 7, "bearer ",
                  [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  if (bearer) {
    token = authorization.substr(7);
    auto first = token.find_first_not_of(' ');
    token = first == std::string::npos ? "" : token.substr(first);
    while (!token.empty() && token.back() == ' ') token.pop_back();
  }
  if (!bearer || token.empty()) {
    out.status = 401;
    out.error = authorization.empty() ? "missing bearer token (Authorization: Bearer <token>)"
                                      : "malformed Authorization header: expected 'Bearer <token>'";
    out.www_authenticate = realm;
    return out;
  }
  const gateway_token* match = match_token(s, token);
  if (!match) {
    out.status = 401;
    out.error = "invalid bearer token";
    out.www_authenticate = realm + ", error=\"invalid_token\"";
    return out;
  }
  out.token_name = match->name;
  if (!has_scope(*match, scope)) {
    out.status = 403;
    out.error = "token '" + match->name + "' lacks scope '" + scope + "'";
    out.www_authenticate = realm + ", error=\"insufficient_scope\", scope=\"" + scope + "\"";
  }
  return out;
}

struct gateway_server::impl {
  caf::actor_system& sys;
  query_actor query;
  gateway_settings settings;
  std::shared_ptr<const health_registry> health;
  std::shared_ptr<const metrics_sources> metrics_src;
  std::unique_ptr<gateway::http_server> server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<int> streams{0};
  std::atomic<uint64_t> next_id{1};
  gateway::session_store sessions;
  std::unique_ptr<gateway::web_assets> assets; // null: gateway.console false
  std::unique_ptr<gateway::snapshot_cache> snapshots; // null: no live view here, or gateway.snapshots false
  // Cameras of other processes: their live frames as storage keeps them
  // (mesh.live_fps), through the query role. Null without a query role.
  std::unique_ptr<gateway::remote_snapshots> remote;
  gateway::login_limiter logins;
  std::shared_ptr<zone_registry> zone_edits; // null: the tracker is elsewhere (or none)

  impl(caf::actor_system& s, query_actor q, gateway_settings g, std::shared_ptr<const health_registry> h,
       std::shared_ptr<const metrics_sources> m, std::shared_ptr<const live_view> live,
       std::shared_ptr<zone_registry> zones)
    : sys(s),
      query(std::move(q)),
      settings(std::move(g)),
      health(std::move(h)),
      metrics_src(std::move(m)),
      sessions(settings.session_ttl, settings.max_sessions),
      logins(settings.login_per_minute, settings.login_burst),
      zone_edits(std::move(zones)) {
    if (settings.console) assets = std::make_unique<gateway::web_assets>(settings.web_root);
    if (live && settings.snapshots)
      snapshots = std::make_unique<gateway::snapshot_cache>(
        std::move(live),
        gateway::snapshot_settings{settings.snapshot_fps, settings.snapshot_quality, settings.snapshot_width});
    if (query && settings.snapshots) {
      std::vector<uint32_t> known;
      for (auto& c : settings.cameras) known.push_back(c.id);
      remote = std::make_unique<gateway::remote_snapshots>([this](uint32_t camera) { return fetch_live(camera); },
                                                           settings.snapshot_fps, std::move(known));
    }
  }

  // A camera's live frame from the query role (storage keeps what the
  // tracker beside the camera sent), checked again: another process's
  // answer is served as image/jpeg only when it is one.
  std::optional<gateway::encoded_snapshot> fetch_live(uint32_t camera) {
    auto a = ask("live", {{"camera", std::to_string(camera)}});
    if (a.status != 200) {
      if (a.status != 404) log.warn("live frame of camera ", camera, ": ", a.status, " ", a.body);
      return std::nullopt;
    }
    auto j = nlohmann::json::parse(a.body, nullptr, false);
    if (!j.is_object() || !j.contains("jpeg") || !j["jpeg"].is_string()) return std::nullopt;
    auto parsed = live_frame_from_json(j, camera);
    if (!parsed) return std::nullopt;
    auto& f = *parsed;
    if (auto problem = codec::validate(f)) {
      log.warn("live frame of camera ", camera, " refused: ", problem->detail);
      return std::nullopt;
    }
    gateway::encoded_snapshot e;
    e.camera = camera;
    e.seq = f.seq;
    e.time_ms = f.time_ms;
    e.width = f.width;
    e.height = f.height;
    e.boxes = std::move(f.boxes);
    e.jpeg = std::make_shared<const std::string>(std::move(f.jpeg));
    // When storage kept it (its age); a query role without kept_ms: now.
    const auto kept = j.find("kept_ms");
    e.arrived_ms = kept != j.end() && kept->is_number_integer() ? kept->get<int64_t>() : live_view::wall_clock_ms();
    return e;
  }

  // A camera's newest picture: this process's cameras first, then those
  // whose live frames come over the mesh.
  std::optional<gateway::encoded_snapshot> latest_snapshot(uint32_t camera) {
    std::optional<gateway::encoded_snapshot> s;
    if (snapshots) s = snapshots->latest(camera);
    if (!s && remote) s = remote->latest(camera);
    return s;
  }

  std::optional<gateway::encoded_snapshot> snapshot_at(uint32_t camera, uint64_t seq) {
    std::optional<gateway::encoded_snapshot> s;
    if (snapshots) s = snapshots->at(camera, seq);
    if (!s && remote) s = remote->at(camera, seq);
    return s;
  }

  // One question to the query actor: status 200 with the answer's JSON, or
  // an error status and message.
  struct answer {
    int status = 200;
    std::string body; // JSON text (200) or the error message
  };

  answer ask(const std::string& name, std::vector<std::pair<std::string, std::string>> params) {
    answer a;
    if (!query) { // a gateway beside the cameras only, for their live pictures (Helm's edge.liveView)
      a.status = 503;
      a.body = "query " + name + ": no query role behind this gateway (it serves its cameras' live pictures only)";
      return a;
    }
    caf::scoped_actor self{sys};
    query_request req{next_id++, name, std::move(params)};
    self->request(query, settings.timeout, std::move(req))
      .receive(
        [&](query_response& r) {
          if (r.ok) {
            a.body = std::move(r.json);
          } else {
            a.status = r.bad_request ? 400 : 500;
            a.body = r.error.empty() ? "query " + name + " failed" : r.error;
          }
        },
        [&](caf::error& e) {
          if (e == caf::sec::request_timeout) {
            a.status = 504;
            a.body = "query " + name + ": no answer within " + std::to_string(settings.timeout.count()) + " ms";
          } else {
            // CAF's rendering names internals: the log gets it, the client not.
            log.warn("query ", name, ": ", sys.render(e));
            a.status = 502;
            a.body = "query " + name + ": the query service failed";
          }
        });
    // The answer is passed on as JSON: it must be JSON.
    if (a.status == 200 && !nlohmann::json::accept(a.body)) {
      log.warn("query ", name, ": the answer is not JSON (", a.body.size(), " bytes)");
      a.status = 502;
      a.body = "query " + name + ": the query service sent an answer that is not JSON";
    }
    return a;
  }

  static void record(const std::string& route, int status, clock_type::time_point t0, bool timed = true) {
    metrics::global().gateway_requests(route, status).Increment();
    if (timed)
      metrics::global().gateway_request_seconds(route).Observe(
        std::chrono::duration<double>(clock_type::now() - t0).count());
  }

  // The bearer token when there is an Authorization header, else the
  // session cookie when there is one.
  auth_outcome check(const httplib::Request& req, const std::string& scope) {
    auto authorization = req.get_header_value("Authorization");
    if (authorization.empty() && settings.auth && !scope.empty()) {
      auto id = gateway::cookie_value(req.get_header_value("Cookie"), gateway::session_cookie);
      if (!id.empty()) return authorize_session(settings, sessions.find(id), scope);
    }
    return authorize(settings, authorization, scope);
  }

  // The bearer check; false (and the response set) when refused.
  bool admit(const gateway::route& r, const httplib::Request& req, httplib::Response& res) {
    auto a = check(req, r.scope);
    if (a.status == 200) return true;
    set_error(res, a.status, a.error);
    res.set_header("WWW-Authenticate", a.www_authenticate);
    if (a.status == 401) log.debug("401 ", req.path, ": ", a.error);
    return false;
  }

  static std::vector<std::pair<std::string, std::string>> query_of(const httplib::Request& req) {
    std::vector<std::pair<std::string, std::string>> q;
    for (auto& [k, v] : req.params) q.emplace_back(k, v);
    return q;
  }

  static std::vector<std::string> path_values(const httplib::Request& req) {
    std::vector<std::string> out;
    for (size_t i = 1; i < req.matches.size(); ++i) out.push_back(req.matches[i].str());
    return out;
  }

  void handle_query(const gateway::route& r, const httplib::Request& req, httplib::Response& res) {
    if (!admit(r, req, res)) return;
    auto checked = gateway::check_params(r, query_of(req), path_values(req));
    if (!checked.error.empty()) return set_error(res, 400, checked.error);
    auto a = ask(r.query, std::move(checked.params));
    if (a.status != 200) {
      if (a.status >= 500) log.warn(req.path, ": ", a.status, " ", a.body);
      return set_error(res, a.status, a.body);
    }
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_content(a.body + "\n", "application/json");
  }

  // --- Server-Sent Events -------------------------------------------------

  struct stream_state {
    std::optional<int64_t> cursor; // the last event id sent (or to start after)
    std::string kind; // filter, "" = all
    bool started = false;
    clock_type::time_point last_write = clock_type::now();
    clock_type::time_point last_probe = clock_type::now();
    std::string last_error;
  };
  static constexpr std::chrono::milliseconds probe_every{1000};

  // The newest event id now (0 with no events): where a stream without
  // since_id / Last-Event-ID starts. The events answer carries it as
  // newest_id; asking past every id keeps the page (and its count) empty.
  std::optional<int64_t> newest_event_id(std::string* error) {
    auto a = ask("events", {{"since_id", std::to_string(std::numeric_limits<int64_t>::max() / 2)}, {"limit", "1"}});
    if (a.status != 200) {
      *error = a.body;
      return std::nullopt;
    }
    auto j = nlohmann::json::parse(a.body, nullptr, false);
    if (j.is_discarded() || !j.contains("newest_id") || !j["newest_id"].is_number_integer()) {
      *error = "events: answer without newest_id";
      return std::nullopt;
    }
    return j["newest_id"].get<int64_t>();
  }

  static bool write(httplib::DataSink& sink, stream_state& st, const std::string& text) {
    st.last_write = clock_type::now();
    return sink.write(text.data(), text.size());
  }

  // Sleeps up to `d`, waking early when the server stops.
  void nap(std::chrono::milliseconds d) {
    auto until = clock_type::now() + d;
    while (!stopping && clock_type::now() < until)
      std::this_thread::sleep_for(
        std::min<clock_type::duration>(std::chrono::milliseconds{20}, until - clock_type::now()));
  }

  // One turn of a stream: poll, push what is new, keep alive; false ends it.
  bool stream_step(stream_state& st, httplib::DataSink& sink) {
    if (stopping) return false;
    // A client that reset the connection frees its slot now, not at the
    // next write (the probe below, up to a second later).
    if (gateway::client_gone()) return false;
    if (!st.started) {
      st.started = true;
      if (!write(sink, st, "retry: 2000\n: weaver alert stream\n\n")) return false;
    }
    bool more = false;
    if (!st.cursor) {
      std::string err;
      st.cursor = newest_event_id(&err);
      if (!st.cursor && err != st.last_error) {
        st.last_error = err;
        log.warn("alert stream: ", err);
        if (!write(sink, st, ": error: " + err + "\n\n")) return false;
      }
    }
    if (st.cursor) {
      std::vector<std::pair<std::string, std::string>> params{{"since_id", std::to_string(*st.cursor)},
                                                              {"limit", "1000"}};
      if (!st.kind.empty()) params.emplace_back("kind", st.kind);
      auto a = ask("events", std::move(params));
      std::string err;
      if (a.status == 200) {
        auto j = nlohmann::json::parse(a.body, nullptr, false);
        if (j.is_discarded() || !j.contains("events") || !j["events"].is_array()) {
          err = "events: answer without an events list";
        } else {
          for (auto& e : j["events"]) {
            if (!e.contains("id") || !e["id"].is_number_integer()) continue;
            auto id = e["id"].get<int64_t>();
            if (id <= *st.cursor) continue;
            std::string msg = "id: " + std::to_string(id) + "\nevent: alert\ndata: " + e.dump() + "\n\n";
            if (!write(sink, st, msg)) return false;
            metrics::global().gateway_sse_events().Increment();
            st.cursor = id;
          }
          more = j.contains("next_offset") && !j["next_offset"].is_null();
        }
      } else {
        err = a.body;
      }
      if (!err.empty() && err != st.last_error) {
        log.warn("alert stream: ", err);
        if (!write(sink, st, ": error: " + err + "\n\n")) return false;
      }
      st.last_error = err;
    }
    if (clock_type::now() - st.last_write >= settings.keepalive) {
      if (!write(sink, st, ": keep-alive\n\n")) return false;
    } else if (clock_type::now() - st.last_probe >= std::min<clock_type::duration>(settings.keepalive, probe_every)) {
      // A closed client is seen only when a write to it fails (the second
      // after it closed), and until then its stream holds a slot of
      // max_streams: an idle stream writes an empty comment line (":",
      // ignored by EventSource) every probe_every, so a page closed or reloaded
      // frees its slot within about two of them, not a keep-alive later.
      st.last_probe = clock_type::now();
      if (!sink.write(":\n", 2)) return false;
    }
    if (!more) nap(settings.poll);
    return !stopping;
  }

  void handle_stream(const gateway::route& r, const httplib::Request& req, httplib::Response& res) {
    if (!admit(r, req, res)) return;
    auto checked = gateway::check_params(r, query_of(req), path_values(req));
    if (!checked.error.empty()) return set_error(res, 400, checked.error);
    auto st = std::make_shared<stream_state>();
    for (auto& [k, v] : checked.params) {
      if (k == "since_id") st->cursor = std::stoll(v);
      if (k == "kind") st->kind = v;
    }
    if (req.has_header("Last-Event-ID")) {
      auto v = req.get_header_value("Last-Event-ID");
      gateway::route_param p;
      p.name = "Last-Event-ID";
      p.type = gateway::param_type::integer;
      p.min = 0;
      if (auto err = gateway::check_value(p, v); !err.empty()) return set_error(res, 400, err);
      st->cursor = std::stoll(v);
    }
    if (streams.fetch_add(1) >= settings.max_streams) {
      streams.fetch_sub(1);
      res.set_header("Retry-After", "5");
      return set_error(res, 503,
                       "too many alert streams open (gateway.max_streams = " + std::to_string(settings.max_streams)
                         + "): retry later");
    }
    metrics::global().gateway_sse_clients().Increment();
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no"); // proxies: do not buffer the stream
    res.set_chunked_content_provider(
      "text/event-stream",
      // httplib calls this outside its exception handling: an exception
      // ends the stream instead of the process.
      [this, st](size_t, httplib::DataSink& sink) {
        try {
          return stream_step(*st, sink);
        } catch (const std::exception& e) {
          log.error("alert stream: ", e.what());
          return false;
        }
      },
      [this](bool) {
        streams.fetch_sub(1);
        metrics::global().gateway_sse_clients().Decrement();
      });
  }

  // --- the browser: sessions, the console, CORS --------------------------

  std::string cookie(const std::string& value, long long max_age) const {
    return std::string(gateway::session_cookie) + "=" + value + "; Path=/; HttpOnly; SameSite=Strict; Max-Age="
      + std::to_string(max_age) + (settings.secure_cookie ? "; Secure" : "");
  }

  bool cors_allowed(const std::string& origin) const {
    return !origin.empty()
      && std::find(settings.cors_origins.begin(), settings.cors_origins.end(), origin) != settings.cors_origins.end();
  }

  // A state-changing request from a page of another site: refused, unless
  // its origin is allowed. (A browser sends Origin with every POST; the
  // page's own origin has the Host it talks to.)
  bool foreign_origin(const httplib::Request& req) const {
    auto origin = req.get_header_value("Origin");
    if (origin.empty() || cors_allowed(origin)) return false;
    auto at = origin.find("://");
    return at == std::string::npos || origin.substr(at + 3) != req.get_header_value("Host");
  }

  static nlohmann::json whoami(const gateway_token* t, bool auth) {
    nlohmann::json j{{"auth", auth ? "bearer" : "none"}};
    j["name"] = t ? nlohmann::json(t->name) : nlohmann::json(nullptr);
    j["scopes"] = t ? t->scopes : gateway::known_scopes();
    return j;
  }

  static void set_json(httplib::Response& res, int status, const nlohmann::json& j) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", "application/json");
  }

  // POST /login {"token": "..."}: a session cookie for a valid token.
  void handle_login(const httplib::Request& req, httplib::Response& res) {
    if (foreign_origin(req)) return set_error(res, 403, "login from another origin");
    // Before anything is parsed: every attempt counts, good or bad.
    if (int wait = logins.attempt(req.remote_addr)) {
      log.info("login rate-limited: ", req.remote_addr);
      set_error(res, 429, "too many sign-in attempts from this address: try again in " + std::to_string(wait) + " s");
      res.set_header("Retry-After", std::to_string(wait));
      return;
    }
    // JSON only: a cross-site form cannot send it, and a cross-site script
    // must pass a CORS preflight first.
    auto type = req.get_header_value("Content-Type");
    if (type.rfind("application/json", 0) != 0)
      return set_error(res, 415, "expected Content-Type: application/json with {\"token\": \"...\"}");
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("token") || !body["token"].is_string())
      return set_error(res, 400, "token: required (a JSON object {\"token\": \"...\"})");
    if (!settings.auth) return set_json(res, 200, whoami(nullptr, false));
    auto token = body["token"].get<std::string>();
    const gateway_token* t = match_token(settings, token);
    if (!t) {
      log.info("login refused from ", req.remote_addr);
      return set_error(res, 401, "invalid token");
    }
    res.set_header("Set-Cookie", cookie(sessions.open(t->name), settings.session_ttl.count()));
    auto j = whoami(t, true);
    j["expires_in_s"] = settings.session_ttl.count();
    log.info("login: token '", t->name, "' from ", req.remote_addr);
    set_json(res, 200, j);
  }

  // POST /logout: ends the session (if any) and clears the cookie.
  void handle_logout(const httplib::Request& req, httplib::Response& res) {
    if (foreign_origin(req)) return set_error(res, 403, "logout from another origin");
    auto id = gateway::cookie_value(req.get_header_value("Cookie"), gateway::session_cookie);
    bool ended = !id.empty() && sessions.close(id);
    res.set_header("Set-Cookie", cookie("", 0));
    set_json(res, 200, {{"ok", true}, {"ended", ended}});
  }

  // GET /session: whose token this request carries (cookie or bearer).
  void handle_session(const httplib::Request& req, httplib::Response& res) {
    if (!settings.auth) return set_json(res, 200, whoami(nullptr, false));
    // Any scope will do: ask for each, keep the first that admits.
    auth_outcome a;
    for (auto& scope : gateway::known_scopes()) {
      a = check(req, scope);
      if (a.status != 401) break;
    }
    if (a.status == 401) {
      set_error(res, 401, a.error);
      res.set_header("WWW-Authenticate", a.www_authenticate);
      return;
    }
    const gateway_token* t = nullptr;
    for (auto& tok : settings.tokens)
      if (tok.name == a.token_name) t = &tok;
    set_json(res, 200, whoami(t, true));
  }

  // --- camera snapshots ------------------------------------------------------

  // The {camera} of a snapshot path: a camera id, else a 400. Only the
  // parameters in `allowed` may be given.
  std::optional<uint32_t> camera_param(const httplib::Request& req, httplib::Response& res,
                                       const std::vector<std::string>& allowed) {
    for (auto& [k, v] : req.params)
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        set_error(res, 400, "unknown parameter '" + k + "'");
        return std::nullopt;
      }
    auto text = req.matches.size() > 1 ? req.matches[1].str() : std::string{};
    bool digits = !text.empty() && text.size() <= 10
      && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoull(text) > std::numeric_limits<uint32_t>::max()) {
      set_error(res, 400, "camera: expected a camera id, got '" + text + "'");
      return std::nullopt;
    }
    return static_cast<uint32_t>(std::stoull(text));
  }

  void no_snapshot(httplib::Response& res, uint32_t camera) {
    set_error(res, 404,
              "camera " + std::to_string(camera)
                + ": no live frames here (snapshots show the cameras of the process that serves them: weaver run, "
                  "or a node with the camera and gateway roles and gateway.snapshots true; or of other processes "
                  "whose tracker sends them with mesh.live_fps)");
  }

  std::string stale_message(uint32_t camera, const gateway::picture_age& age) const {
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", static_cast<double>(settings.stale_after_ms) / 1000.0);
    return "camera " + std::to_string(camera) + " is down: its newest picture is " + std::to_string(age.age_ms / 1000)
      + " s old (gateway.stale_after_s = " + bound + ")";
  }

  // GET /v1/cameras/{camera}/live: the newest frame's boxes, the camera's
  // zones and lines, and where its picture is.
  void handle_live(const httplib::Request& req, httplib::Response& res) {
    static const gateway::route scope_only{"", gateway::route_kind::query, "", "query", "", {}, {}};
    if (!admit(scope_only, req, res)) return;
    auto camera = camera_param(req, res, {});
    if (!camera) return;
    auto s = latest_snapshot(*camera);
    if (!s) return no_snapshot(res, *camera);
    const auto age = gateway::age_of(*s, live_view::wall_clock_ms(), settings.stale_after_ms);
    auto pt = [](const point2& p) { return nlohmann::json::array({p.x, p.y}); };
    nlohmann::json zones = nlohmann::json::array(), lines = nlohmann::json::array(), boxes = nlohmann::json::array();
    if (auto shapes = shapes_of(*camera)) {
      for (auto& z : shapes->zones) {
        auto poly = nlohmann::json::array();
        for (auto& p : z.polygon) poly.push_back(pt(p));
        zones.push_back({{"name", z.name}, {"polygon", std::move(poly)}});
      }
      for (auto& l : shapes->lines) lines.push_back({{"name", l.name}, {"a", pt(l.a)}, {"b", pt(l.b)}});
    }
    for (auto& b : s->boxes) {
      boxes.push_back({{"track", b.track_id},
                       {"x", b.bbox.x},
                       {"y", b.bbox.y},
                       {"w", b.bbox.w},
                       {"h", b.bbox.h},
                       {"score", b.score}});
      // Provisional: re-id's guess while the track is open (the final id
      // comes when it ends).
      if (b.person) boxes.back()["person"] = *b.person;
    }
    set_json(res, 200,
             {{"camera", *camera},
              {"seq", s->seq},
              {"time", format_iso8601(s->time_ms)},
              {"width", s->width},
              {"height", s->height},
              {"snapshot", "/v1/cameras/" + std::to_string(*camera) + "/snapshot.jpg?seq=" + std::to_string(s->seq)},
              {"refresh_ms", static_cast<int64_t>(1000.0 / settings.snapshot_fps + 0.5)},
              {"jpeg_bytes", s->jpeg->size()},
              {"age_ms", age.age_ms},
              {"stale", age.stale},
              {"stale_after_ms", settings.stale_after_ms},
              {"boxes", std::move(boxes)},
              {"zones", std::move(zones)},
              {"lines", std::move(lines)}});
  }

  // --- zones ------------------------------------------------------------------

  // A camera's zones and lines now: as edited here, else as configured.
  std::optional<zone_shapes> shapes_of(uint32_t camera) const {
    if (zone_edits)
      if (auto s = zone_edits->get(camera)) return s;
    for (auto& c : settings.cameras)
      if (c.id == camera) return zone_shapes{c.zones, c.lines};
    return std::nullopt;
  }

  static constexpr const char* zones_elsewhere =
    "the zones of this gateway's cameras are evaluated by a tracker in another process: no link carries an edit "
    "there; change the camera's zones and lines in the configuration and restart that tracker";

  nlohmann::json zones_answer(uint32_t camera, const zone_shapes& shapes) const {
    auto j = zone_shapes_json(shapes);
    j["camera"] = camera;
    j["editable"] = zone_edits != nullptr;
    j["kept"] = zone_edits != nullptr && settings.zones_kept;
    std::optional<zone_registry::frame_size> size;
    if (zone_edits) size = zone_edits->size_of(camera);
    j["width"] = size ? nlohmann::json(size->width) : nlohmann::json(nullptr);
    j["height"] = size ? nlohmann::json(size->height) : nlohmann::json(nullptr);
    if (!zone_edits) j["why_not_editable"] = zones_elsewhere;
    return j;
  }

  // GET /v1/cameras/{camera}/zones
  void handle_zones_get(const httplib::Request& req, httplib::Response& res) {
    static const gateway::route scope_only{"", gateway::route_kind::query, "", "query", "", {}, {}};
    if (!admit(scope_only, req, res)) return;
    auto camera = camera_param(req, res, {});
    if (!camera) return;
    auto shapes = shapes_of(*camera);
    if (!shapes) return set_error(res, 404, "no camera " + std::to_string(*camera) + " in the configuration");
    set_json(res, 200, zones_answer(*camera, *shapes));
  }

  // PUT /v1/cameras/{camera}/zones: the camera's zones and lines from now on.
  void handle_zones_put(const httplib::Request& req, httplib::Response& res) {
    static const gateway::route scope_write{"", gateway::route_kind::query, "", "zones", "", {}, {}};
    if (!admit(scope_write, req, res)) return;
    // A write: a page of another site may not make it (a browser sends
    // Origin with a PUT), nor a form (JSON only).
    if (foreign_origin(req)) return set_error(res, 403, "zone edit from another origin");
    auto camera = camera_param(req, res, {});
    if (!camera) return;
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0)
      return set_error(res, 415, "expected Content-Type: application/json with {\"zones\": [...], \"lines\": [...]}");
    if (!shapes_of(*camera))
      return set_error(res, 404, "no camera " + std::to_string(*camera) + " in the configuration");
    if (!zone_edits) return set_error(res, 409, zones_elsewhere);
    auto size = zone_edits->size_of(*camera);
    if (!size)
      return set_error(res, 409,
                       "camera " + std::to_string(*camera)
                         + ": its frame size is not known yet (no frame tracked): retry once it runs");
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return set_error(res, 400, "body: not JSON");
    auto parsed = parse_zone_shapes(body, size->width, size->height);
    if (!parsed.error.empty()) return set_error(res, 400, parsed.error);
    auto names = [](const zone_shapes& s) {
      std::string out;
      for (auto& z : s.zones) out += (out.empty() ? "" : ", ") + z.name;
      for (auto& l : s.lines) out += (out.empty() ? "" : ", ") + l.name;
      return out.empty() ? std::string{"none"} : out;
    };
    const std::string who = check(req, "zones").token_name;
    log.info("camera ", *camera, ": zones and lines set to ", names(parsed.shapes), " by ",
             who.empty() ? std::string{"(no auth)"} : "token '" + who + "'", " from ", req.remote_addr);
    bool kept = false;
    zone_edits->set(*camera, parsed.shapes, &kept);
    auto answer = zones_answer(*camera, parsed.shapes);
    if (settings.zones_kept && !kept) {
      // In use, but the file did not take them: say so, not "kept".
      answer["kept"] = false;
      answer["keep_error"] =
        "tracker.zones_file could not be written (the log says why): these zones last until restart";
    }
    set_json(res, 200, answer);
  }

  // GET /v1/cameras/{camera}/snapshot.jpg[?seq=N]: frame N while it is
  // among the last encodings, else the newest.
  void handle_snapshot(const httplib::Request& req, httplib::Response& res) {
    static const gateway::route scope_only{"", gateway::route_kind::query, "", "query", "", {}, {}};
    if (!admit(scope_only, req, res)) return;
    auto camera = camera_param(req, res, {"seq"});
    if (!camera) return;
    std::optional<gateway::encoded_snapshot> s;
    if (req.has_param("seq")) {
      auto v = req.get_param_value("seq");
      bool digits =
        !v.empty() && v.size() <= 19 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits) return set_error(res, 400, "seq: expected a frame number, got '" + v + "'");
      s = snapshot_at(*camera, std::stoull(v));
    }
    if (!s) s = latest_snapshot(*camera);
    if (!s) return no_snapshot(res, *camera);
    // A stopped camera's last picture is still served (what it saw last),
    // saying how old it is: an <img> keeps showing it, a client can tell.
    const auto age = gateway::age_of(*s, live_view::wall_clock_ms(), settings.stale_after_ms);
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Seq", std::to_string(s->seq));
    res.set_header("X-Frame-Age-Ms", std::to_string(age.age_ms));
    res.set_header("X-Frame-Stale", age.stale ? "true" : "false");
    res.set_content(*s->jpeg, "image/jpeg");
  }

  // GET /v1/cameras/{camera}/stream.mjpg: the camera's pictures as MJPEG
  // (multipart/x-mixed-replace: an <img> or a video player shows it as it
  // comes), each new encoding once. The same cache as snapshot.jpg, so a
  // viewer adds no encoding: at most snapshot_fps pictures a second. Counts
  // against gateway.max_streams with the alert streams.
  void handle_mjpeg(const httplib::Request& req, httplib::Response& res) {
    static const gateway::route scope_only{"", gateway::route_kind::query, "", "query", "", {}, {}};
    if (!admit(scope_only, req, res)) return;
    auto camera = camera_param(req, res, {});
    if (!camera) return;
    auto first = latest_snapshot(*camera);
    if (!first) return no_snapshot(res, *camera);
    // A stream of a stopped camera would never show a new picture: refused
    // (an open one ends when its camera goes stale), so it holds no slot.
    const auto age = gateway::age_of(*first, live_view::wall_clock_ms(), settings.stale_after_ms);
    if (age.stale) {
      res.set_header("Retry-After", "5");
      return set_error(res, 503, stale_message(*camera, age));
    }
    if (streams.fetch_add(1) >= settings.max_streams) {
      streams.fetch_sub(1);
      res.set_header("Retry-After", "5");
      return set_error(
        res, 503,
        "too many streams open (gateway.max_streams = " + std::to_string(settings.max_streams) + "): retry later");
    }
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    auto sent = std::make_shared<std::optional<uint64_t>>(); // the seq of the last picture sent
    const auto period = std::chrono::milliseconds{static_cast<int64_t>(1000.0 / settings.snapshot_fps / 2 + 0.5)};
    res.set_chunked_content_provider(
      std::string("multipart/x-mixed-replace; boundary=") + mjpeg_boundary,
      [this, cam = *camera, sent, period](size_t, httplib::DataSink& sink) {
        try {
          if (stopping || gateway::client_gone()) return false; // as the alert stream
          auto s = latest_snapshot(cam);
          if (s && gateway::age_of(*s, live_view::wall_clock_ms(), settings.stale_after_ms).stale) {
            // Ended as a multipart stream ends (the closing boundary, the
            // last chunk): a client sees the end, not a broken connection.
            const std::string close = std::string("--") + mjpeg_boundary + "--\r\n";
            if (sink.write(close.data(), close.size())) sink.done();
            return true;
          }
          if (s && (!*sent || **sent != s->seq)) {
            *sent = s->seq;
            std::string head = std::string("--") + mjpeg_boundary + "\r\nContent-Type: image/jpeg\r\nContent-Length: "
              + std::to_string(s->jpeg->size()) + "\r\nX-Frame-Seq: " + std::to_string(s->seq) + "\r\n\r\n";
            if (!sink.write(head.data(), head.size()) || !sink.write(s->jpeg->data(), s->jpeg->size())
                || !sink.write("\r\n", 2))
              return false;
          }
          nap(period); // half the encoding period: a new picture goes out soon after it is made
          return !stopping;
        } catch (const std::exception& e) {
          log.error("mjpeg stream: ", e.what());
          return false;
        }
      },
      [this](bool) { streams.fetch_sub(1); });
  }

  // GET /v1/evidence/{camera}/{track}.jpg: a track's evidence crop, from
  // the query role (which reads the crops from the store).
  void handle_evidence(const httplib::Request& req, httplib::Response& res) {
    static const gateway::route scope_only{"", gateway::route_kind::query, "", "query", "", {}, {}};
    if (!admit(scope_only, req, res)) return;
    auto camera = camera_param(req, res, {});
    if (!camera) return;
    auto track = req.matches.size() > 2 ? req.matches[2].str() : std::string{};
    bool digits = !track.empty() && track.size() <= 18
      && std::all_of(track.begin(), track.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) return set_error(res, 400, "track: expected a track id, got '" + track + "'");
    auto a = ask("evidence", {{"camera", std::to_string(*camera)}, {"track", track}});
    if (a.status != 200) return set_error(res, a.status, a.body);
    auto j = nlohmann::json::parse(a.body, nullptr, false);
    std::optional<std::vector<int8_t>> bytes;
    if (j.is_object() && j.contains("jpeg") && j["jpeg"].is_string()) bytes = from_base64(j["jpeg"].get<std::string>());
    if (!bytes || bytes->empty())
      return set_error(res, 404, "no evidence crop for track " + track + " of camera " + std::to_string(*camera));
    res.status = 200;
    res.set_header("Cache-Control", "private, max-age=3600");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(std::string(bytes->begin(), bytes->end()), "image/jpeg");
  }

  // A file of the console: cacheable with revalidation (ETag), locked down
  // (scripts and styles from this origin only, never framed).
  void handle_asset(const std::string& url, const httplib::Request& req, httplib::Response& res) {
    auto a = assets->get(url);
    if (!a) return set_error(res, 404, "no file " + url);
    res.set_header("ETag", a->etag);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
                   "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    if (req.get_header_value("If-None-Match") == a->etag) {
      res.status = 304;
      return;
    }
    res.status = 200;
    res.set_content(a->body, a->content_type);
  }

  // Every path the gateway serves and the methods it takes there.
  std::vector<std::pair<std::string, std::string>> known_paths() const {
    std::vector<std::pair<std::string, std::string>> out; // pattern, Allow
    for (auto& r : gateway::routes()) out.emplace_back(gateway::server_pattern(r), "GET, HEAD, OPTIONS");
    out.emplace_back("/login", "POST, OPTIONS");
    out.emplace_back("/logout", "POST, OPTIONS");
    out.emplace_back("/session", "GET, HEAD, OPTIONS");
    out.emplace_back(live_pattern, "GET, HEAD, OPTIONS");
    out.emplace_back(zones_pattern, "GET, HEAD, PUT, OPTIONS");
    out.emplace_back(snapshot_pattern, "GET, HEAD, OPTIONS");
    out.emplace_back(evidence_pattern, "GET, HEAD, OPTIONS");
    out.emplace_back(mjpeg_pattern, "GET, HEAD, OPTIONS");
    if (assets)
      for (auto& u : assets->urls()) out.emplace_back(escape_regex(u), "GET, HEAD, OPTIONS");
    return out;
  }

  static constexpr const char* live_pattern = R"(/v1/cameras/([^/]+)/live)";
  static constexpr const char* zones_pattern = R"(/v1/cameras/([^/]+)/zones)";
  static constexpr const char* snapshot_pattern = R"(/v1/cameras/([^/]+)/snapshot\.jpg)";
  static constexpr const char* evidence_pattern = R"(/v1/evidence/([^/]+)/([^/]+)\.jpg)";
  static constexpr const char* mjpeg_pattern = R"(/v1/cameras/([^/]+)/stream\.mjpg)";
  static constexpr const char* mjpeg_boundary = "weaver-frame";

  static std::string escape_regex(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (std::string{".+*?()[]^$|\\{}"}.find(c) != std::string::npos) out += '\\';
      out += c;
    }
    return out;
  }

  void install_browser() {
    auto timed = [](std::string route, std::function<void(const httplib::Request&, httplib::Response&)> fn) {
      return [route = std::move(route), fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
        auto t0 = clock_type::now();
        fn(req, res);
        record(route, res.status, t0);
      };
    };
    server->Post("/login", timed("/login", [this](auto& req, auto& res) { handle_login(req, res); }));
    server->Post("/logout", timed("/logout", [this](auto& req, auto& res) { handle_logout(req, res); }));
    server->Get("/session", timed("/session", [this](auto& req, auto& res) { handle_session(req, res); }));
    server->Get(live_pattern,
                timed("/v1/cameras/{camera}/live", [this](auto& req, auto& res) { handle_live(req, res); }));
    server->Get(zones_pattern,
                timed("/v1/cameras/{camera}/zones", [this](auto& req, auto& res) { handle_zones_get(req, res); }));
    server->Put(zones_pattern,
                timed("/v1/cameras/{camera}/zones", [this](auto& req, auto& res) { handle_zones_put(req, res); }));
    server->Get(evidence_pattern, timed("/v1/evidence/{camera}/{track}.jpg", [this](auto& req, auto& res) {
                  handle_evidence(req, res);
                }));
    server->Get(snapshot_pattern, timed("/v1/cameras/{camera}/snapshot.jpg", [this](auto& req, auto& res) {
                  handle_snapshot(req, res);
                }));
    // A stream: counted, not timed (its length is the viewer's).
    server->Get(mjpeg_pattern, [this](const httplib::Request& req, httplib::Response& res) {
      handle_mjpeg(req, res);
      record("/v1/cameras/{camera}/stream.mjpg", res.status, clock_type::now(), false);
    });
    if (assets)
      for (auto& u : assets->urls())
        server->Get(escape_regex(u), timed(u, [this, u](auto& req, auto& res) { handle_asset(u, req, res); }));
    // Known paths, other methods: 405 naming the allowed ones; OPTIONS is
    // the CORS preflight (headers only for an allowed origin).
    for (auto& [pattern, allow] : known_paths()) {
      auto refuse = [allow = allow](const httplib::Request& req, httplib::Response& res) {
        set_error(res, 405, req.method + " not allowed here (allowed: " + allow + ")");
        res.set_header("Allow", allow);
        record("other", 405, clock_type::now(), false);
      };
      auto allowed = [&allow = allow](const char* m) {
        return (", " + allow + ",").find(", " + std::string(m) + ",") != std::string::npos;
      };
      if (!allowed("GET")) server->Get(pattern, refuse);
      if (!allowed("POST")) server->Post(pattern, refuse);
      if (!allowed("PUT")) server->Put(pattern, refuse);
      server->Patch(pattern, refuse);
      server->Delete(pattern, refuse);
      server->Options(pattern, [this, allow = allow](const httplib::Request& req, httplib::Response& res) {
        res.status = 204;
        res.set_header("Allow", allow);
        if (cors_allowed(req.get_header_value("Origin"))) {
          res.set_header("Access-Control-Allow-Methods", allow);
          res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID");
          res.set_header("Access-Control-Max-Age", "600");
        }
      });
    }
    // CORS: an allowed origin may read the answers (bearer tokens only:
    // no Allow-Credentials, so cookies never travel cross-origin).
    server->set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      auto origin = req.get_header_value("Origin");
      if (settings.cors_origins.empty() || origin.empty()) return;
      res.set_header("Vary", "Origin");
      if (cors_allowed(origin)) res.set_header("Access-Control-Allow-Origin", origin);
    });
  }

  void install() {
    auto h = make_health_handlers(health, metrics_src);
    // Before any route: what is not UTF-8 is a 400 (handlers, logs and the
    // 404 message may all echo it).
    server->set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      auto part = not_utf8(req);
      if (!part) return httplib::Server::HandlerResponse::Unhandled;
      set_error(res, 400, std::string("the request's ") + part + " is not valid UTF-8");
      record("other", 400, clock_type::now(), false);
      return httplib::Server::HandlerResponse::Handled;
    });
    for (auto& r : gateway::routes()) {
      const gateway::route* route = &r;
      httplib::Server::Handler fn;
      if (r.kind == gateway::route_kind::health) {
        auto inner = r.path == "/healthz" ? h.healthz : r.path == "/readyz" ? h.readyz : h.metrics;
        fn = [route, inner](const httplib::Request& req, httplib::Response& res) {
          auto t0 = clock_type::now();
          auto checked = gateway::check_params(*route, query_of(req), {});
          if (!checked.error.empty())
            set_error(res, 400, checked.error);
          else
            inner(req, res);
          record(route->path, res.status == -1 ? 200 : res.status, t0);
        };
      } else if (r.kind == gateway::route_kind::stream) {
        fn = [this, route](const httplib::Request& req, httplib::Response& res) {
          auto t0 = clock_type::now();
          handle_stream(*route, req, res);
          record(route->path, res.status, t0, res.status != 200);
        };
      } else {
        fn = [this, route](const httplib::Request& req, httplib::Response& res) {
          auto t0 = clock_type::now();
          handle_query(*route, req, res);
          record(route->path, res.status, t0);
        };
      }
      server->Get(gateway::server_pattern(r), fn);
    }
    install_browser();
    // No route (httplib answers 404), or an error without a body yet.
    // It runs outside httplib's exception handling: it must not throw.
    server->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty() || res.is_chunked_content_provider_) return;
      try {
        if (res.status == 404) {
          record("other", 404, clock_type::now(), false);
          set_error(res, 404, "no route " + req.method + " " + req.path + " (GET /v1/..., see weaver query --list)");
        } else {
          set_error(res, res.status, "HTTP " + std::to_string(res.status));
        }
      } catch (const std::exception& e) {
        log.error("error handler: ", e.what());
        res.set_content("{\"error\":\"internal error\"}\n", "application/json");
      }
    });
    // WEAVER_LOG=debug: one line per request (never its headers: tokens).
    server->set_logger([](const httplib::Request& req, const httplib::Response& res) {
      log.debug(req.remote_addr, " ", req.method, " ", req.path, " ", res.status);
    });
    server->set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "internal error";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {}
      // The exception's text (a library's message) goes to the log only.
      log.error(req.path, ": ", what);
      set_error(res, 500, "internal error");
    });
  }
};

gateway_server::gateway_server(caf::actor_system& sys, query_actor query, gateway_settings settings,
                               std::shared_ptr<const health_registry> health,
                               std::shared_ptr<const metrics_sources> metrics, std::shared_ptr<const live_view> live,
                               std::shared_ptr<zone_registry> zones)
  : impl_(std::make_unique<impl>(sys, std::move(query), std::move(settings), std::move(health), std::move(metrics),
                                 std::move(live), std::move(zones))) {
  if (!impl_->health || !impl_->metrics_src) throw std::invalid_argument("gateway_server: no health registry");
}

gateway_server::~gateway_server() { stop(); }

int gateway_server::port() const { return impl_->port; }

void gateway_server::start() {
  auto& d = *impl_;
  if (d.server) throw std::runtime_error("gateway: already started");
  gateway::connection_limits limits;
  limits.workers = static_cast<size_t>(std::max(1, d.settings.threads));
  limits.max_connections = static_cast<size_t>(std::max(1, d.settings.max_connections));
  limits.max_per_client = static_cast<size_t>(std::max(1, d.settings.max_connections_per_client));
  limits.request_timeout = d.settings.request_timeout;
  limits.idle_timeout = d.settings.idle_timeout;
  limits.io_timeout = d.settings.io_timeout;
  d.server = std::make_unique<gateway::http_server>(limits);
  d.server->set_payload_max_length(64 * 1024);
  // As the health server: SO_REUSEADDR only, so a busy port is an error.
  d.server->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  d.install();
  int bound = d.settings.port;
  if (d.settings.port == 0) {
    bound = d.server->bind_to_any_port(d.settings.bind);
  } else if (!d.server->bind_to_port(d.settings.bind, d.settings.port)) {
    bound = -1;
  }
  if (bound <= 0) {
    d.server.reset();
    throw std::runtime_error("gateway: cannot listen on " + d.settings.bind + ":" + std::to_string(d.settings.port));
  }
  d.server->raise_backlog();
  d.port = bound;
  d.stopping = false;
  auto done = std::make_shared<std::atomic<bool>>(false);
  d.thread = std::thread{[s = d.server.get(), done] {
    s->listen_after_bind();
    *done = true;
  }};
  // As in health_server::start: be in the accept loop before returning, so
  // an early stop() is not missed.
  while (!d.server->is_running() && !*done) std::this_thread::sleep_for(std::chrono::milliseconds{1});
  log.info("REST gateway on http://", d.settings.bind, ":", d.port, " (", gateway::routes().size(), " routes, auth ",
           d.settings.auth ? "bearer" : "none", ")");
}

void gateway_server::stop() {
  auto& d = *impl_;
  if (!d.server) return;
  d.stopping = true; // alert streams end at their next turn
  d.server->stop();
  if (d.thread.joinable()) d.thread.join();
  d.server->shutdown_connections(); // waiting connections closed, workers joined
  d.server.reset();
  d.port = 0;
}

} // namespace weaver
