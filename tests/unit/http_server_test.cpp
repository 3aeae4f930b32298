// The gateway's HTTP server (services/gateway/http_server): what a handler
// can learn of its client while it answers.
#include "services/gateway/http_server.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace weaver;

namespace {

// A server whose /hold handler watches client_gone() for up to 10 s
// (patience only: the outcome is what it saw, not how fast).
struct holding_server {
  gateway::http_server server{gateway::connection_limits{}};
  std::thread thread;
  int port = 0;
  std::atomic<int> entered{0};
  std::atomic<int> saw_gone{-1}; // -1 not yet, 0 never within the patience, 1 gone
  std::chrono::milliseconds patience{10000};

  holding_server() {
    server.Get("/hold", [this](const httplib::Request&, httplib::Response& res) {
      entered = 1;
      const auto until = std::chrono::steady_clock::now() + patience;
      int gone = 0;
      while (std::chrono::steady_clock::now() < until)
        if (gateway::client_gone()) {
          gone = 1;
          break;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds{5});
        }
      saw_gone = gone;
      res.set_content("done", "text/plain");
    });
    port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread{[this] { server.listen_after_bind(); }};
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  ~holding_server() {
    server.stop();
    thread.join();
    server.shutdown_connections();
  }
  bool wait(const std::atomic<int>& x, int not_value) {
    for (int i = 0; i < 30000 && x == not_value; ++i) std::this_thread::sleep_for(std::chrono::milliseconds{1});
    return x != not_value;
  }
};

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const std::string req = "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  return fd;
}

} // namespace

TEST_SUITE("http_server") {
  TEST_CASE("client_gone: outside a request, nobody is gone") { CHECK_FALSE(gateway::client_gone()); }

  TEST_CASE("client_gone: a client that resets its connection is gone while its answer is made") {
    holding_server s;
    int fd = connect_to(s.port);
    REQUIRE(s.wait(s.entered, 0));
    linger reset{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(fd); // RST
    REQUIRE(s.wait(s.saw_gone, -1));
    CHECK(s.saw_gone == 1);
  }

  TEST_CASE("client_gone: a client done sending (half-closed) still waits for its answer") {
    holding_server s;
    s.patience = std::chrono::milliseconds{300};
    int fd = connect_to(s.port);
    REQUIRE(s.wait(s.entered, 0));
    ::shutdown(fd, SHUT_WR); // FIN: nothing more to send, but reading
    REQUIRE(s.wait(s.saw_gone, -1));
    CHECK(s.saw_gone == 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string got;
    char buf[512];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<size_t>(n));
    CHECK(got.find("done") != std::string::npos);
    ::close(fd);
  }
}
