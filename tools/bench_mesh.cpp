// bench_mesh: how fast a detection-batch-sized message moves
//   (a) across processes over ZeroMQ tcp on loopback (raw sockets, and
//       through Weaver's own zmq_outbound / zmq_inbound link with acks,
//       plain and with CURVE), and
//   (b) in process between two CAF actors.
// A benchmark, not a test: it prints figures and a comparison with targets.
//
// Usage: bench_mesh [--tput N] [--ping N] [--link N] [--link-ping N]
//                   [--window N] [--caf N] [--caf-req N] [--caf-window N]
//                   [--dets N] [--dim N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <zmq.hpp>

#include "actors/actors.hpp"
#include "base/types.hpp"
#include "schemas/codec.hpp"
#include "services/zmq_link.hpp"

using detection_batch_ptr = std::shared_ptr<const weaver::detection_batch>;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(detection_batch_ptr)

namespace {

using clock_type = std::chrono::steady_clock;
using credit_atom = caf::atom_constant<caf::atom("credit")>;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

struct options {
  uint64_t tput = 200000; // raw zmq throughput messages
  uint64_t ping = 20000; // raw zmq ping-pong iterations
  uint64_t link = 100000; // weaver link throughput messages
  uint64_t link_ping = 10000; // weaver link one-message-to-ack iterations
  uint64_t window = 64; // weaver link / CAF window of outstanding messages
  uint64_t caf = 2000000; // CAF send messages (per variant)
  uint64_t caf_req = 500000; // CAF request/ok messages
  uint64_t caf_window = 256; // CAF send: messages sent and not yet consumed
  size_t dets = 8; // detections per batch
  size_t dim = 144; // floats per feature
};

[[noreturn]] void usage(const char* prog) {
  std::fprintf(stderr,
               "usage: %s [--tput N] [--ping N] [--link N] [--link-ping N] [--window N]\n"
               "          [--caf N] [--caf-req N] [--caf-window N] [--dets N] [--dim N]\n"
               "  --tput       raw ZeroMQ throughput messages      (default 200000)\n"
               "  --ping       raw ZeroMQ ping-pong iterations     (default 20000)\n"
               "  --link       Weaver link throughput messages     (default 100000)\n"
               "  --link-ping  Weaver link message-to-ack iterations (default 10000)\n"
               "  --window     outstanding messages (link, CAF request) (default 64)\n"
               "  --caf        CAF send messages per variant       (default 2000000)\n"
               "  --caf-req    CAF request/ok messages             (default 500000)\n"
               "  --caf-window CAF send: unconsumed messages       (default 256)\n"
               "  --dets, --dim detections per batch / feature floats (default 8 / 144)\n"
               "A count of 0 skips that test.\n",
               prog);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") usage(argv[0]);
    if (i + 1 >= argc) usage(argv[0]);
    char* end = nullptr;
    unsigned long long v = std::strtoull(argv[i + 1], &end, 10);
    if (end == argv[i + 1] || *end != '\0') usage(argv[0]);
    ++i;
    if (a == "--tput")
      o.tput = v;
    else if (a == "--ping")
      o.ping = v;
    else if (a == "--link")
      o.link = v;
    else if (a == "--link-ping")
      o.link_ping = v;
    else if (a == "--window")
      o.window = std::max<unsigned long long>(v, 1);
    else if (a == "--caf")
      o.caf = v;
    else if (a == "--caf-req")
      o.caf_req = v;
    else if (a == "--caf-window")
      o.caf_window = std::max<unsigned long long>(v, 4);
    else if (a == "--dets")
      o.dets = v;
    else if (a == "--dim")
      o.dim = v;
    else
      usage(argv[0]);
  }
  return o;
}

weaver::detection_batch make_batch(size_t dets, size_t dim) {
  weaver::detection_batch b;
  b.camera_id = 3;
  b.seq = 1;
  b.capture_ms = 1700000000000;
  b.width = 768;
  b.height = 576;
  for (size_t i = 0; i < dets; ++i) {
    weaver::detection d;
    d.bbox = {10.f + 40.f * i, 20.f + 5.f * i, 32.f, 96.f};
    d.score = 0.5f + 0.05f * static_cast<float>(i % 10);
    d.class_id = 0;
    d.feature.resize(dim);
    double norm = 0;
    for (size_t k = 0; k < dim; ++k) {
      d.feature[k] = std::sin(0.1f * static_cast<float>(k + 7 * i));
      norm += d.feature[k] * d.feature[k];
    }
    for (auto& f : d.feature) f = static_cast<float>(f / std::sqrt(norm));
    b.detections.push_back(std::move(d));
  }
  return b;
}

// --- results table -----------------------------------------------------------

struct row {
  std::string test;
  uint64_t messages = 0;
  double rate = 0; // msg/s
  std::optional<double> p50, p99, p999; // µs
  std::string note;
};

std::vector<row> rows;

struct percentiles {
  double p50, p99, p999;
};

percentiles percentiles_us(std::vector<double> ns) {
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(ns.size()));
    return ns[std::min(i, ns.size() - 1)] / 1000.0;
  };
  return {at(0.50), at(0.99), at(0.999)};
}

std::string fmt_us(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", *v);
  return buf;
}

// --- small pipe helpers (child -> parent) ------------------------------------

void write_line(int fd, const std::string& s) {
  std::string line = s + "\n";
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string read_line(int fd) {
  std::string s;
  char c;
  while (::read(fd, &c, 1) == 1) {
    if (c == '\n') break;
    s.push_back(c);
  }
  return s;
}

int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

bool is_good_batch(const std::optional<weaver::codec::message>& m, size_t dets, size_t dim) {
  if (!m || m->k != weaver::codec::kind::detections) return false;
  auto& b = std::get<weaver::detection_batch>(m->body);
  return b.detections.size() == dets && (dets == 0 || b.detections[0].feature.size() == dim);
}

// --- (a1) raw ZeroMQ: DEALER (parent) -> ROUTER (child) ----------------------
//
// Control messages are one byte: 'T' throughput mode (decode, no reply),
// 'N' transport-only mode (no decode, no reply), 'P' ping mode (decode and
// reply 8 bytes), 'D' report counters, 'Q' quit. Each control is answered.

[[noreturn]] void raw_child(int wfd, size_t dets, size_t dim) {
  zmq::context_t ctx{1};
  zmq::socket_t router{ctx, zmq::socket_type::router};
  router.set(zmq::sockopt::linger, 1000);
  router.bind("tcp://127.0.0.1:*");
  write_line(wfd, router.get(zmq::sockopt::last_endpoint));
  char mode = 'T';
  uint64_t ok = 0, bad = 0, raw = 0;
  for (;;) {
    zmq::message_t id, payload;
    if (!router.recv(id)) continue;
    if (!id.more() || !router.recv(payload)) continue;
    while (payload.more()) { // not expected; drop extra frames
      zmq::message_t extra;
      (void)router.recv(extra);
      payload = std::move(extra);
    }
    auto p = static_cast<const uint8_t*>(payload.data());
    if (payload.size() == 1) {
      char c = static_cast<char>(p[0]);
      std::string reply = "k";
      if (c == 'D')
        reply = std::to_string(ok) + " " + std::to_string(bad) + " " + std::to_string(raw);
      else if (c == 'T' || c == 'N' || c == 'P')
        mode = c;
      router.send(id, zmq::send_flags::sndmore);
      router.send(zmq::buffer(reply), zmq::send_flags::none);
      if (c == 'Q') break;
      continue;
    }
    if (mode == 'N') {
      ++raw;
      continue;
    }
    auto m = weaver::codec::decode(p, payload.size());
    if (is_good_batch(m, dets, dim))
      ++ok;
    else
      ++bad;
    if (mode == 'P') {
      uint64_t seq = m ? m->sequence : 0;
      router.send(id, zmq::send_flags::sndmore);
      router.send(zmq::buffer(&seq, sizeof seq), zmq::send_flags::none);
    }
  }
  router.close();
  ctx.close();
  ::close(wfd);
  std::_Exit(0);
}

void run_raw(const options& o, const weaver::detection_batch& batch) {
  if (o.tput == 0 && o.ping == 0) return;
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    raw_child(fds[1], o.dets, o.dim);
  }
  ::close(fds[1]);
  std::string ep = read_line(fds[0]);
  {
    zmq::context_t ctx{1};
    zmq::socket_t dealer{ctx, zmq::socket_type::dealer};
    dealer.set(zmq::sockopt::linger, 1000);
    dealer.connect(ep);
    auto control = [&](char c) {
      dealer.send(zmq::buffer(&c, 1), zmq::send_flags::none);
      zmq::message_t r;
      (void)dealer.recv(r);
      return r.to_string();
    };
    auto counters = [&] {
      uint64_t ok = 0, bad = 0, raw = 0;
      std::sscanf(control('D').c_str(), "%lu %lu %lu", &ok, &bad, &raw);
      return std::tuple<uint64_t, uint64_t, uint64_t>{ok, bad, raw};
    };
    control('T'); // also waits for the connection
    uint64_t seq = 0;
    if (o.tput > 0) {
      // Warm-up.
      for (int i = 0; i < 1000; ++i) {
        auto b = weaver::codec::encode(batch, "bench", ++seq);
        dealer.send(zmq::buffer(b), zmq::send_flags::none);
      }
      auto [ok0, bad0, raw0] = counters();
      (void)raw0;
      auto t0 = clock_type::now();
      for (uint64_t i = 0; i < o.tput; ++i) {
        auto b = weaver::codec::encode(batch, "bench", ++seq);
        dealer.send(zmq::buffer(b), zmq::send_flags::none);
      }
      auto [ok1, bad1, raw1] = counters(); // ordered after all data: all decoded
      (void)raw1;
      double s = seconds_since(t0);
      row r{"zmq tcp DEALER->ROUTER (encode+decode)", o.tput, static_cast<double>(o.tput) / s, {}, {}, {}, ""};
      if (ok1 - ok0 != o.tput || bad1 != bad0)
        r.note = "decoded ok " + std::to_string(ok1 - ok0) + ", bad " + std::to_string(bad1 - bad0);
      rows.push_back(r);

      // Transport only: the same bytes, no encode, no decode.
      control('N');
      auto pre = weaver::codec::encode(batch, "bench", 1);
      auto [a, b, rawa] = counters();
      (void)a;
      (void)b;
      t0 = clock_type::now();
      for (uint64_t i = 0; i < o.tput; ++i) dealer.send(zmq::buffer(pre), zmq::send_flags::none);
      auto [c, d, rawb] = counters();
      (void)c;
      (void)d;
      s = seconds_since(t0);
      row r2{"zmq tcp DEALER->ROUTER (transport only)", o.tput, static_cast<double>(o.tput) / s, {}, {}, {}, ""};
      if (rawb - rawa != o.tput) r2.note = "received " + std::to_string(rawb - rawa);
      rows.push_back(r2);
    }
    if (o.ping > 0) {
      control('P');
      auto one = [&] {
        auto b = weaver::codec::encode(batch, "bench", ++seq);
        dealer.send(zmq::buffer(b), zmq::send_flags::none);
        zmq::message_t r;
        (void)dealer.recv(r);
      };
      for (int i = 0; i < 1000; ++i) one();
      std::vector<double> ns;
      ns.reserve(o.ping);
      auto t0 = clock_type::now();
      for (uint64_t i = 0; i < o.ping; ++i) {
        auto a = clock_type::now();
        one();
        ns.push_back(std::chrono::duration<double, std::nano>(clock_type::now() - a).count());
      }
      double s = seconds_since(t0);
      auto pc = percentiles_us(ns);
      rows.push_back({"zmq tcp ping-pong (encode, decode, reply)", o.ping, static_cast<double>(o.ping) / s, pc.p50,
                      pc.p99, pc.p999, ""});
    }
    control('Q');
    dealer.close();
    ctx.close();
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// --- (a2) Weaver's link: zmq_outbound (parent) -> zmq_inbound (child) ---------
// Twice in the same run, over two endpoints of the same child: a plain link
// and a CURVE one (authenticated by the child's ZAP handler, encrypted), so
// the cost of mesh security is measured under the same conditions. One
// child for both: a ZeroMQ context does not survive a fork.

struct link_keys {
  weaver::curve_keypair server, client;
};

weaver::link_security curve_server_side(const link_keys& k) {
  weaver::link_security s;
  s.curve = true;
  s.own = k.server;
  s.domain = "bench";
  s.allowed[k.client.public_key] = "bench";
  return s;
}

weaver::link_security curve_client_side(const link_keys& k) {
  weaver::link_security s;
  s.curve = true;
  s.own = k.client;
  s.server_key = k.server.public_key;
  return s;
}

[[noreturn]] void link_child(int wfd, size_t dets, size_t dim, const link_keys& keys) {
  std::atomic<uint64_t> ok{0}, bad{0};
  std::atomic<int> ended{0};
  std::unique_ptr<weaver::zmq_inbound> in[2];
  std::atomic<weaver::zmq_inbound*> self[2] = {nullptr, nullptr};
  for (int k = 0; k < 2; ++k) {
    auto handler = [&, k](std::string peer, weaver::bytes payload, std::string) {
      auto m = weaver::codec::decode(payload.data(), payload.size());
      if (!m) {
        ++bad;
        return;
      }
      if (m->k == weaver::codec::kind::end_of_stream)
        ++ended;
      else if (is_good_batch(m, dets, dim))
        ++ok;
      else
        ++bad;
      self[k].load()->ack(peer, m->sequence);
    };
    for (int attempt = 0; attempt < 20 && !in[k]; ++attempt) {
      auto ep = "tcp://127.0.0.1:" + std::to_string(free_tcp_port());
      try {
        in[k] = std::make_unique<weaver::zmq_inbound>(ep, handler, weaver::zmq_inbound::default_max_message_bytes,
                                                      k == 0 ? weaver::link_security{} : curve_server_side(keys));
      } catch (const std::exception&) {}
    }
    if (!in[k]) {
      write_line(wfd, "");
      std::_Exit(1);
    }
    self[k] = in[k].get();
  }
  write_line(wfd, in[0]->endpoint() + " " + in[1]->endpoint());
  while (ended < 2) std::this_thread::sleep_for(std::chrono::milliseconds{1});
  write_line(wfd, std::to_string(ok.load()) + " " + std::to_string(bad.load()));
  in[0].reset(); // lingers to deliver the last ack
  in[1].reset();
  ::close(wfd);
  std::_Exit(0);
}

// Runs the throughput and ping tests over one link; returns its resends.
uint64_t measure_link(const options& o, const weaver::detection_batch& batch, const std::string& ep,
                      const weaver::link_security& security, const std::string& label) {
  std::mutex mtx;
  std::condition_variable cv;
  uint64_t acked = 0;
  weaver::zmq_outbound out{ep,
                           [&](uint64_t, weaver::bytes) {
                             std::lock_guard<std::mutex> g{mtx};
                             ++acked;
                             cv.notify_one();
                           },
                           weaver::zmq_outbound::default_resend_after, "bench " + label, security};
  uint64_t sent = 0;
  auto send_one = [&] {
    ++sent;
    out.send(sent, weaver::codec::encode(batch, "bench", sent));
  };
  auto wait_until_outstanding = [&](uint64_t max) {
    std::unique_lock<std::mutex> l{mtx};
    cv.wait(l, [&] { return sent - acked <= max; });
  };
  // Warm-up (also waits for the connection and, with CURVE, its handshake).
  for (int i = 0; i < 1000; ++i) {
    wait_until_outstanding(o.window - 1);
    send_one();
  }
  wait_until_outstanding(0);
  if (o.link > 0) {
    auto t0 = clock_type::now();
    for (uint64_t i = 0; i < o.link; ++i) {
      wait_until_outstanding(o.window - 1);
      send_one();
    }
    wait_until_outstanding(0);
    double s = seconds_since(t0);
    rows.push_back(
      {label + ", acks, window " + std::to_string(o.window), o.link, static_cast<double>(o.link) / s, {}, {}, {}, ""});
  }
  if (o.link_ping > 0) {
    std::vector<double> ns;
    ns.reserve(o.link_ping);
    auto t0 = clock_type::now();
    for (uint64_t i = 0; i < o.link_ping; ++i) {
      auto a = clock_type::now();
      send_one();
      wait_until_outstanding(0);
      ns.push_back(std::chrono::duration<double, std::nano>(clock_type::now() - a).count());
    }
    double s = seconds_since(t0);
    auto pc = percentiles_us(ns);
    rows.push_back({label + ", one message to its ack", o.link_ping, static_cast<double>(o.link_ping) / s, pc.p50,
                    pc.p99, pc.p999, ""});
  }
  ++sent;
  out.send(sent, weaver::codec::encode(weaver::end_of_stream{3, sent}, "bench", sent));
  wait_until_outstanding(0);
  return out.resent();
}

void run_link(const options& o, const weaver::detection_batch& batch) {
  if (o.link == 0 && o.link_ping == 0) return;
  link_keys keys{weaver::make_curve_keypair(), weaver::make_curve_keypair()};
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    link_child(fds[1], o.dets, o.dim, keys);
  }
  ::close(fds[1]);
  std::string eps = read_line(fds[0]);
  auto space = eps.find(' ');
  if (space == std::string::npos) {
    std::fprintf(stderr, "bench_mesh: link child could not bind\n");
    ::waitpid(pid, nullptr, 0);
    return;
  }
  uint64_t resent = measure_link(o, batch, eps.substr(0, space), {}, "weaver link");
  resent += measure_link(o, batch, eps.substr(space + 1), curve_client_side(keys), "weaver link CURVE");
  std::string counts = read_line(fds[0]);
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  uint64_t ok = 0, bad = 0;
  std::sscanf(counts.c_str(), "%lu %lu", &ok, &bad);
  uint64_t expected = 2 * (1000 + o.link + o.link_ping);
  if (ok != expected || bad != 0 || resent != 0) {
    for (auto& r : rows)
      if (r.test.rfind("weaver link", 0) == 0)
        r.note = "receiver ok " + std::to_string(ok) + "/" + std::to_string(expected) + ", bad " + std::to_string(bad)
          + ", resent " + std::to_string(resent);
  }
}

// --- (b) CAF in process ------------------------------------------------------

// Fire-and-forget sends with credit: the receiver returns credit every
// `chunk` messages, the sender keeps at most `window` messages unconsumed.
template <class Payload>
struct send_sender_state {
  Payload payload;
  uint64_t sent = 0;
};

template <class Payload>
caf::behavior send_receiver(caf::event_based_actor* self, uint64_t total, uint64_t chunk,
                            std::shared_ptr<std::atomic<uint64_t>> good) {
  auto count = std::make_shared<uint64_t>(0);
  return {
    [=](const Payload& p) {
      const weaver::detection_batch* b;
      if constexpr (std::is_same_v<Payload, detection_batch_ptr>)
        b = p.get();
      else
        b = &p;
      if (!b->detections.empty()) good->fetch_add(1, std::memory_order_relaxed);
      ++*count;
      if (*count % chunk == 0 || *count == total)
        self->send(caf::actor_cast<caf::actor>(self->current_sender()), credit_atom::value,
                   *count % chunk == 0 ? chunk : *count % chunk);
      if (*count == total) self->quit();
    },
  };
}

template <class Payload>
caf::behavior send_sender(caf::event_based_actor* self, caf::actor receiver, Payload payload, uint64_t total,
                          uint64_t window) {
  auto sent = std::make_shared<uint64_t>(0);
  auto acked = std::make_shared<uint64_t>(0);
  auto pump = [=] {
    while (*sent < total && *sent - *acked < window) {
      self->send(receiver, payload); // copies a detection_batch; shares a pointer
      ++*sent;
    }
  };
  pump();
  return {
    [=](credit_atom, uint64_t n) {
      *acked += n;
      if (*acked == total)
        self->quit();
      else
        pump();
    },
  };
}

template <class Payload>
void run_caf_send(const std::string& name, uint64_t total, uint64_t window, Payload payload) {
  if (total == 0) return;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto good = std::make_shared<std::atomic<uint64_t>>(0);
  uint64_t chunk = std::max<uint64_t>(1, window / 4);
  auto t0 = clock_type::now();
  auto rcv = sys.spawn(send_receiver<Payload>, total, chunk, good);
  sys.spawn(send_sender<Payload>, rcv, payload, total, window);
  rcv = nullptr;
  sys.await_all_actors_done();
  double s = seconds_since(t0);
  row r{name, total, static_cast<double>(total) / s, {}, {}, {}, ""};
  if (*good != total) r.note = "received " + std::to_string(good->load());
  rows.push_back(r);
}

// Weaver's own style: request / ok reply (the tracker's typed interface),
// with a window of outstanding requests.
weaver::tracker_actor::behavior_type ok_receiver(weaver::tracker_actor::pointer self,
                                                 std::shared_ptr<std::atomic<uint64_t>> good) {
  return {
    [=](const weaver::detection_batch& b) -> caf::ok_atom {
      if (!b.detections.empty()) good->fetch_add(1, std::memory_order_relaxed);
      return caf::ok_atom::value;
    },
    [=](const weaver::end_of_stream&) -> caf::ok_atom {
      self->quit();
      return caf::ok_atom::value;
    },
  };
}

void request_sender(caf::event_based_actor* self, weaver::tracker_actor receiver, weaver::detection_batch batch,
                    uint64_t total, uint64_t window) {
  struct st {
    uint64_t sent = 0, acked = 0;
    std::function<void()> pump;
  };
  auto s = std::make_shared<st>();
  s->pump = [self, receiver, batch, total, window, s_weak = std::weak_ptr<st>(s)] {
    auto s = s_weak.lock();
    if (!s) return;
    while (s->sent < total && s->sent - s->acked < window) {
      ++s->sent;
      self->request(receiver, caf::infinite, batch).then([s](caf::ok_atom) {
        ++s->acked;
        s->pump();
      });
    }
    if (s->acked == total) {
      self->request(receiver, caf::infinite, weaver::end_of_stream{3, total}).then([self, s](caf::ok_atom) {
        s->pump = nullptr; // break the cycle
        self->quit();
      });
    }
  };
  s->pump();
}

void run_caf_request(uint64_t total, uint64_t window, const weaver::detection_batch& batch) {
  if (total == 0) return;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto good = std::make_shared<std::atomic<uint64_t>>(0);
  auto t0 = clock_type::now();
  auto rcv = sys.spawn(ok_receiver, good);
  sys.spawn(request_sender, rcv, batch, total, window);
  rcv = nullptr;
  sys.await_all_actors_done();
  double s = seconds_since(t0);
  row r{"caf typed request/ok (copy), window " + std::to_string(window),
        total,
        static_cast<double>(total) / s,
        {},
        {},
        {},
        ""};
  if (*good != total) r.note = "received " + std::to_string(good->load());
  rows.push_back(r);
}

// --- codec alone (one thread), to see what the mesh figures are made of -------

void run_codec(const weaver::detection_batch& batch) {
  const uint64_t n = 50000;
  auto t0 = clock_type::now();
  size_t bytes = 0;
  for (uint64_t i = 0; i < n; ++i) bytes += weaver::codec::encode(batch, "bench", i).size();
  double s = seconds_since(t0);
  rows.push_back({"codec::encode only (1 thread)", n, static_cast<double>(n) / s, {}, {}, {}, ""});
  auto buf = weaver::codec::encode(batch, "bench", 1);
  uint64_t good = 0;
  t0 = clock_type::now();
  for (uint64_t i = 0; i < n; ++i)
    if (weaver::codec::decode(buf.data(), buf.size())) ++good;
  s = seconds_since(t0);
  row r{"codec::decode only (1 thread)", n, static_cast<double>(n) / s, {}, {}, {}, ""};
  if (good != n || bytes == 0) r.note = "decoded " + std::to_string(good);
  rows.push_back(r);
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  auto batch = make_batch(o.dets, o.dim);
  auto encoded = weaver::codec::encode(batch, "bench", 1);
  size_t raw_floats = o.dets * o.dim * sizeof(float);
  std::printf("bench_mesh: detection_batch of %zu detections x %zu-float feature\n", o.dets, o.dim);
  std::printf("  encoded envelope: %zu bytes (features alone %zu bytes)\n", encoded.size(), raw_floats);
  std::printf("  cores: %u\n\n", std::thread::hardware_concurrency());
  std::fflush(stdout);

  auto t_all = clock_type::now();
  // The forks come first, before this process creates any ZeroMQ context of
  // Weaver's (zmq_context()) or any CAF thread.
  run_raw(o, batch);
  run_link(o, batch);
  run_codec(batch);
  run_caf_send<weaver::detection_batch>("caf send batch (copy), credit window " + std::to_string(o.caf_window), o.caf,
                                        o.caf_window, batch);
  run_caf_send<detection_batch_ptr>("caf send shared_ptr<const batch>, window " + std::to_string(o.caf_window), o.caf,
                                    o.caf_window, std::make_shared<const weaver::detection_batch>(batch));
  run_caf_request(o.caf_req, o.window, batch);

  std::printf("%-50s %10s %12s %9s %9s %9s\n", "test", "messages", "msg/s", "p50 us", "p99 us", "p999 us");
  std::printf("%s\n", std::string(104, '-').c_str());
  for (auto& r : rows) {
    std::printf("%-50s %10lu %12.0f %9s %9s %9s%s%s\n", r.test.c_str(), static_cast<unsigned long>(r.messages), r.rate,
                fmt_us(r.p50).c_str(), fmt_us(r.p99).c_str(), fmt_us(r.p999).c_str(), r.note.empty() ? "" : "  ! ",
                r.note.c_str());
  }
  std::printf("\ntargets: loopback tcp >= 200000 msg/s and p99 <= 1000 us; in-process CAF >= 1000000 msg/s\n");
  std::printf("total time: %.1f s\n", seconds_since(t_all));
  return 0;
}
