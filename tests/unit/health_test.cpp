// services/health: the check registry, and the HTTP server probed with a real
// HTTP client (cpp-httplib's) on loopback.
#include <doctest/doctest.h>

// CPPHTTPLIB_OPENSSL_SUPPORT arrives on the command line only when the
// target links cpp-httplib through pkg-config (PkgConfig::HTTPLIB), which also
// brings -lcpp-httplib: without it the client below could not link.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT

TEST_CASE("health: cpp-httplib is linked") {
  FAIL(
    "weaver_core must link cpp-httplib: pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET "
    "cpp-httplib) and target_link_libraries(weaver_core PUBLIC PkgConfig::HTTPLIB)");
}

#else

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <nlohmann/json.hpp>
#include "services/http.hpp"

#include "services/health.hpp"

using namespace weaver;
using nlohmann::json;

namespace {

struct http_get {
  int status = 0;
  std::string body;
  std::string content_type;
};

http_get get(int port, const std::string& path) {
  httplib::Client cli{"127.0.0.1", port};
  cli.set_connection_timeout(10, 0); // generous: only reached when broken
  cli.set_read_timeout(10, 0);
  auto res = cli.Get(path.c_str());
  REQUIRE_MESSAGE(res, "GET ", path, ": ", httplib::to_string(res.error()));
  return {res->status, res->body, res->get_header_value("Content-Type")};
}

const json* find_check(const json& body, const std::string& name) {
  for (auto& c : body.at("checks"))
    if (c.at("name") == name) return &c;
  return nullptr;
}

} // namespace

TEST_CASE("health: no checks means healthy and ready") {
  health_registry reg;
  CHECK(reg.evaluate(probe_kind::liveness).ok);
  auto r = reg.evaluate(probe_kind::readiness);
  CHECK(r.ok);
  CHECK(r.body.at("status") == "ok");
  CHECK(r.body.at("checks").empty());
}

TEST_CASE("health: readiness checks do not affect liveness; liveness checks count for both") {
  health_registry reg;
  reg.add("loop", probe_kind::liveness, [] { return check_result{true, "running"}; });
  auto store = reg.add_flag("store", probe_kind::readiness, false, "not open yet");

  auto live = reg.evaluate(probe_kind::liveness);
  CHECK(live.ok);
  REQUIRE(live.body.at("checks").size() == 1);
  CHECK(live.body.at("checks")[0].at("name") == "loop");

  auto ready = reg.evaluate(probe_kind::readiness);
  CHECK_FALSE(ready.ok);
  CHECK(ready.body.at("status") == "fail");
  REQUIRE(ready.body.at("checks").size() == 2);
  auto* s = find_check(ready.body, "store");
  REQUIRE(s);
  CHECK(s->at("ok") == false);
  CHECK(s->at("kind") == "readiness");
  CHECK(s->at("message") == "not open yet");

  store->set(true, "open: /tmp/x.db");
  ready = reg.evaluate(probe_kind::readiness);
  CHECK(ready.ok);
  CHECK(find_check(ready.body, "store")->at("message") == "open: /tmp/x.db");

  reg.add("loop", probe_kind::liveness, [] { return check_result{false, "stuck"}; }); // replaces
  CHECK(reg.names() == std::vector<std::string>{"loop", "store"});
  CHECK_FALSE(reg.evaluate(probe_kind::liveness).ok);
  CHECK_FALSE(reg.evaluate(probe_kind::readiness).ok);
  CHECK(reg.remove("loop"));
  CHECK_FALSE(reg.remove("loop"));
  CHECK(reg.evaluate(probe_kind::readiness).ok);
}

TEST_CASE("health: a check that throws fails with its message") {
  health_registry reg;
  reg.add("link:detector->tracker", probe_kind::readiness,
          []() -> check_result { throw std::runtime_error("socket closed"); });
  auto r = reg.evaluate(probe_kind::readiness);
  CHECK_FALSE(r.ok);
  auto msg = r.body.at("checks")[0].at("message").get<std::string>();
  CHECK(msg.find("socket closed") != std::string::npos);
  CHECK_THROWS_AS(reg.add("empty", probe_kind::liveness, check_fn{}), std::invalid_argument);
}

TEST_CASE("health: the server answers /healthz, /readyz and /metrics over HTTP") {
  auto reg = std::make_shared<health_registry>();
  auto link = reg->add_flag("link:detector->tracker", probe_kind::readiness, false, "connecting to tcp://127.0.0.1:1");
  reg->add("process", probe_kind::liveness, [] { return check_result{true, "up"}; });

  auto metrics = std::make_shared<prometheus::Registry>();
  auto& frames = prometheus::BuildCounter().Name("weaver_frames_total").Help("Frames").Register(*metrics);
  frames.Add({{"camera", "1"}}).Increment(42);

  health_server server{reg};
  server.add_collectable(metrics);
  server.start("127.0.0.1", 0);
  int port = server.port();
  REQUIRE(port > 0);

  auto h = get(port, "/healthz");
  CHECK(h.status == 200);
  CHECK(h.content_type.find("application/json") == 0);
  CHECK(json::parse(h.body).at("status") == "ok");

  auto r = get(port, "/readyz");
  CHECK(r.status == 503);
  auto body = json::parse(r.body);
  CHECK(body.at("status") == "fail");
  auto* c = find_check(body, "link:detector->tracker");
  REQUIRE(c);
  CHECK(c->at("ok") == false);
  CHECK(c->at("message") == "connecting to tcp://127.0.0.1:1");
  CHECK(find_check(body, "process"));

  link->set(true, "connected");
  r = get(port, "/readyz");
  CHECK(r.status == 200);
  CHECK(json::parse(r.body).at("status") == "ok");

  auto m = get(port, "/metrics");
  CHECK(m.status == 200);
  CHECK(m.content_type.find("text/plain; version=0.0.4") == 0);
  CHECK(m.body.find("# TYPE weaver_frames_total counter") != std::string::npos);
  CHECK(m.body.find("weaver_frames_total{camera=\"1\"} 42") != std::string::npos);

  CHECK(get(port, "/nothing").status == 404);

  // A second server on the same port fails with the address in the message.
  health_server other{reg};
  try {
    other.start("127.0.0.1", port);
    FAIL("a second bind on the same port succeeded");
  } catch (const std::runtime_error& e) {
    CHECK(std::string{e.what()}.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  }

  server.stop();
  server.stop(); // idempotent
  CHECK(server.port() == 0);
  httplib::Client cli{"127.0.0.1", port};
  cli.set_connection_timeout(2, 0);
  CHECK_FALSE(cli.Get("/healthz"));
}

TEST_CASE("health: a collectable that is gone is skipped; checks change while probed") {
  auto reg = std::make_shared<health_registry>();
  auto flag = reg->add_flag("store", probe_kind::readiness, true, "open");
  health_server server{reg};
  {
    auto gone = std::make_shared<prometheus::Registry>();
    prometheus::BuildGauge().Name("weaver_gone").Help("x").Register(*gone).Add({}).Set(1);
    server.add_collectable(gone);
  }
  server.start("127.0.0.1", 0);
  auto m = get(server.port(), "/metrics");
  CHECK(m.status == 200);
  CHECK(m.body.find("weaver_gone") == std::string::npos);

  // The flag flips on another thread while the client probes: every answer
  // is a well-formed 200 or 503 that agrees with its own body.
  std::atomic<bool> done{false};
  std::thread flipper{[&] {
    bool ok = true;
    while (!done) {
      ok = !ok;
      flag->set(ok, ok ? "open" : "closed");
      std::this_thread::yield();
    }
  }};
  for (int i = 0; i < 50; ++i) {
    auto r = get(server.port(), "/readyz");
    auto body = json::parse(r.body);
    CHECK((r.status == 200) == (body.at("status") == "ok"));
    CHECK((r.status == 200 || r.status == 503));
  }
  done = true;
  flipper.join();
}

#endif
