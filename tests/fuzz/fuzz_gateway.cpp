// The REST gateway on hostile requests: raw bytes sent over loopback to a
// real gateway (its HTTP server, routing, auth, parameter checks and error
// mapping) in front of a real query actor on a small SQLite store. Every
// request must get an HTTP answer (or a close), never a crash; the gateway
// must still answer /healthz afterwards (checked every 1,000 inputs).
//
// Seeds carry the bearer token "fuzz-token" so the fuzzer reaches the
// authenticated routes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/actors.hpp"
#include "actors/query/query_actor.hpp"
#include "actors/storage/store.hpp"
#include "actors/tracker/zone_registry.hpp"
#include "base/metrics.hpp"
#include "services/gateway/gateway.hpp"
#include "services/health.hpp"

using namespace weaver;

namespace {

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<gateway_server> gateway;
  query_actor query;
  std::string dir;

  fixture() {
    (void)metrics::global(); // made first, so destroyed after the atexit handler below
    char tmpl[] = "/tmp/weaver-fuzz-gateway-XXXXXX";
    const char* d = mkdtemp(tmpl);
    if (!d) std::abort();
    dir = d;
    const std::string db = dir + "/fuzz.db";
    {
      auto s = store::open(db);
      s->upsert_camera(1, "entrance", "");
      s->upsert_camera(2, "hall", "");
      presence_batch b;
      b.identities.push_back({1, 10, 1, 0.9f});
      b.identities.push_back({2, 11, 1, 0.8f});
      b.rows.push_back({1, 1, 1'700'000'000'000, 1'700'000'010'000});
      b.rows.push_back({1, 2, 1'700'000'015'000, 1'700'000'030'000});
      s->write(b);
    }
    sys = std::make_unique<caf::actor_system>(cfg);
    query = sys->spawn(query_actor_impl, std::shared_ptr<store>(store::open(db)), query_settings{});
    gateway_settings gs;
    gs.port = 0;
    // Scope zones too, and cameras whose zones this process evaluates: PUT
    // /v1/cameras/{camera}/zones bodies reach the zone checks.
    gs.tokens.push_back({"fuzz", "fuzz-token", {"query", "alerts", "zones"}});
    gs.cameras = {{1, {}, {}}, {2, {}, {}}};
    gs.timeout = std::chrono::milliseconds{2000};
    gs.request_timeout = std::chrono::milliseconds{200};
    gs.idle_timeout = std::chrono::milliseconds{200};
    gs.io_timeout = std::chrono::milliseconds{500};
    gs.threads = 4;
    gs.max_streams = 2;
    gs.poll = std::chrono::milliseconds{20};
    auto zones =
      std::make_shared<zone_registry>(std::map<uint32_t, zone_shapes>{{1, {}}, {2, {}}},
                                      std::map<uint32_t, zone_registry::frame_size>{{1, {640, 480}}, {2, {256, 576}}});
    gateway = std::make_unique<gateway_server>(*sys, query, gs, std::make_shared<health_registry>(),
                                               std::make_shared<metrics_sources>(), nullptr, zones);
    gateway->start();
  }
};

// Sends `request`, half-closes, reads until the server closes (or 1 s);
// returns what came back.
std::string exchange(int port, const uint8_t* data, size_t size) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A long run stopped at 268,713 on a failed connect whose input replays
  // cleanly: at over 470 connections a second all 28,232 local ports can be
  // in TIME_WAIT (60 s), and connect fails with EADDRNOTAVAIL, the client's
  // limit, not the gateway's: wait for ports. Another stopped at 605,619 on
  // EINTR (a signal of libFuzzer's own during connect): try again on a new
  // socket. Any other failure (printed) means the gateway died.
  int fd = -1, tries = 0;
  for (;;) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) std::abort();
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    const int e = errno;
    close(fd);
    if ((e != EADDRNOTAVAIL && e != EINTR) || ++tries > 600) {
      std::fprintf(stderr, "fuzz_gateway: connect: %s\n", std::strerror(e));
      std::abort();
    }
    if (e == EADDRNOTAVAIL) std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  timeval tv{1, 0}; // reads: below, one second in all
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break; // the server may answer and close before reading everything
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[4096];
  // One second in all, not per read: an alert stream writes a probe every
  // second, which renewed a per-read timeout by chance, and an input took
  // up to 14 s (libFuzzer reports inputs over 10 s).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{1};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    timeval wait{static_cast<time_t>(left.count() / 1000000), static_cast<suseconds_t>(left.count() % 1000000)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
    if (reply.size() > (1u << 20)) break;
  }
  // Close by reset: a graceful close leaves this end in TIME_WAIT for 60 s,
  // and at ~500 exchanges a second the local ports run out and the harness
  // waits (above) instead of fuzzing.
  linger reset{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  close(fd);
  return reply;
}

// Waits until the gateway has closed every connection: a request still being
// answered when libFuzzer exits would run on while exit destroys statics
// made after the exit handler below (a gateway run died so, in the query
// actor, on freed histogram buckets). A stream ends at its next turn after
// the client's reset (gateway::client_gone); 30 s means a connection
// outlived its client, which is a defect.
void wait_idle() {
  auto& open = metrics::global().gateway_connections();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (open.Value() > 0) {
    if (std::chrono::steady_clock::now() > until) {
      std::fprintf(stderr, "fuzz_gateway: %g connections still open 30 s after their clients left\n", open.Value());
      std::abort();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
}

} // namespace

static fixture* the_fixture = nullptr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fixture* f = [] {
    the_fixture = new fixture; // lives for the process: the gateway's threads use it
    // Stop the gateway before static destructors run (the metrics registry
    // is one): registered after it was made, this runs first.
    std::atexit([] {
      the_fixture->gateway->stop();
      // libFuzzer exits through exit(0) once its runs are done (a crash
      // never gets here): leave without tearing down the actor system and
      // the statics while its threads still run.
      std::_Exit(0);
    });
    return the_fixture;
  }();
  static uint64_t runs = 0;
  exchange(f->gateway->port(), data, size);
  wait_idle();
  if (++runs % 1000 == 0) {
    const std::string probe = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    auto reply = exchange(f->gateway->port(), reinterpret_cast<const uint8_t*>(probe.data()), probe.size());
    if (reply.rfind("HTTP/1.1 200", 0) != 0) std::abort();
  }
  return 0;
}
