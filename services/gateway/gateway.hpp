// The REST gateway: JSON over HTTP in front of the query actor.
//
//   GET /v1/...            one route per query (services/gateway/routes.hpp),
//                          answered by the query actor; 200 with its JSON
//   GET /v1/alerts/stream  alert events as Server-Sent Events
//   GET /healthz /readyz /metrics   as services/health.hpp, no token
//   POST /login, POST /logout, GET /session   browser sessions: a token
//                          traded for an HttpOnly SameSite=Strict cookie,
//                          accepted wherever the bearer token is
//   GET /v1/cameras/{camera}/live, /snapshot.jpg   a camera's newest frame
//                          and its boxes, zones and lines (scope query; the
//                          cameras this process opens: live_view; those of
//                          other processes whose tracker sends live frames
//                          over the mesh: what storage keeps, from the
//                          query role's `live` query)
//   GET /v1/cameras/{camera}/stream.mjpg   the same pictures as MJPEG
//                          (multipart/x-mixed-replace), a max_streams stream
//   GET /v1/cameras/{camera}/zones   a camera's zones and lines now (scope
//                          query), and whether they can be edited here
//   PUT /v1/cameras/{camera}/zones   replaces them at run time (scope zones;
//                          JSON in the config's shape, checked strictly
//                          against the camera's frame): the tracker of this
//                          process evaluates them from its next batch on.
//                          409 where the tracker runs in another process
//                          (no link carries an edit there) or the camera's
//                          frame size is not known yet. Kept across restarts
//                          in tracker.zones_file when set, else until restart.
//   GET /, /docs, /openapi.yaml, /app.js ...   the web console, no token
//                          (its data comes from the routes above)
//   OPTIONS                CORS preflight for gateway.cors_origins (none by
//                          default); any other method on a known path: 405
//
// Errors are JSON {"error": "..."}: 400 for a bad request (the message starts
// with the parameter's name, or "unknown parameter 'x'"; a path, parameter
// or header that is not UTF-8), 401 without a valid bearer token (with
// WWW-Authenticate: Bearer), 403 when the token lacks the route's scope, 404
// for no such route, 500 when the query failed, 502 when the query service
// answered with something unusable, 503 when too many alert streams or
// connections are open, 504 when the query actor did not answer within
// gateway.timeout_ms. No error carries a library's or CAF's own text: those
// go to the log.
//
// Connections are held by services/gateway/http_server.hpp (a poller, not a
// thread, waits for request heads; timeouts and connection caps). Handlers
// run on its worker threads and ask the query actor through a
// caf::scoped_actor each (request/receive with a timeout). An alert stream
// holds its worker thread and polls the `events` query every poll_ms.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "actors/live_view.hpp"
#include "actors/tracker/zone_registry.hpp"
#include "services/config.hpp"
#include "services/health.hpp"

namespace caf {
class actor_system;
}

namespace weaver {

/// The gateway's settings, resolved (tokens from the environment added).
struct gateway_settings {
  std::string bind = "127.0.0.1";
  int port = 0; // 0 = any free port
  bool auth = true; // false: gateway.auth none
  std::vector<gateway_token> tokens;
  std::chrono::milliseconds poll{250};
  std::chrono::milliseconds keepalive{15000};
  std::chrono::milliseconds timeout{10000};
  int threads = 16;
  int max_streams = 8;
  // Connection handling (services/gateway/http_server.hpp).
  int max_connections = 512;
  int max_connections_per_client = 64;
  std::chrono::milliseconds request_timeout{5000}; // a request head, from its first byte
  std::chrono::milliseconds idle_timeout{30000}; // a keep-alive connection between requests
  std::chrono::milliseconds io_timeout{10000}; // one write without progress
  // The browser side (services/gateway/web_session.hpp, web_assets.hpp).
  bool console = true; // serve the web console and /docs
  std::string web_root; // "" = built in
  std::chrono::seconds session_ttl{43200};
  size_t max_sessions = 1024;
  bool secure_cookie = false;
  std::vector<std::string> cors_origins; // allowed Origin values; none = no CORS
  // Camera snapshots (services/gateway/snapshots.hpp) and what is drawn
  // over them: each camera's zones and lines, in its pixels.
  bool snapshots = true;
  double snapshot_fps = 2;
  int snapshot_quality = 70;
  int snapshot_width = 960;
  // A camera whose newest picture is older than this is stale (down): said
  // by the live and snapshot routes, refused by the stream (0 = never).
  int64_t stale_after_ms = 10000;
  struct camera_shapes {
    uint32_t id = 0;
    std::vector<zone_def> zones;
    std::vector<line_def> lines;
  };
  std::vector<camera_shapes> cameras;
  bool zones_kept = false; // tracker.zones_file is set: edits survive a restart
  // POST /login per client address (services/gateway/login_limiter.hpp).
  double login_per_minute = 10;
  int login_burst = 5;
};

/// From the configuration: adds the token of the environment variable
/// gateway.token_env (all scopes) when it is set. Throws config_error when
/// auth is bearer and there is no token at all.
gateway_settings gateway_settings_of(const config& cfg);

/// The bearer-token check of one request.
struct auth_outcome {
  int status = 200; // 200, 401 or 403
  std::string error; // for the JSON body
  std::string www_authenticate; // the header for 401 / 403
  std::string token_name; // whose token it was (200, 403)
};

/// Checks an Authorization header value against the tokens for a scope
/// ("" = no token needed). Compares every token in constant time (for a
/// given length), without stopping at the first match.
auth_outcome authorize(const gateway_settings& s, const std::string& authorization, const std::string& scope);

/// The configured token equal to `token` (every token compared, in
/// constant time), or null.
const gateway_token* match_token(const gateway_settings& s, const std::string& token);

/// The check of a browser session: `token_name` is whose token the session
/// was opened with (nothing: no such session). The token's scopes now decide.
auth_outcome authorize_session(const gateway_settings& s, const std::optional<std::string>& token_name,
                               const std::string& scope);

/// Equal strings, in time that does not depend on where they differ.
bool constant_time_equal(const std::string& a, const std::string& b);

class gateway_server {
public:
  /// `query` answers the queries; `health` and `metrics` back /healthz,
  /// /readyz and /metrics; `live` (may be null) the camera snapshots. The
  /// actor system must outlive the server. `zones` (may be null): the
  /// zones the tracker of this process evaluates, edited by PUT
  /// /v1/cameras/{camera}/zones (null: that route answers 409).
  gateway_server(caf::actor_system& sys, query_actor query, gateway_settings settings,
                 std::shared_ptr<const health_registry> health, std::shared_ptr<const metrics_sources> metrics,
                 std::shared_ptr<const live_view> live = nullptr, std::shared_ptr<zone_registry> zones = nullptr);
  ~gateway_server(); // stops
  gateway_server(const gateway_server&) = delete;
  gateway_server& operator=(const gateway_server&) = delete;

  /// Binds bind:port and serves on a background thread. Throws
  /// std::runtime_error naming the address when it cannot bind.
  void start();

  /// The bound port (after start()), 0 before.
  int port() const;

  /// Ends open alert streams, stops serving and joins; idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace weaver
