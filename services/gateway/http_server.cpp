#include "services/gateway/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.hpp"
#include "base/metrics.hpp"

namespace weaver::gateway {

namespace {

const logger log{"gateway"};

using clock_type = std::chrono::steady_clock;

int poll_ms(clock_type::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
}

// Waits for `events` on fd; true when they came.
bool wait_for(int fd, short events, clock_type::duration d) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, poll_ms(d));
  } while (r < 0 && errno == EINTR);
  return r > 0 && (p.revents & (events | POLLHUP | POLLERR));
}

std::string address_of(const sockaddr_storage& a, int& port) {
  char text[INET6_ADDRSTRLEN] = "";
  port = 0;
  if (a.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    port = ntohs(in->sin_port);
  } else if (a.ss_family == AF_INET6) {
    auto* in = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
    port = ntohs(in->sin6_port);
  }
  return text;
}

// A short answer written straight to a connection that will not be served
// (best effort: the socket is closed right after).
void answer_and_close(int fd, int status, const char* reason, const std::string& error) {
  std::string body = "{\"error\":\"" + error + "\"}\n";
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                     "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
                     "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                     (status == 503 ? "Retry-After: 1\r\n" : "") + "\r\n" + body;
  (void)::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

// One client connection: its socket and what was read but not yet parsed.
struct connection {
  int fd = -1;
  std::string ip;
  int port = 0;
  std::string buf; // bytes received, from `pos` on not yet consumed
  size_t pos = 0;
  clock_type::time_point since; // waiting since (idle) or the head's first byte
  bool partial = false; // part of a request head is buffered
  size_t served = 0;

  size_t unread() const { return buf.size() - pos; }
  void compact() {
    buf.erase(0, pos);
    pos = 0;
  }
  // A whole request head (through its blank line) is buffered.
  bool head_complete() const {
    auto at = buf.find("\n\r\n", pos);
    return at != std::string::npos || buf.find("\n\n", pos) != std::string::npos;
  }
};

// httplib reads and writes a request through this: reads come from the
// connection's buffer first, then the socket; every wait is bounded.
class connection_stream : public httplib::Stream {
public:
  connection_stream(connection& c, std::chrono::milliseconds io, clock_type::time_point read_deadline)
    : c_(c), io_(io), read_deadline_(read_deadline) {}

  using httplib::Stream::write;

  bool is_readable() const override { return c_.unread() > 0 || wait_for(c_.fd, POLLIN, read_wait()); }
  bool is_writable() const override {
    if (!wait_for(c_.fd, POLLOUT, io_)) return false;
    // Still connected? (a peer that closed reads as end of file)
    pollfd p{c_.fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0 && c_.unread() == 0) {
      char byte;
      if (::recv(c_.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) return false;
    }
    return true;
  }
  ssize_t read(char* ptr, size_t size) override {
    if (c_.unread() > 0) {
      size_t n = std::min(size, c_.unread());
      std::copy_n(c_.buf.data() + c_.pos, n, ptr);
      c_.pos += n;
      return static_cast<ssize_t>(n);
    }
    if (!wait_for(c_.fd, POLLIN, read_wait())) return -1;
    ssize_t n;
    do {
      n = ::recv(c_.fd, ptr, size, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n;
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!wait_for(c_.fd, POLLOUT, io_)) return -1;
    ssize_t n;
    do {
      n = ::send(c_.fd, ptr, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.ip;
    port = c_.port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(c_.fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) ip = address_of(a, port);
  }
  socket_t socket() const override { return c_.fd; }

private:
  // A body read waits no longer than io_timeout, nor past the deadline.
  clock_type::duration read_wait() const {
    return std::max<clock_type::duration>(clock_type::duration::zero(),
                                          std::min<clock_type::duration>(io_, read_deadline_ - clock_type::now()));
  }

  connection& c_;
  std::chrono::milliseconds io_;
  clock_type::time_point read_deadline_;
};

// The socket of the request this worker thread is answering (-1: none).
thread_local int serving_fd = -1;

} // namespace

bool client_gone() {
  if (serving_fd < 0) return false;
  pollfd p{serving_fd, 0, 0}; // POLLERR and POLLHUP are always reported
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
}

struct http_server::impl {
  http_server& owner;
  connection_limits limits;
  httplib::ThreadPool workers;
  int wake = -1; // eventfd: wakes the poller
  std::atomic<bool> stopping{false};
  std::thread poller;

  mutable std::mutex mtx; // guards the members below
  std::vector<std::unique_ptr<connection>> arriving; // for the poller
  std::map<std::string, size_t> per_client;
  size_t open = 0;
  bool poller_done = false;

  impl(http_server& o, connection_limits l) : owner(o), limits(l), workers(std::max<size_t>(1, l.workers)) {
    wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0) throw std::runtime_error("gateway: eventfd failed");
    poller = std::thread{[this] { run_poller(); }};
  }

  void notify() {
    uint64_t one = 1;
    (void)!::write(wake, &one, sizeof one);
  }

  // Closes a connection and forgets it.
  void finish(std::unique_ptr<connection> c, const char* reason = nullptr) {
    if (reason) metrics::global().gateway_connections_closed(reason).Increment();
    ::shutdown(c->fd, SHUT_RDWR);
    ::close(c->fd);
    std::lock_guard<std::mutex> lock{mtx};
    if (--per_client[c->ip] == 0) per_client.erase(c->ip);
    --open;
    metrics::global().gateway_connections().Set(static_cast<double>(open));
  }

  // An accepted socket: counted, then waits for its first request.
  void admit(int fd) {
    auto c = std::make_unique<connection>();
    c->fd = fd;
    // httplib writes a response's head and body in two sends: without this,
    // Nagle holds the body for the client's delayed ack (40 ms) on every
    // keep-alive request.
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) c->ip = address_of(a, c->port);
    const char* refused = nullptr;
    {
      std::lock_guard<std::mutex> lock{mtx};
      if (stopping)
        refused = "stopping";
      else if (open >= limits.max_connections)
        refused = "max_connections";
      else if (per_client[c->ip] >= limits.max_per_client)
        refused = "max_per_client";
      if (!refused) {
        ++per_client[c->ip];
        ++open;
        metrics::global().gateway_connections().Set(static_cast<double>(open));
      } else if (per_client[c->ip] == 0) {
        per_client.erase(c->ip);
      }
    }
    if (refused) {
      metrics::global().gateway_connections_closed(refused).Increment();
      answer_and_close(fd, 503, "Service Unavailable",
                       std::string("too many connections")
                         + (refused == std::string{"max_per_client"} ? " from this address" : "") + ": retry later");
      ::shutdown(fd, SHUT_RDWR);
      ::close(fd);
      return;
    }
    // A client usually sends its request right after connecting: when it is
    // here already, skip the poller.
    if (read_available(*c, limits.max_head_bytes) == read_result::open && c->head_complete())
      return dispatch(std::move(c));
    park(std::move(c));
  }

  // Hands a connection (back) to the poller to wait for its next request
  // head; one already buffered (pipelined) goes to a worker at once.
  void park(std::unique_ptr<connection> c) {
    c->compact();
    if (c->head_complete()) return dispatch(std::move(c));
    c->partial = c->unread() > 0;
    c->since = clock_type::now();
    {
      std::lock_guard<std::mutex> lock{mtx};
      if (!poller_done) {
        arriving.push_back(std::move(c));
        c = nullptr;
      }
    }
    if (c) return finish(std::move(c)); // shutting down
    notify();
  }

  enum class read_result { open, end, failed };

  // Reads what the socket has, up to just past `cap` bytes buffered.
  static read_result read_available(connection& c, size_t cap) {
    char chunk[4096];
    while (c.buf.size() <= cap) {
      ssize_t n = ::recv(c.fd, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n > 0) {
        if (!c.partial) {
          c.partial = true;
          c.since = clock_type::now(); // the head's clock starts with its first byte
        }
        c.buf.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) return read_result::end;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? read_result::open : read_result::failed;
    }
    return read_result::open;
  }

  void dispatch(std::unique_ptr<connection> c) {
    // std::function needs a copyable callable: the raw pointer is owned by the job.
    auto* raw = c.release();
    workers.enqueue([this, raw] { serve(std::unique_ptr<connection>(raw)); });
  }

  // Waits for request heads on every parked connection; applies the idle and
  // head deadlines.
  void run_poller() {
    std::vector<std::unique_ptr<connection>> parked;
    std::vector<pollfd> fds;
    while (!stopping) {
      {
        std::lock_guard<std::mutex> lock{mtx};
        for (auto& c : arriving) parked.push_back(std::move(c));
        arriving.clear();
      }
      auto now = clock_type::now();
      auto next = now + std::chrono::seconds{1};
      fds.assign(1, pollfd{wake, POLLIN, 0});
      for (auto& c : parked) {
        fds.push_back(pollfd{c->fd, POLLIN, 0});
        next = std::min(next, c->since + (c->partial ? limits.request_timeout : limits.idle_timeout));
      }
      int r = ::poll(fds.data(), fds.size(), poll_ms(next - now) + 1);
      if (r < 0 && errno != EINTR) {
        log.error("poll failed: ", errno);
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
      }
      if (fds[0].revents & POLLIN) {
        uint64_t n;
        (void)!::read(wake, &n, sizeof n);
      }
      now = clock_type::now();
      std::vector<std::unique_ptr<connection>> still;
      for (size_t i = 0; i < parked.size(); ++i) {
        auto& c = parked[i];
        bool ready = false;
        if (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) {
          auto got = read_available(*c, limits.max_head_bytes);
          ready = c->head_complete(); // a request sent before a half-close is still answered
          if (got != read_result::open && !ready) {
            const char* reason = c->partial ? "client_closed" : nullptr;
            finish(std::move(c), reason);
            continue;
          }
        }
        if (ready) {
          dispatch(std::move(c));
        } else if (c->unread() > limits.max_head_bytes) {
          answer_and_close(c->fd, 431, "Request Header Fields Too Large",
                           "request head over " + std::to_string(limits.max_head_bytes) + " bytes");
          finish(std::move(c), "head_too_large");
        } else if (c->partial && now - c->since >= limits.request_timeout) {
          answer_and_close(
            c->fd, 408, "Request Timeout",
            "request head not complete within " + std::to_string(limits.request_timeout.count()) + " ms");
          finish(std::move(c), "head_timeout");
        } else if (!c->partial && now - c->since >= limits.idle_timeout) {
          finish(std::move(c), "idle");
        } else {
          still.push_back(std::move(c));
        }
      }
      parked.swap(still);
    }
    {
      std::lock_guard<std::mutex> lock{mtx};
      poller_done = true;
      for (auto& c : arriving) parked.push_back(std::move(c));
      arriving.clear();
    }
    for (auto& c : parked) finish(std::move(c));
  }

  // A worker: answers the buffered request(s), then parks or closes.
  void serve(std::unique_ptr<connection> c) {
    serving_fd = c->fd;
    struct forget {
      ~forget() { serving_fd = -1; }
    } forget_fd;
    for (;;) {
      bool last = stopping || owner.svr_sock_ == INVALID_SOCKET || c->served + 1 >= limits.keep_alive_max;
      bool closed = false;
      connection_stream s{*c, limits.io_timeout, clock_type::now() + limits.request_timeout};
      bool ok = false;
      try {
        ok = owner.process_request(s, last, closed, nullptr);
      } catch (const std::exception& e) {
        log.error("request handling failed: ", e.what());
      }
      ++c->served;
      if (!ok || closed || last) return finish(std::move(c));
      c->compact();
      if (!c->head_complete()) return park(std::move(c));
    }
  }

  void stop() {
    if (stopping.exchange(true)) return;
    notify();
    if (poller.joinable()) poller.join();
    workers.shutdown();
    ::close(wake);
  }
};

http_server::http_server(connection_limits limits) : impl_(std::make_unique<impl>(*this, limits)) {
  // httplib's own queue only hands accepted sockets over to admit().
  new_task_queue = [] { return new httplib::ThreadPool(1); };
}

http_server::~http_server() { shutdown_connections(); }

void http_server::raise_backlog() {
  socket_t s = svr_sock_;
  if (s != INVALID_SOCKET && ::listen(s, listen_backlog) != 0)
    log.warn("cannot raise the listen backlog to ", listen_backlog, ": errno ", errno);
}

void http_server::shutdown_connections() { impl_->stop(); }

size_t http_server::open_connections() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  return impl_->open;
}

bool http_server::process_and_close_socket(socket_t sock) {
  impl_->admit(sock);
  return true;
}

} // namespace weaver::gateway
