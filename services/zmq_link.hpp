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
// sender and re-acks duplicates). Frames use the same link; under realtime
// the detector drops stale frames and counts them instead of waiting.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

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
  zmq_outbound(std::string endpoint, ack_handler on_ack,
               std::chrono::milliseconds resend_after = default_resend_after, std::string name = {});
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
  zmq::socket_t wake_rx_, wake_tx_;   // inproc pair: wakes the I/O thread
  std::mutex mtx_;                     // guards incoming_ and wake_tx_
  std::deque<std::pair<uint64_t, bytes>> incoming_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> resent_{0};
  std::atomic<bool> acking_{true};
  std::thread io_;
};

class zmq_inbound {
public:
  /// Called on the I/O thread for each message: the sender's routing id and
  /// the raw bytes (not yet verified).
  using message_handler = std::function<void(std::string peer, bytes payload)>;

  /// Binds `endpoint` (tcp://host:* picks a free port; endpoint() then
  /// names it); throws std::runtime_error naming it on failure.
  zmq_inbound(std::string endpoint, message_handler on_message);
  ~zmq_inbound();
  zmq_inbound(const zmq_inbound&) = delete;
  zmq_inbound& operator=(const zmq_inbound&) = delete;

  /// Acknowledges `seq` to `peer` with an optional reply; thread-safe.
  void ack(const std::string& peer, uint64_t seq, bytes reply = {});

  const std::string& endpoint() const { return endpoint_; }

  /// When the last message arrived (steady clock ticks; 0 = never).
  int64_t last_message() const { return last_message_; }

private:
  void run();
  void send_acks();

  std::string endpoint_;
  message_handler on_message_;
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
class sequence_gate {
public:
  enum class verdict { deliver, duplicate, out_of_order };
  verdict check(const std::string& sender, uint64_t seq);

private:
  std::map<std::string, uint64_t> last_;   // last delivered seq per sender
};

} // namespace weaver
