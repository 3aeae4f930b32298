#include "services/zmq_link.hpp"

#include "base/metrics.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "base/log.hpp"

namespace weaver {

namespace {

std::atomic<uint64_t> next_pair_id{0};

std::string inproc_name(const char* kind) {
  return std::string("inproc://weaver-") + kind + "-" + std::to_string(next_pair_id++);
}

void put_u64(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_u64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

// Reads all frames of one message (non-blocking; the caller polled first).
bool recv_all(zmq::socket_t& s, std::vector<zmq::message_t>& parts) {
  parts.clear();
  for (;;) {
    zmq::message_t m;
    auto r = s.recv(m, zmq::recv_flags::dontwait);
    if (!r) return !parts.empty();
    bool more = m.more();
    parts.push_back(std::move(m));
    if (!more) return true;
  }
}

void drain(zmq::socket_t& s) {
  zmq::message_t m;
  while (s.recv(m, zmq::recv_flags::dontwait)) {}
}

} // namespace

zmq::context_t& zmq_context() {
  static zmq::context_t ctx{1};
  return ctx;
}

// --- outbound ---------------------------------------------------------------

zmq_outbound::zmq_outbound(std::string endpoint, ack_handler on_ack, std::chrono::milliseconds resend_after,
                           std::string name, const link_security& security)
  : endpoint_(std::move(endpoint)),
    name_(name.empty() ? endpoint_ : std::move(name)),
    on_ack_(std::move(on_ack)),
    resend_after_(resend_after),
    dealer_(zmq_context(), zmq::socket_type::dealer),
    wake_rx_(zmq_context(), zmq::socket_type::pair),
    wake_tx_(zmq_context(), zmq::socket_type::pair) {
  metrics::global().link_up(name_).Set(1); // nothing unacknowledged yet
  dealer_.set(zmq::sockopt::linger, 2000);
  dealer_.set(zmq::sockopt::sndhwm, 10000);
  dealer_.set(zmq::sockopt::rcvhwm, 100000); // acks
  if (security.curve) {
    dealer_.set(zmq::sockopt::curve_serverkey, security.server_key);
    dealer_.set(zmq::sockopt::curve_publickey, security.own.public_key);
    dealer_.set(zmq::sockopt::curve_secretkey, security.own.secret_key);
  }
  try {
    dealer_.connect(endpoint_);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("mesh: cannot connect to " + endpoint_ + ": " + e.what());
  }
  auto wake = inproc_name("out");
  wake_rx_.bind(wake);
  wake_tx_.connect(wake);
  io_ = std::thread{[this] { run(); }};
}

zmq_outbound::~zmq_outbound() {
  stop_ = true;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    wake_tx_.send(zmq::buffer("x", 1), zmq::send_flags::dontwait);
  }
  io_.join();
}

void zmq_outbound::send(uint64_t seq, bytes payload) {
  std::lock_guard<std::mutex> guard{mtx_};
  bool was_empty = incoming_.empty();
  incoming_.emplace_back(seq, std::move(payload));
  if (was_empty) wake_tx_.send(zmq::buffer("w", 1), zmq::send_flags::dontwait);
}

void zmq_outbound::run() {
  using clock = std::chrono::steady_clock;
  struct unacked {
    bytes payload;
    clock::time_point sent;
  };
  std::deque<std::pair<uint64_t, bytes>> outbox; // to send, in order
  std::map<uint64_t, unacked> in_flight; // sent, awaiting ack
  std::vector<zmq::message_t> parts;
  while (!stop_) {
    zmq::pollitem_t items[] = {
      {static_cast<void*>(dealer_), 0, static_cast<short>(ZMQ_POLLIN | (outbox.empty() ? 0 : ZMQ_POLLOUT)), 0},
      {static_cast<void*>(wake_rx_), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, std::chrono::milliseconds{50});
    if (items[1].revents & ZMQ_POLLIN) {
      drain(wake_rx_);
      std::lock_guard<std::mutex> guard{mtx_};
      while (!incoming_.empty()) {
        outbox.push_back(std::move(incoming_.front()));
        incoming_.pop_front();
      }
    }
    while (!outbox.empty()) {
      auto& [seq, payload] = outbox.front();
      // The base: the oldest message not acknowledged yet (in_flight is
      // ordered; a go-back-N resend emptied it, so then it is this one).
      uint8_t base[8];
      put_u64(base, in_flight.empty() ? seq : std::min(seq, in_flight.begin()->first));
      zmq::message_t msg{payload.data(), payload.size()};
      if (!dealer_.send(zmq::buffer(base, 8), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        break; // not connected / HWM (a multipart message is queued whole or not at all)
      dealer_.send(msg, zmq::send_flags::dontwait);
      in_flight[seq] = unacked{std::move(payload), clock::now()};
      outbox.pop_front();
    }
    if (items[0].revents & ZMQ_POLLIN) {
      while (recv_all(dealer_, parts)) {
        if (parts.empty() || parts[0].size() != 8) continue;
        auto seq = get_u64(static_cast<const uint8_t*>(parts[0].data()));
        bytes reply;
        if (parts.size() > 1) {
          auto p = static_cast<const uint8_t*>(parts[1].data());
          reply.assign(p, p + parts[1].size());
        }
        // Acks are cumulative in effect: the receiver delivers in order.
        auto it = in_flight.find(seq);
        if (it == in_flight.end()) continue; // a re-ack of a resent duplicate
        in_flight.erase(it);
        if (!acking_.exchange(true)) metrics::global().link_up(name_).Set(1);
        on_ack_(seq, std::move(reply));
      }
    }
    // Go-back-N: if the oldest unacked message is overdue, resend it and all
    // after it, in order (the receiver only takes the next sequence number).
    if (!in_flight.empty() && outbox.empty() && clock::now() - in_flight.begin()->second.sent > resend_after_) {
      static const logger log{"zmq"};
      log.warn(endpoint_, ": no ack for ", resend_after_.count(), " ms; resending ", in_flight.size(),
               " messages from #", in_flight.begin()->first);
      if (acking_.exchange(false)) metrics::global().link_up(name_).Set(0);
      for (auto& [seq, u] : in_flight) {
        outbox.emplace_back(seq, std::move(u.payload));
        ++resent_;
      }
      in_flight.clear();
    }
  }
}

// --- inbound ----------------------------------------------------------------

zmq_inbound::zmq_inbound(std::string endpoint, message_handler on_message, int64_t max_message_bytes,
                         const link_security& security)
  : zmq_inbound(std::move(endpoint),
                based_handler{[f = std::move(on_message)](std::string peer, bytes payload, std::string user,
                                                          std::optional<uint64_t>) {
                  f(std::move(peer), std::move(payload), std::move(user));
                }},
                max_message_bytes, security) {}

zmq_inbound::zmq_inbound(std::string endpoint, based_handler on_message, int64_t max_message_bytes,
                         const link_security& security)
  : endpoint_(std::move(endpoint)),
    on_message_(std::move(on_message)),
    max_message_bytes_(max_message_bytes),
    router_(zmq_context(), zmq::socket_type::router),
    wake_rx_(zmq_context(), zmq::socket_type::pair),
    wake_tx_(zmq_context(), zmq::socket_type::pair) {
  router_.set(zmq::sockopt::linger, 2000);
  router_.set(zmq::sockopt::rcvhwm, 10000);
  // ROUTER silently drops what exceeds its send queue: keep room for the
  // acks of everything that can be in flight (senders bound that far below).
  router_.set(zmq::sockopt::sndhwm, 100000);
  router_.set(zmq::sockopt::maxmsgsize, max_message_bytes_);
  if (security.curve) {
    // The allow-list is in place before the socket binds: no window in
    // which a client could get in unchecked.
    zap_handler::instance().allow(security.domain, security.allowed);
    router_.set(zmq::sockopt::curve_server, 1);
    router_.set(zmq::sockopt::curve_secretkey, security.own.secret_key);
    router_.set(zmq::sockopt::zap_domain, security.domain);
  }
  try {
    router_.bind(endpoint_);
    endpoint_ = router_.get(zmq::sockopt::last_endpoint); // resolves a wildcard port
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("mesh: cannot bind " + endpoint_ + ": " + e.what());
  }
  auto name = inproc_name("in");
  wake_rx_.bind(name);
  wake_tx_.connect(name);
  io_ = std::thread{[this] { run(); }};
}

zmq_inbound::~zmq_inbound() {
  stop_ = true;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    wake_tx_.send(zmq::buffer("x", 1), zmq::send_flags::dontwait);
  }
  io_.join();
}

void zmq_inbound::ack(const std::string& peer, uint64_t seq, bytes reply) {
  std::lock_guard<std::mutex> guard{mtx_};
  bool was_empty = acks_.empty();
  acks_.emplace_back(peer, seq, std::move(reply));
  if (was_empty) wake_tx_.send(zmq::buffer("w", 1), zmq::send_flags::dontwait);
}

void zmq_inbound::send_acks() {
  std::deque<std::tuple<std::string, uint64_t, bytes>> todo;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    todo.swap(acks_);
  }
  for (auto& [peer, seq, reply] : todo) {
    uint8_t seqbuf[8];
    put_u64(seqbuf, seq);
    // A vanished peer makes ROUTER drop the ack; the peer resends after
    // reconnecting and gets a re-ack for the duplicate.
    router_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    if (reply.empty()) {
      router_.send(zmq::buffer(seqbuf, 8), zmq::send_flags::dontwait);
    } else {
      router_.send(zmq::buffer(seqbuf, 8), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      router_.send(zmq::buffer(reply), zmq::send_flags::dontwait);
    }
  }
}

void zmq_inbound::run() {
  std::vector<zmq::message_t> parts;
  while (!stop_) {
    zmq::pollitem_t items[] = {{static_cast<void*>(router_), 0, ZMQ_POLLIN, 0},
                               {static_cast<void*>(wake_rx_), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, std::chrono::milliseconds{100});
    if (items[1].revents & ZMQ_POLLIN) {
      drain(wake_rx_);
      send_acks();
    }
    if (items[0].revents & ZMQ_POLLIN) {
      while (recv_all(router_, parts)) {
        // [routing id][envelope], or [routing id][base][envelope]
        if (parts.size() != 2 && !(parts.size() == 3 && parts[1].size() == 8)) continue;
        last_message_ = std::chrono::steady_clock::now().time_since_epoch().count();
        std::string peer{static_cast<const char*>(parts[0].data()), parts[0].size()};
        std::optional<uint64_t> base;
        if (parts.size() == 3) base = get_u64(static_cast<const uint8_t*>(parts[1].data()));
        auto& env = parts.back();
        auto p = static_cast<const uint8_t*>(env.data());
        const char* user = zmq_msg_gets(env.handle(), "User-Id");
        on_message_(std::move(peer), bytes(p, p + env.size()), user ? user : "", base);
      }
    }
  }
  // Acks queued while stopping still go out (the socket lingers to deliver).
  send_acks();
}

// --- sequence gate ------------------------------------------------------------

sequence_gate::sequence_gate(size_t max_senders, clock::duration expiry)
  : max_senders_(std::max<size_t>(1, max_senders)), expiry_(expiry) {}

sequence_gate::verdict sequence_gate::check(const std::string& sender, uint64_t seq, clock::time_point now,
                                            std::optional<uint64_t> base) {
  // The least recently heard are at the back: expire from there.
  while (!recent_.empty()) {
    auto old = last_.find(recent_.back());
    if (now - old->second.seen < expiry_) break;
    last_.erase(old);
    recent_.pop_back();
    ++expired_;
  }
  auto it = last_.find(sender);
  if (it == last_.end()) {
    // Not remembered: only the sender's oldest unacknowledged message may
    // start its order here (what came before it was acknowledged, so taken).
    if (base && seq != *base) return verdict::out_of_order;
    if (last_.size() >= max_senders_) {
      last_.erase(recent_.back());
      recent_.pop_back();
      ++evicted_;
    }
    recent_.push_front(sender);
    last_.emplace(sender, entry{seq, now, recent_.begin()});
    return verdict::deliver;
  }
  auto& e = it->second;
  e.seen = now;
  recent_.splice(recent_.begin(), recent_, e.order);
  if (seq == e.seq + 1) {
    e.seq = seq;
    return verdict::deliver;
  }
  return seq <= e.seq ? verdict::duplicate : verdict::out_of_order;
}

} // namespace weaver
