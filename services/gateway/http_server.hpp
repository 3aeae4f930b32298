// The gateway's HTTP server: cpp-httplib parses, routes and answers the
// requests, this class owns the connections, so that slow and idle clients
// cannot take the worker threads from everyone else.
//
// httplib gives each connection a worker thread from accept to close: it
// waits there for the request head (a client sending a byte every few
// seconds holds it for good: the read timeout is per read) and between
// keep-alive requests. Its listen backlog is 5, so a burst of new
// connections waits out SYN retries (1 s, 3 s). Here instead:
//   - an accepted connection waits in one poller thread, costing a file
//     descriptor and a buffer, until a whole request head (to the blank
//     line) has arrived; only then does a worker take it, parse and answer;
//   - after the answer a keep-alive connection goes back to the poller;
//   - the head must be complete within request_timeout of its first byte
//     (408 then), a connection without a request closes after idle_timeout,
//     a head over max_head_bytes is refused (431);
//   - at most max_connections are open, max_per_client from one address:
//     a connection beyond is answered 503 and closed at once;
//   - the listen backlog is listen_backlog (the kernel caps it at
//     net.core.somaxconn).
// Workers stay busy only while a request is being answered, which includes
// an open alert stream (the gateway bounds those by max_streams).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "services/http.hpp"

namespace weaver::gateway {

/// The backlog the listening socket gets (httplib's own is 5).
constexpr int listen_backlog = 1024;

struct connection_limits {
  size_t workers = 16; // threads answering requests
  size_t max_connections = 512; // open at once
  size_t max_per_client = 64; // open at once from one address
  std::chrono::milliseconds request_timeout{5000}; // a request's head, from its first byte
  std::chrono::milliseconds idle_timeout{30000}; // a connection between requests
  std::chrono::milliseconds io_timeout{10000}; // one write, or body read, without progress
  size_t max_head_bytes = 16 * 1024; // request line and headers
  size_t keep_alive_max = 1000; // requests per connection
};

/// Whether the client of the request this worker thread is answering has
/// reset its connection or closed it both ways: a long answer (an alert
/// stream) stops at once instead of at its next write, which is what
/// otherwise tells. A half-close (the client done sending) is not gone.
/// False outside a request.
bool client_gone();

class http_server : public httplib::Server {
public:
  explicit http_server(connection_limits limits);
  ~http_server() override;

  /// After bind_to_port / bind_to_any_port: gives the listening socket
  /// listen_backlog (a second listen() on a listening socket only resizes
  /// its queue).
  void raise_backlog();

  /// After stop() and the return of listen_after_bind(): closes the waiting
  /// connections and joins the workers (an answer in progress finishes).
  void shutdown_connections();

  /// Connections open now (waiting or being answered).
  size_t open_connections() const;

private:
  // Called (on httplib's accept hand-off thread) for each accepted socket.
  bool process_and_close_socket(socket_t sock) override;

  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace weaver::gateway
