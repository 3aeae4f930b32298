#include "services/health.hpp"

#include <atomic>
#include <chrono>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "services/http.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace weaver {

void health_flag::set(bool ok, std::string message) {
  std::lock_guard<std::mutex> lock{mutex_};
  state_ = check_result{ok, std::move(message)};
}

check_result health_flag::get() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return state_;
}

void health_registry::add(const std::string& name, probe_kind kind, check_fn fn) {
  if (!fn) throw std::invalid_argument("health check '" + name + "': empty function");
  std::lock_guard<std::mutex> lock{mutex_};
  for (auto& e : checks_) {
    if (e.name == name) {
      e.kind = kind;
      e.fn = std::move(fn);
      return;
    }
  }
  checks_.push_back(entry{name, kind, std::move(fn)});
}

std::shared_ptr<health_flag> health_registry::add_flag(const std::string& name, probe_kind kind, bool ok,
                                                       std::string message) {
  auto flag = std::make_shared<health_flag>(ok, std::move(message));
  add(name, kind, [flag] { return flag->get(); });
  return flag;
}

bool health_registry::remove(const std::string& name) {
  std::lock_guard<std::mutex> lock{mutex_};
  for (auto it = checks_.begin(); it != checks_.end(); ++it) {
    if (it->name == name) {
      checks_.erase(it);
      return true;
    }
  }
  return false;
}

std::vector<std::string> health_registry::names() const {
  std::lock_guard<std::mutex> lock{mutex_};
  std::vector<std::string> out;
  for (auto& e : checks_) out.push_back(e.name);
  return out;
}

health_report health_registry::evaluate(probe_kind kind) const {
  std::vector<entry> checks;
  {
    std::lock_guard<std::mutex> lock{mutex_};
    checks = checks_; // run outside the lock: a check may take a lock of its own
  }
  health_report report;
  auto list = nlohmann::json::array();
  for (auto& e : checks) {
    if (kind == probe_kind::liveness && e.kind != probe_kind::liveness) continue;
    check_result r;
    try {
      r = e.fn();
    } catch (const std::exception& ex) {
      r = check_result{false, std::string{"check threw: "} + ex.what()};
    } catch (...) {
      r = check_result{false, "check threw a non-standard exception"};
    }
    report.ok = report.ok && r.ok;
    list.push_back({{"name", e.name},
                    {"kind", e.kind == probe_kind::liveness ? "liveness" : "readiness"},
                    {"ok", r.ok},
                    {"message", r.message}});
  }
  report.body = {{"status", report.ok ? "ok" : "fail"}, {"checks", std::move(list)}};
  return report;
}

void metrics_sources::add(std::weak_ptr<prometheus::Collectable> collectable) {
  std::lock_guard<std::mutex> lock{mutex_};
  collectables_.push_back(std::move(collectable));
}

std::string metrics_sources::text() const {
  std::vector<prometheus::MetricFamily> families;
  {
    std::lock_guard<std::mutex> lock{mutex_};
    for (auto& weak : collectables_) {
      if (auto c = weak.lock()) {
        auto more = c->Collect();
        families.insert(families.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
      }
    }
  }
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, families);
  return out.str();
}

health_handlers make_health_handlers(std::shared_ptr<const health_registry> registry,
                                     std::shared_ptr<const metrics_sources> sources) {
  if (!registry || !sources) throw std::invalid_argument("make_health_handlers: no registry");
  auto probe = [registry](probe_kind kind) {
    return [registry, kind](const httplib::Request&, httplib::Response& res) {
      auto report = registry->evaluate(kind);
      res.status = report.ok ? 200 : 503;
      res.set_header("Cache-Control", "no-store");
      res.set_content(report.body.dump() + "\n", "application/json");
    };
  };
  health_handlers h;
  h.healthz = probe(probe_kind::liveness);
  h.readyz = probe(probe_kind::readiness);
  h.metrics = [sources](const httplib::Request&, httplib::Response& res) {
    res.set_content(sources->text(), "text/plain; version=0.0.4; charset=utf-8");
  };
  return h;
}

health_server::health_server(std::shared_ptr<const health_registry> registry) : registry_(std::move(registry)) {
  if (!registry_) throw std::invalid_argument("health_server: no registry");
}

health_server::~health_server() { stop(); }

void health_server::add_collectable(std::weak_ptr<prometheus::Collectable> collectable) {
  sources_->add(std::move(collectable));
}

void health_server::start(const std::string& bind, int port) {
  if (server_) throw std::runtime_error("health server: already started");
  auto server = std::make_unique<httplib::Server>();
  // Probes and scrapes are few and short: two workers are plenty.
  server->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server->set_payload_max_length(64 * 1024);
  server->set_read_timeout(5, 0);
  server->set_write_timeout(5, 0);
  // httplib's default sets SO_REUSEPORT, which lets a second process (a stale
  // Weaver, another service) listen on the same port unnoticed: only
  // SO_REUSEADDR here, so a busy port is an error and a restart still binds.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  auto h = make_health_handlers(registry_, sources_);
  server->Get("/healthz", h.healthz);
  server->Get("/readyz", h.readyz);
  server->Get("/metrics", h.metrics);

  int bound = port;
  if (port == 0) {
    bound = server->bind_to_any_port(bind);
  } else if (!server->bind_to_port(bind, port)) {
    bound = -1;
  }
  if (bound <= 0) throw std::runtime_error("health server: cannot listen on " + bind + ":" + std::to_string(port));
  port_ = bound;
  server_ = std::move(server);
  auto done = std::make_shared<std::atomic<bool>>(false);
  thread_ = std::thread{[s = server_.get(), done] {
    s->listen_after_bind();
    *done = true;
  }};
  // httplib's stop() only wakes a server that is already in its accept loop:
  // wait until it is, so a stop() right after start() cannot be missed.
  // (Connections made before then wait in the listen backlog.)
  while (!server_->is_running() && !*done) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

void health_server::stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
  port_ = 0;
}

} // namespace weaver
