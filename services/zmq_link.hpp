// The two ends of a remote link over ZeroMQ, each with its own I/O thread
// that owns the sockets (ZeroMQ sockets are not thread-safe).
//
// Pattern: DEALER (sender) -> ROUTER (receiver), one envelope per message,
// and an acknowledgement back for every message once the receiving actor has
// taken it over. Why not PUSH/PULL or PUB/SUB: PUB/SUB drops silently when a
// peer is slow or not yet connected, and PUSH/PULL has no way back for the
// acknowledgements that carry back-pressure (and query replies). With acks
// the sender bounds what is outstanding (the credit window), never drops a
// detection, track or presence message, and resends what a broken connection
// lost (go-back-N: the receiver accepts only the next sequence number per
// sender and re-acks duplicates). Each transmission also carries the
// sender's base, its oldest unacknowledged sequence number at that moment,
// so a receiver that restarted (and so knows nothing of the sender) starts
// at the sender's base, never at a message queued behind a lost one: taking
// that one first would make the lost one a "duplicate" when it is resent.
// Frames use the same link; under realtime
// the detector drops stale frames and counts them instead of waiting.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "services/mesh_security.hpp"

namespace weaver {

using bytes = std::vector<uint8_t>;

/// The process's ZeroMQ context.
zmq::context_t& zmq_context();

class zmq_outbound {
public:
  /// Called on the I/O thread for each acknowledged sequence number, with the
  /// reply payload (empty for a plain ack).
  using ack_handler = std::function<void(uint64_t seq, bytes reply)>;

  /// How long the oldest unacknowledged message waits before a resend.
  static constexpr std::chrono::milliseconds default_resend_after{3000};

  /// `name` labels the link's weaver_link_up gauge (default: the endpoint).
  /// `security` with curve set: the link authenticates with this node's
  /// key, checks the bound end's (server_key) and is encrypted.
  zmq_outbound(std::string endpoint, ack_handler on_ack, std::chrono::milliseconds resend_after = default_resend_after,
               std::string name = {}, const link_security& security = {});
  ~zmq_outbound();
  zmq_outbound(const zmq_outbound&) = delete;
  zmq_outbound& operator=(const zmq_outbound&) = delete;

  /// Queues one message; thread-safe, never blocks on the network.
  void send(uint64_t seq, bytes payload);

  uint64_t resent() const { return resent_; }
  /// False from a resend (no ack within resend_after) until the next ack.
  bool acking() const { return acking_; }
  const std::string& endpoint() const { return endpoint_; }

private:
  void run();

  std::string endpoint_, name_;
  ack_handler on_ack_;
  std::chrono::milliseconds resend_after_;
  zmq::socket_t dealer_;
  zmq::socket_t wake_rx_, wake_tx_; // inproc pair: wakes the I/O thread
  std::mutex mtx_; // guards incoming_ and wake_tx_
  std::deque<std::pair<uint64_t, bytes>> incoming_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> resent_{0};
  std::atomic<bool> acking_{true};
  std::thread io_;
};

class zmq_inbound {
public:
  /// Called on the I/O thread for each message: the sender's routing id, the
  /// raw bytes (not yet verified) and the User-Id the ZAP handler gave the
  /// authenticated peer (its role; empty on a plain link).
  using message_handler = std::function<void(std::string peer, bytes payload, std::string user)>;
  /// The same with the sender's base (its oldest unacknowledged sequence
  /// number when it sent this), when the sender named one.
  using based_handler =
    std::function<void(std::string peer, bytes payload, std::string user, std::optional<uint64_t> base)>;

  /// ZMQ_MAXMSGSIZE when none is given: above any message of the mesh (the
  /// bridge sets a tighter one per role, services/bridge.hpp).
  static constexpr int64_t default_max_message_bytes = int64_t{256} << 20;

  /// Binds `endpoint` (tcp://host:* picks a free port; endpoint() then
  /// names it); throws std::runtime_error naming it on failure. A peer that
  /// announces a message over `max_message_bytes` is disconnected before
  /// ZeroMQ buffers it (ZMQ_MAXMSGSIZE): a forged length costs no memory.
  /// With `security.curve`, only peers whose public key is in
  /// security.allowed complete the handshake (zap_handler).
  zmq_inbound(std::string endpoint, message_handler on_message, int64_t max_message_bytes = default_max_message_bytes,
              const link_security& security = {});
  zmq_inbound(std::string endpoint, based_handler on_message, int64_t max_message_bytes = default_max_message_bytes,
              const link_security& security = {});
  ~zmq_inbound();
  zmq_inbound(const zmq_inbound&) = delete;
  zmq_inbound& operator=(const zmq_inbound&) = delete;

  /// Acknowledges `seq` to `peer` with an optional reply; thread-safe.
  void ack(const std::string& peer, uint64_t seq, bytes reply = {});

  const std::string& endpoint() const { return endpoint_; }
  int64_t max_message_bytes() const { return max_message_bytes_; }

  /// When the last message arrived (steady clock ticks; 0 = never).
  int64_t last_message() const { return last_message_; }

private:
  void run();
  void send_acks();

  std::string endpoint_;
  based_handler on_message_;
  int64_t max_message_bytes_;
  zmq::socket_t router_;
  zmq::socket_t wake_rx_, wake_tx_;
  std::mutex mtx_;
  std::deque<std::tuple<std::string, uint64_t, bytes>> acks_;
  std::atomic<int64_t> last_message_{0};
  std::atomic<bool> stop_{false};
  std::thread io_;
};

/// Receiver-side ordering per sender (go-back-N): decides whether a message
/// is the next one (deliver), a duplicate (re-ack), or out of order (ignore;
/// the sender resends). Pure, unit-tested.
///
/// Every sender id costs an entry, and anyone who can reach the port can
/// invent ids, so the gate forgets: a sender not heard from for `expiry`, and
/// the least recently heard one when a new sender would exceed `max_senders`.
/// A sender the gate does not know (new, forgotten, or this receiver just
/// restarted) starts at the message whose number is the sender's `base` (its
/// oldest unacknowledged one); others are out of order until the sender goes
/// back to its base. Without a base (an older sender) its first message is
/// taken whatever its number. Live senders
/// are a handful per link and resend within seconds, far inside both bounds.
class sequence_gate {
public:
  using clock = std::chrono::steady_clock;
  enum class verdict { deliver, duplicate, out_of_order };

  static constexpr size_t default_max_senders = 4096;
  static constexpr std::chrono::minutes default_expiry{10};

  explicit sequence_gate(size_t max_senders = default_max_senders, clock::duration expiry = default_expiry);

  verdict check(const std::string& sender, uint64_t seq, clock::time_point now,
                std::optional<uint64_t> base = std::nullopt);
  verdict check(const std::string& sender, uint64_t seq, std::optional<uint64_t> base = std::nullopt) {
    return check(sender, seq, clock::now(), base);
  }

  size_t senders() const { return last_.size(); }
  /// Senders forgotten so far: idle past the expiry, and pushed out by the cap.
  uint64_t expired() const { return expired_; }
  uint64_t evicted() const { return evicted_; }

private:
  struct entry {
    uint64_t seq; // last delivered
    clock::time_point seen;
    std::list<std::string>::iterator order; // its place in recent_
  };
  size_t max_senders_;
  clock::duration expiry_;
  std::map<std::string, entry> last_;
  std::list<std::string> recent_; // most recently heard first
  uint64_t expired_ = 0, evicted_ = 0;
};

} // namespace weaver
