// Health and readiness of a Weaver process, and the one HTTP port that
// serves them together with the Prometheus metrics:
//
//   GET /healthz  200 when every liveness check passes, else 503
//   GET /readyz   200 when every liveness and readiness check passes, else 503
//   GET /metrics  the registered Prometheus collectables, text format 0.0.4
//
// /healthz and /readyz answer with a JSON body listing each check:
//   {"status": "ok" | "fail", "checks": [{"name": "store", "kind": "readiness",
//     "ok": true, "message": "open: /var/lib/weaver/weaver.db"}, ...]}
//
// Liveness means "restart me if this fails" (the process is wedged), readiness
// "send me no work yet" (a link is not connected, the store is not open).
// Checks are plain functions, run on the HTTP thread at each request outside
// any lock: they must be cheap and must not block. A check that throws counts
// as failed with the exception's message. The registry is thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace prometheus {
class Collectable;
}
namespace httplib {
class Server;
struct Request;
struct Response;
} // namespace httplib

namespace weaver {

/// Which probe a check belongs to. Liveness checks count for both probes.
enum class probe_kind { liveness, readiness };

struct check_result {
  bool ok = false;
  std::string message;
};

using check_fn = std::function<check_result()>;

/// A check whose state is set from outside (thread-safe): for conditions
/// that are events rather than something to poll ("store opened").
class health_flag {
public:
  health_flag(bool ok, std::string message) : state_{ok, std::move(message)} {}
  void set(bool ok, std::string message);
  check_result get() const;

private:
  mutable std::mutex mutex_;
  check_result state_;
};

/// One probe's verdict: ok when every check it covers passed.
struct health_report {
  bool ok = true;
  nlohmann::json body; // {"status": ..., "checks": [...]}
};

class health_registry {
public:
  /// Adds a named check, replacing any check of the same name.
  void add(const std::string& name, probe_kind kind, check_fn fn);

  /// Adds a check backed by a flag that starts as (ok, message); returns the
  /// flag to set later. Replaces any check of the same name.
  std::shared_ptr<health_flag> add_flag(const std::string& name, probe_kind kind, bool ok, std::string message);

  /// Removes a check; false when there was none of that name.
  bool remove(const std::string& name);

  /// Runs the checks of a probe (for readiness: liveness checks too), in the
  /// order they were added. With no checks the probe passes.
  health_report evaluate(probe_kind kind) const;

  /// Names of the registered checks, in order.
  std::vector<std::string> names() const;

private:
  struct entry {
    std::string name;
    probe_kind kind;
    check_fn fn;
  };
  mutable std::mutex mutex_;
  std::vector<entry> checks_;
};

/// What /metrics serves: Prometheus collectables, held weakly (a registry
/// that is gone is skipped). Thread-safe.
class metrics_sources {
public:
  void add(std::weak_ptr<prometheus::Collectable> collectable);
  /// Every live collectable, in the text format 0.0.4.
  std::string text() const;

private:
  mutable std::mutex mutex_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_;
};

/// The handlers of /healthz, /readyz and /metrics, for any httplib server:
/// the health server's own and the REST gateway's (services/gateway).
using http_handler = std::function<void(const httplib::Request&, httplib::Response&)>;
struct health_handlers {
  http_handler healthz, readyz, metrics;
};
health_handlers make_health_handlers(std::shared_ptr<const health_registry> registry,
                                     std::shared_ptr<const metrics_sources> sources);

/// The HTTP server: /healthz, /readyz and /metrics on one port.
class health_server {
public:
  explicit health_server(std::shared_ptr<const health_registry> registry);
  ~health_server(); // stops
  health_server(const health_server&) = delete;
  health_server& operator=(const health_server&) = delete;

  /// Serves this collectable at /metrics too (any time; held weakly, so a
  /// registry that is gone is skipped).
  void add_collectable(std::weak_ptr<prometheus::Collectable> collectable);

  /// Binds bind:port (port 0 = any free port) and serves on a background
  /// thread. Throws std::runtime_error naming the address when it cannot bind.
  void start(const std::string& bind, int port);

  /// The bound port (after start()), 0 before.
  int port() const { return port_; }

  /// Stops serving and joins the thread; idempotent.
  void stop();

private:
  std::shared_ptr<const health_registry> registry_;
  std::shared_ptr<metrics_sources> sources_ = std::make_shared<metrics_sources>();
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

} // namespace weaver
