// bench_gateway: REST gateway latency under concurrency and hostile clients.
// A benchmark, not a test: it prints p50 / p99 / max per scenario.
//
// By default it runs the gateway in this process in front of a query actor
// that answers at once (so the figures are the gateway's own: HTTP, auth,
// parameter checks, the actor round trip), with the gateway's default
// settings. --port P (and --token T) measure a running gateway instead.
//
// Scenarios, each `--requests` requests of GET /v1/cameras:
//   new-conn C      C clients at once, a new TCP connection per request
//   keep-alive C    C clients at once, one connection each
//   + 20 slow       beside 50 keep-alive clients: 20 clients that send a
//                   request head a byte every 200 ms, and reconnect when cut
//   + 20 idle       beside 50 keep-alive clients: 20 connections that send
//                   nothing
// Clients connect from 127.0.0.2, 127.0.0.3, ... (50 per address), as
// separate machines would, so the per-address connection cap is not what
// is measured.
//
// --baseline runs the same scenarios against cpp-httplib's own connection
// handling as the gateway had it before (a thread per connection from
// accept to close, 16 threads, 10 s read / write timeouts, 5 s keep-alive
// wait, listen backlog 5), with the same handler path: the request asks the
// same query actor through a scoped_actor.
//
// A scenario stops starting requests after --seconds; a request that gets no
// answer within 10 s counts as an error.
//
// Usage: bench_gateway [--requests N] [--seconds S] [--baseline] [--port P --token T]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "base/log.hpp"
#include "services/gateway/gateway.hpp"
#include "services/health.hpp"
#include "services/http.hpp"

using namespace weaver;
using clock_type = std::chrono::steady_clock;

namespace {

query_actor::behavior_type instant_query(query_actor::pointer) {
  return {[](const query_request& r) {
            query_response resp;
            resp.id = r.id;
            resp.ok = true;
            resp.json = R"({"cameras":[{"id":1,"name":"entrance","zone":"hall"},{"id":2,"name":"till","zone":"shop"}],)"
                        R"("total":2,"offset":0,"limit":100,"next_offset":null})";
            return resp;
          },
          [](flush_atom) { return caf::ok_atom::value; }, [](tick_atom) {}};
}

// A client socket from 127.0.0.<2 + client / 50> to the gateway; -1 on failure.
int connect_from(int client, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + static_cast<uint32_t>(client / 50));
  ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads one response; its status, or -1.
int read_response(int fd, std::string& buf) {
  buf.clear();
  char chunk[8192];
  size_t head_end = std::string::npos;
  size_t want = 0;
  for (;;) {
    if (head_end == std::string::npos) {
      head_end = buf.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        auto at = buf.find("Content-Length: ");
        want = head_end + 4 + (at == std::string::npos ? 0 : std::stoul(buf.substr(at + 16)));
      }
    }
    if (head_end != std::string::npos && buf.size() >= want) return buf.size() > 12 ? std::atoi(buf.c_str() + 9) : -1;
    auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return -1;
    buf.append(chunk, static_cast<size_t>(n));
  }
}

struct result {
  std::vector<double> ms;
  int errors = 0;
  double seconds = 0;
};

int scenario_seconds = 60;

result run(int port, const std::string& token, int clients, int requests, bool keep_alive) {
  const std::string request = "GET /v1/cameras HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer " + token
    + (keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  std::atomic<int> next{0};
  std::mutex mtx;
  result out;
  auto t0 = clock_type::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::vector<double> mine;
      int errors = 0;
      int fd = -1;
      std::string buf;
      auto stop_at = clock_type::now() + std::chrono::seconds{scenario_seconds};
      while (next++ < requests && clock_type::now() < stop_at) {
        auto start = clock_type::now();
        if (fd < 0) fd = connect_from(c, port);
        bool ok = fd >= 0 && send_all(fd, request) && read_response(fd, buf) == 200;
        mine.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - start).count());
        if (!ok) ++errors;
        bool server_closes = buf.find("Connection: close") != std::string::npos;
        if (!ok || !keep_alive || server_closes) {
          if (fd >= 0) ::close(fd);
          fd = -1;
        }
      }
      if (fd >= 0) ::close(fd);
      std::lock_guard<std::mutex> lock{mtx};
      out.ms.insert(out.ms.end(), mine.begin(), mine.end());
      out.errors += errors;
    });
  }
  for (auto& t : threads) t.join();
  out.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

void print(const std::string& name, const result& r) {
  std::printf("%-34s %7zu %9.2f %9.2f %9.2f %7d %9.0f\n", name.c_str(), r.ms.size(), percentile(r.ms, 0.5),
              percentile(r.ms, 0.99), r.ms.empty() ? 0 : *std::max_element(r.ms.begin(), r.ms.end()), r.errors,
              static_cast<double>(r.ms.size()) / r.seconds);
  std::fflush(stdout);
}

// Hostile clients beside a scenario: slow ones trickle a request head and
// reconnect when the server cuts them; idle ones connect and wait.
struct hostile {
  std::atomic<bool> quit{false};
  std::vector<std::thread> threads;
  std::vector<int> idle;
  hostile(int port, int slow, int idle_clients) {
    for (int i = 0; i < idle_clients; ++i) idle.push_back(connect_from(1000 + i, port));
    for (int i = 0; i < slow; ++i)
      threads.emplace_back([this, port, i] {
        const std::string head = "GET /v1/cameras HTTP/1.1\r\nHost: slow\r\nX-Padding: ";
        while (!quit) {
          int fd = connect_from(2000 + i, port);
          for (size_t k = 0; fd >= 0 && !quit; ++k) {
            char byte = k < head.size() ? head[k] : 'x';
            if (::send(fd, &byte, 1, MSG_NOSIGNAL) != 1) break;
            for (int w = 0; w < 20 && !quit; ++w) std::this_thread::sleep_for(std::chrono::milliseconds{10});
          }
          if (fd >= 0) ::close(fd);
        }
      });
  }
  ~hostile() {
    quit = true;
    for (auto& t : threads) t.join();
    for (int fd : idle)
      if (fd >= 0) ::close(fd);
  }
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"REST gateway latency: p50 / p99 under concurrency, slow and idle clients"};
  int requests = 4000, port = 0;
  std::string token = "bench-token-0123456789abcdef";
  app.add_option("--requests", requests, "Requests per scenario");
  app.add_option("--port", port, "A running gateway on 127.0.0.1 (default: one in this process)");
  app.add_option("--token", token, "Its bearer token (scope query)");
  bool baseline = false;
  app.add_flag("--baseline", baseline, "Measure httplib's own connection handling instead (the gateway before)");
  app.add_option("--seconds", scenario_seconds, "Longest time a scenario starts requests");
  CLI11_PARSE(app, argc, argv);

  logger::set_level(log_level::warn);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::unique_ptr<gateway_server> gw;
  query_actor query;
  std::unique_ptr<httplib::Server> plain;
  std::thread plain_thread;
  if (port == 0 && baseline) {
    query = sys.spawn(instant_query);
    plain = std::make_unique<httplib::Server>();
    plain->new_task_queue = [] { return new httplib::ThreadPool(16); };
    plain->set_read_timeout(10, 0);
    plain->set_write_timeout(10, 0);
    plain->Get("/v1/cameras", [&](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") != "Bearer " + token) {
        res.status = 401;
        return;
      }
      caf::scoped_actor self{sys};
      std::string body;
      self->request(query, std::chrono::seconds{10}, query_request{1, "cameras", {}})
        .receive([&](query_response& r) { body = std::move(r.json); }, [&](caf::error&) {});
      res.set_content(body + "\n", "application/json");
    });
    port = plain->bind_to_any_port("127.0.0.1");
    plain_thread = std::thread{[&] { plain->listen_after_bind(); }};
    while (!plain->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
    std::printf("baseline: httplib's own connection handling on port %d: 16 threads, backlog 5\n", port);
  } else if (port == 0) {
    query = sys.spawn(instant_query);
    gateway_settings s; // the defaults a configured gateway gets
    s.tokens = {{"bench", token, {"query"}}};
    auto health = std::make_shared<health_registry>();
    auto sources = std::make_shared<metrics_sources>();
    gw = std::make_unique<gateway_server>(sys, query, s, health, sources);
    gw->start();
    port = gw->port();
    std::printf(
      "gateway in process on port %d: %d workers, %d connections (%d per address), request "
      "timeout %lld ms\n",
      port, s.threads, s.max_connections, s.max_connections_per_client,
      static_cast<long long>(s.request_timeout.count()));
  }
  std::printf("%-34s %7s %9s %9s %9s %7s %9s\n", "scenario", "n", "p50_ms", "p99_ms", "max_ms", "errors", "req/s");
  for (int c : {50, 200}) print("new-conn " + std::to_string(c), run(port, token, c, requests, false));
  for (int c : {50, 200}) print("keep-alive " + std::to_string(c), run(port, token, c, requests, true));
  {
    hostile h{port, 20, 0};
    std::this_thread::sleep_for(std::chrono::seconds{1});
    print("keep-alive 50 + 20 slow", run(port, token, 50, requests, true));
    print("new-conn 50 + 20 slow", run(port, token, 50, requests, false));
  }
  {
    hostile h{port, 0, 20};
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    print("keep-alive 50 + 20 idle", run(port, token, 50, requests, true));
    print("new-conn 50 + 20 idle", run(port, token, 50, requests, false));
  }
  if (gw) gw->stop();
  if (plain) {
    plain->stop();
    plain_thread.join();
  }
  if (query) caf::anon_send_exit(query, caf::exit_reason::user_shutdown);
  return 0;
}
