#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "services/mesh_security.hpp"
#include "services/zmq_link.hpp"

using namespace weaver;
using namespace std::chrono_literals;

namespace {

// Generous: only reached when something is broken. Never asserted as a time.
constexpr auto patience = 10s;

// A TCP port in 20000-29999 that nothing listens on right now (tried by
// binding a plain socket); successive calls move on, so tests never share one.
int free_port() {
  static int next = 20000 + static_cast<int>(::getpid() % 5000);
  for (int tries = 0; tries < 10000; ++tries) {
    int port = next++;
    if (next > 29999) next = 20000;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return port;
  }
  FAIL("no free port in 20000-29999");
  return 0;
}

std::string endpoint_of(int port) { return "tcp://127.0.0.1:" + std::to_string(port); }

// The test's own envelope: 8 bytes little-endian seq, then text.
bytes make_payload(uint64_t seq) {
  bytes b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(seq >> (8 * i));
  auto text = "msg-" + std::to_string(seq);
  b.insert(b.end(), text.begin(), text.end());
  return b;
}

uint64_t seq_of(const bytes& b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(b[i]) << (8 * i);
  return v;
}

std::string reply_text(uint64_t seq) { return "ack-" + std::to_string(seq); }

bytes to_bytes(const std::string& s) { return bytes(s.begin(), s.end()); }

// A receiver that acks (with a reply) every message `should_ack` lets through.
class echo_server {
public:
  // seq, how many copies of it arrived (1 = first) -> ack it?
  using policy = std::function<bool(uint64_t seq, int copy)>;

  explicit echo_server(policy should_ack = [](uint64_t, int) { return true; }) : should_ack_(std::move(should_ack)) {}

  ~echo_server() { inbound_.reset(); } // joins the I/O thread first

  void start(const std::string& endpoint, const link_security& security = {}) {
    inbound_ = std::make_unique<zmq_inbound>(
      endpoint,
      [this](std::string peer, bytes payload, std::string user) {
        {
          std::lock_guard<std::mutex> guard{mtx_};
          users_.insert(user);
        }
        on_message(std::move(peer), std::move(payload));
      },
      zmq_inbound::default_max_message_bytes, security);
    std::lock_guard<std::mutex> guard{mtx_};
    started_ = inbound_.get();
    cv_.notify_all();
  }

  std::map<uint64_t, int> received() {
    std::lock_guard<std::mutex> guard{mtx_};
    return received_;
  }

  // The User-Ids messages arrived with.
  std::set<std::string> users() {
    std::lock_guard<std::mutex> guard{mtx_};
    return users_;
  }

  // Payloads that did not match their seq (should stay 0).
  int corrupt() {
    std::lock_guard<std::mutex> guard{mtx_};
    return corrupt_;
  }

private:
  void on_message(std::string peer, bytes payload) {
    uint64_t seq = payload.size() >= 8 ? seq_of(payload) : 0;
    zmq_inbound* in;
    int copy;
    {
      // A message may arrive before start() has stored the pointer.
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [&] { return started_ != nullptr; });
      in = started_;
      copy = ++received_[seq];
      if (payload != make_payload(seq)) ++corrupt_;
    }
    if (should_ack_(seq, copy)) in->ack(peer, seq, to_bytes(reply_text(seq)));
  }

  policy should_ack_;
  std::mutex mtx_;
  std::condition_variable cv_;
  zmq_inbound* started_ = nullptr;
  std::map<uint64_t, int> received_;
  std::set<std::string> users_;
  int corrupt_ = 0;
  std::unique_ptr<zmq_inbound> inbound_;
};

// Collects acknowledgements from a zmq_outbound's I/O thread.
class ack_sink {
public:
  zmq_outbound::ack_handler handler() {
    return [this](uint64_t seq, bytes reply) {
      std::lock_guard<std::mutex> guard{mtx_};
      acks_.emplace_back(seq, std::string(reply.begin(), reply.end()));
      cv_.notify_all();
    };
  }

  bool wait_for(size_t n) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, patience, [&] { return acks_.size() >= n; });
  }

  bool wait_for_seq(uint64_t seq) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, patience, [&] {
      for (auto& a : acks_)
        if (a.first == seq) return true;
      return false;
    });
  }

  std::vector<std::pair<uint64_t, std::string>> acks() {
    std::lock_guard<std::mutex> guard{mtx_};
    return acks_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::pair<uint64_t, std::string>> acks_;
};

// Every seq in [1, n] acked exactly once, in order, with its reply.
void check_acked_once_in_order(const std::vector<std::pair<uint64_t, std::string>>& acks, uint64_t n) {
  REQUIRE(acks.size() == n);
  for (uint64_t i = 0; i < n; ++i) {
    CAPTURE(i);
    CHECK(acks[i].first == i + 1);
    CHECK(acks[i].second == reply_text(i + 1));
  }
}

} // namespace

TEST_SUITE("zmq_link") {
  TEST_CASE("sequence_gate verdicts") {
    using v = sequence_gate::verdict;
    sequence_gate g;
    CHECK(g.check("a", 1) == v::deliver); // the first message, whatever its number
    CHECK(g.check("a", 2) == v::deliver); // the next one
    CHECK(g.check("a", 2) == v::duplicate); // again
    CHECK(g.check("a", 1) == v::duplicate); // older
    CHECK(g.check("a", 4) == v::out_of_order); // a gap: 3 is missing
    CHECK(g.check("a", 4) == v::out_of_order); // still missing
    CHECK(g.check("a", 3) == v::deliver);
    CHECK(g.check("a", 4) == v::deliver); // the resent one now fits
    CHECK(g.check("a", 4) == v::duplicate);

    // Senders are independent.
    CHECK(g.check("b", 100) == v::deliver);
    CHECK(g.check("b", 101) == v::deliver);
    CHECK(g.check("a", 5) == v::deliver);
    CHECK(g.check("b", 5) == v::duplicate);
    CHECK(g.check("c", 5) == v::deliver);
    CHECK(g.check("b", 103) == v::out_of_order);
    CHECK(g.check("a", 6) == v::deliver);
  }

  TEST_CASE("sequence_gate: an unknown sender starts at its base, so a restarted receiver loses nothing") {
    using v = sequence_gate::verdict;
    // The receiver restarted while #7 was in flight; #8 and #9 were queued on
    // the new connection before the sender's go-back-N resend of #7. Taking #8
    // first (as a gate without bases did) would make the resent #7 a
    // "duplicate": acknowledged, never delivered.
    sequence_gate g;
    CHECK(g.check("s", 8, 7) == v::out_of_order);
    CHECK(g.check("s", 9, 7) == v::out_of_order);
    CHECK(g.senders() == 0); // nothing remembered of them
    CHECK(g.check("s", 7, 7) == v::deliver); // the resend, from the base
    CHECK(g.check("s", 8, 7) == v::deliver);
    CHECK(g.check("s", 9, 8) == v::deliver);
    CHECK(g.check("s", 7, 7) == v::duplicate);
    // A known sender's base changes nothing; no base: the first is taken.
    CHECK(g.check("s", 11, 10) == v::out_of_order);
    CHECK(g.check("old", 5) == v::deliver);
  }

  TEST_CASE("sequence_gate forgets idle senders and keeps at most max_senders") {
    using v = sequence_gate::verdict;
    using clock = sequence_gate::clock;
    auto t = clock::time_point{} + 1h;
    sequence_gate g{3, 10min};
    CHECK(g.check("a", 1, t) == v::deliver);
    CHECK(g.check("b", 1, t) == v::deliver);
    CHECK(g.check("c", 1, t) == v::deliver);
    CHECK(g.senders() == 3);
    // "a" is heard again, so "b" is now the least recently heard: a fourth
    // sender pushes it out, and the cap holds.
    CHECK(g.check("a", 1, t + 1s) == v::duplicate);
    CHECK(g.check("d", 1, t + 2s) == v::deliver);
    CHECK(g.senders() == 3);
    CHECK(g.evicted() == 1);
    CHECK(g.check("a", 2, t + 3s) == v::deliver); // "a" kept its place in order
    CHECK(g.check("b", 1, t + 4s) == v::deliver); // "b" was forgotten: taken as new
    CHECK(g.evicted() == 2); // ... which pushed out "c"
    CHECK(g.expired() == 0);
    // "d" speaks at 9 minutes; at 10 minutes after their last word "a" and
    // "b" are forgotten, "d" is not.
    CHECK(g.check("d", 2, t + 9min) == v::deliver);
    CHECK(g.check("d", 3, t + 4s + 10min) == v::deliver); // its order kept
    CHECK(g.expired() == 2);
    CHECK(g.senders() == 1);
    CHECK(g.check("a", 7, t + 4s + 10min) == v::deliver); // new again, whatever its number
  }

  TEST_CASE("sequence_gate: 50,000 forged sender ids leave at most max_senders behind") {
    sequence_gate g;
    auto t = sequence_gate::clock::now();
    for (int i = 0; i < 50000; ++i) g.check("forged-" + std::to_string(i), 1, t);
    CHECK(g.senders() == sequence_gate::default_max_senders);
    CHECK(g.evicted() == 50000 - sequence_gate::default_max_senders);
    // The live sender, heard throughout, is unaffected.
    CHECK(g.check("live", 1, t) == sequence_gate::verdict::deliver);
    CHECK(g.check("live", 2, t) == sequence_gate::verdict::deliver);
  }

  TEST_CASE("an inbound link drops a peer whose message exceeds max_message_bytes") {
    auto endpoint = endpoint_of(free_port());
    std::mutex mtx;
    std::vector<size_t> sizes;
    zmq_inbound in{endpoint,
                   [&](std::string, bytes payload, std::string) {
                     std::lock_guard<std::mutex> lock{mtx};
                     sizes.push_back(payload.size());
                   },
                   4096};
    CHECK(in.max_message_bytes() == 4096);
    auto send_raw = [&](size_t n) {
      zmq::socket_t dealer{zmq_context(), zmq::socket_type::dealer};
      dealer.set(zmq::sockopt::linger, 2000);
      dealer.connect(endpoint);
      bytes b(n, 0x5a);
      dealer.send(zmq::buffer(b));
    };
    send_raw(100000); // too large: never delivered
    send_raw(4096); // the limit itself is fine
    auto deadline = std::chrono::steady_clock::now() + patience;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock{mtx};
        if (!sizes.empty() || std::chrono::steady_clock::now() > deadline) break;
      }
      std::this_thread::sleep_for(5ms);
    }
    std::this_thread::sleep_for(100ms); // room for a late oversized delivery to show up
    std::lock_guard<std::mutex> lock{mtx};
    CHECK(sizes == std::vector<size_t>{4096});
  }

  TEST_CASE("loopback: 1000 messages, each acked exactly once with its reply") {
    auto endpoint = endpoint_of(free_port());
    echo_server server;
    server.start(endpoint);
    CHECK(server.received().empty());

    ack_sink sink;
    const uint64_t n = 1000;
    {
      zmq_outbound out{endpoint, sink.handler()};
      CHECK(out.endpoint() == endpoint);
      for (uint64_t seq = 1; seq <= n; ++seq) out.send(seq, make_payload(seq));
      REQUIRE(sink.wait_for(n));
    } // joins the outbound's thread: no late duplicate acks can follow
    check_acked_once_in_order(sink.acks(), n);
    auto got = server.received();
    CHECK(got.size() == n);
    CHECK(got.begin()->first == 1);
    CHECK(got.rbegin()->first == n);
    CHECK(server.corrupt() == 0);
  }

  TEST_CASE("messages sent before the receiver binds are delivered once it does") {
    auto endpoint = endpoint_of(free_port());
    ack_sink sink;
    echo_server server;
    zmq_outbound out{endpoint, sink.handler()};
    const uint64_t n = 20;
    for (uint64_t seq = 1; seq <= n; ++seq) out.send(seq, make_payload(seq));
    // Let the sender try (and fail) to reach nobody for a while.
    std::this_thread::sleep_for(300ms);
    CHECK(sink.acks().empty());

    server.start(endpoint);
    REQUIRE(sink.wait_for(n));
    check_acked_once_in_order(sink.acks(), n);
    auto got = server.received();
    CHECK(got.size() == n);
    for (auto& [seq, copies] : got) {
      CAPTURE(seq);
      CHECK(copies >= 1);
    }
    CHECK(server.corrupt() == 0);
  }

  TEST_CASE("binding an endpoint twice throws and names it") {
    auto endpoint = endpoint_of(free_port());
    zmq_inbound first{endpoint, [](std::string, bytes, std::string) {}};
    CHECK(first.endpoint() == endpoint);
    try {
      zmq_inbound second{endpoint, [](std::string, bytes, std::string) {}};
      FAIL("binding " << endpoint << " twice did not throw");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find(endpoint) != std::string::npos);
    }
    // A malformed endpoint is refused the same way.
    CHECK_THROWS_AS(zmq_inbound("nonsense://x", [](std::string, bytes, std::string) {}), std::runtime_error);
  }

  TEST_CASE("an unacknowledged message is resent (go-back-N) until acked") {
    auto endpoint = endpoint_of(free_port());
    // Drop the first copy of seq 1 on the floor: as if it was lost on the way.
    echo_server server{[](uint64_t seq, int copy) { return !(seq == 1 && copy == 1); }};
    server.start(endpoint);

    ack_sink sink;
    {
      zmq_outbound out{endpoint, sink.handler(), 200ms};
      for (uint64_t seq = 1; seq <= 3; ++seq) out.send(seq, make_payload(seq));
      REQUIRE(sink.wait_for_seq(1));
      REQUIRE(sink.wait_for(3));
      CHECK(out.resent() >= 1);
    }
    auto acks = sink.acks();
    // Every message acked exactly once; 2 and 3 before the resent 1.
    REQUIRE(acks.size() == 3);
    std::map<uint64_t, int> count;
    for (auto& [seq, reply] : acks) {
      ++count[seq];
      CHECK(reply == reply_text(seq));
    }
    CHECK(count == std::map<uint64_t, int>{{1, 1}, {2, 1}, {3, 1}});
    CHECK(acks.back().first == 1);
    auto got = server.received();
    CHECK(got[1] >= 2); // the dropped copy and at least one resend
    CHECK(server.corrupt() == 0);
  }

} // TEST_SUITE

// --- CURVE ------------------------------------------------------------------------

namespace {

// A server for role "tracker" admitting only `upstream`'s key as "detector".
link_security curve_server(const curve_keypair& server, const curve_keypair& upstream) {
  link_security s;
  s.curve = true;
  s.own = server;
  s.domain = "tracker-test-" + std::to_string(free_port()); // one allow-list per test
  s.allowed[upstream.public_key] = "detector";
  return s;
}

link_security curve_client(const curve_keypair& own, const std::string& server_key) {
  link_security s;
  s.curve = true;
  s.own = own;
  s.server_key = server_key;
  return s;
}

bool wait_until(const std::function<bool()>& done) {
  auto until = std::chrono::steady_clock::now() + patience;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

} // namespace

TEST_CASE("a CURVE link delivers an allowed peer's messages with its role as User-Id") {
  REQUIRE(curve_available());
  auto server_keys = make_curve_keypair(), client_keys = make_curve_keypair();
  auto endpoint = endpoint_of(free_port());
  echo_server server;
  server.start(endpoint, curve_server(server_keys, client_keys));
  ack_sink sink;
  {
    zmq_outbound out{endpoint, sink.handler(), zmq_outbound::default_resend_after, "curve-ok",
                     curve_client(client_keys, server_keys.public_key)};
    for (uint64_t seq = 1; seq <= 50; ++seq) out.send(seq, make_payload(seq));
    REQUIRE(sink.wait_for(50));
  }
  check_acked_once_in_order(sink.acks(), 50);
  CHECK(server.corrupt() == 0);
  CHECK(server.users() == std::set<std::string>{"detector"});
}

TEST_CASE("a CURVE link refuses an unknown key, a plain peer and a peer expecting another server") {
  REQUIRE(curve_available());
  auto server_keys = make_curve_keypair(), good = make_curve_keypair(), stranger = make_curve_keypair();
  auto endpoint = endpoint_of(free_port());
  echo_server server;
  server.start(endpoint, curve_server(server_keys, good));
  auto refused_before = zap_handler::instance().refused();

  ack_sink bad_sink, plain_sink, spoof_sink, good_sink;
  // Sequence numbers tell the senders apart at the server.
  zmq_outbound bad{endpoint, bad_sink.handler(), 200ms, "curve-stranger",
                   curve_client(stranger, server_keys.public_key)};
  zmq_outbound plain{endpoint, plain_sink.handler(), 200ms, "curve-plain"};
  // The right client key, but a server key that is not this server's: the
  // client refuses the server (no man in the middle).
  zmq_outbound spoof{endpoint, spoof_sink.handler(), 200ms, "curve-spoof", curve_client(good, stranger.public_key)};
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    bad.send(seq, make_payload(seq));
    plain.send(100 + seq, make_payload(100 + seq));
    spoof.send(200 + seq, make_payload(200 + seq));
  }
  REQUIRE(wait_until([&] { return zap_handler::instance().refused() > refused_before; }));
  // A good peer on the same endpoint still gets through meanwhile.
  {
    zmq_outbound ok{endpoint, good_sink.handler(), zmq_outbound::default_resend_after, "curve-good",
                    curve_client(good, server_keys.public_key)};
    for (uint64_t seq = 1001; seq <= 1005; ++seq) ok.send(seq, make_payload(seq));
    REQUIRE(good_sink.wait_for(5));
  }
  std::this_thread::sleep_for(500ms); // the refused senders keep retrying meanwhile
  auto got = server.received();
  CAPTURE(got.size());
  CHECK(got.size() == 5);
  for (auto& [seq, copies] : got) CHECK(seq > 1000);
  CHECK(bad_sink.acks().empty());
  CHECK(plain_sink.acks().empty());
  CHECK(spoof_sink.acks().empty());
  CHECK(server.users() == std::set<std::string>{"detector"});
}
