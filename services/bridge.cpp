#include "services/bridge.hpp"

#include <random>

#include <unistd.h>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "actors/sent_bytes.hpp"
#include "base/errors.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"
#include "schemas/codec.hpp"

namespace weaver {

namespace {

// A sender id unique across restarts, so a restarted sender's sequence
// numbers are never mistaken for duplicates of its previous life.
std::string make_sender(const std::string& link) {
  std::random_device rd;
  return link + "/" + std::to_string(::getpid()) + "/" + std::to_string(rd());
}

using out_self = caf::stateful_actor<outbound_state>*;

// Encodes `msg` with the next sequence number, sends it, and returns the
// promise the remote acknowledgement will fulfil. Counts the bytes sent in
// weaver_link_bytes_sent_total (the stages do not for a remote link:
// actors/sent_bytes.hpp); `after_detection`: also in the run's bytes_sent.
template <class T>
caf::response_promise forward(out_self self, const T& msg, bool expects_reply, bool after_detection = true) {
  auto& st = self->state;
  auto seq = st.next_seq++;
  auto payload = codec::encode(msg, st.sender, seq);
  auto rp = self->make_response_promise();
  st.pending.emplace(seq, std::make_pair(rp, expects_reply));
  auto size = payload.size();
  metrics::global().link_bytes(st.link).Increment(static_cast<double>(size));
  if (after_detection && st.stats) st.stats->bytes_sent += size;
  metrics::global().link_messages(st.link).Increment();
  st.out->send(seq, std::move(payload));
  return rp;
}

} // namespace

caf::behavior outbound_bridge(caf::stateful_actor<outbound_state>* self, std::string link, std::string endpoint,
                              run_stats_ptr stats, link_security security) {
  auto& st = self->state;
  st.link = link;
  st.sender = make_sender(link);
  st.stats = std::move(stats);
  set_remote_link(link, true);
  self->attach_functor([link] { set_remote_link(link, false); });
  auto handle = caf::actor_cast<caf::actor>(self);
  st.out = std::make_unique<zmq_outbound>(
    endpoint, [handle](uint64_t seq, bytes reply) { caf::anon_send(handle, ack_atom::value, seq, std::move(reply)); },
    zmq_outbound::default_resend_after, link, security);
  return {[=](const frame_ptr& f) { return forward(self, *f, false, false); },
          [=](const detection_batch& b) { return forward(self, b, false); },
          [=](const track_batch& b) { return forward(self, b, false); },
          [=](const presence_batch& b) { return forward(self, b, false); },
          [=](const end_of_stream& e) { return forward(self, e, false); },
          [=](const query_request& q) { return forward(self, q, true, false); },
          [=](ack_atom, uint64_t seq, const bytes& reply) {
            auto& st = self->state;
            auto it = st.pending.find(seq);
            static const logger log{"bridge"};
            log.debug(st.link, ": ack ", seq, it == st.pending.end() ? " (unknown)" : "");
            if (it == st.pending.end()) return;
            auto [rp, expects_reply] = it->second;
            st.pending.erase(it);
            if (!expects_reply) {
              rp.deliver(caf::ok_atom::value);
              return;
            }
            std::string err;
            auto msg = codec::decode(reply.data(), reply.size(), &err);
            if (msg && msg->k == codec::kind::query_response)
              rp.deliver(std::get<query_response>(std::move(msg->body)));
            else
              rp.deliver(make_error(errc::bad_reply, st.link + ": bad reply: " + err));
          }};
}

namespace {

using in_self = caf::stateful_actor<inbound_state>*;

void reject(in_self self, const std::string& reason, const std::string& detail) {
  static const logger log{"bridge"};
  auto& st = self->state;
  metrics::global().link_rejected(st.link, reason).Increment();
  if (st.stats) st.stats->rejected++;
  // Log the first few and then every 1000th, so garbage cannot flood the log.
  if (st.rejected < 10 || st.rejected % 1000 == 0)
    log.warn(st.link, ": rejected message #", st.rejected + 1, " (", reason, "): ", detail);
  st.rejected++;
}

// The gate's size and what it forgot since the last look, as metrics.
void note_gate(inbound_state& st) {
  auto& m = metrics::global();
  m.link_senders(st.link).Set(static_cast<double>(st.gate.senders()));
  if (st.gate.expired() > st.gate_expired) {
    m.link_senders_forgotten(st.link, "expired").Increment(static_cast<double>(st.gate.expired() - st.gate_expired));
    st.gate_expired = st.gate.expired();
  }
  if (st.gate.evicted() > st.gate_evicted) {
    m.link_senders_forgotten(st.link, "cap").Increment(static_cast<double>(st.gate.evicted() - st.gate_evicted));
    st.gate_evicted = st.gate.evicted();
  }
}

// Hands a decoded message to the local actor and acks it once the actor
// replied; then runs `then` (e.g. to report a finished end of stream).
template <class Handle, class T, class F = void (*)()>
void hand_over(
  in_self self, const Handle& target, T msg, std::string peer, std::string sender, uint64_t seq, F then = [] {}) {
  auto key = std::make_pair(sender, seq);
  self->state.in_progress.insert(key);
  self->request(target, caf::infinite, std::move(msg))
    .then(
      [self, peer, key, then](caf::ok_atom) {
        static const logger log{"bridge"};
        log.debug(self->state.link, ": acking ", key.first, "#", key.second);
        self->state.in_progress.erase(key);
        self->state.in->ack(peer, key.second);
        then();
      },
      [self, peer, key](caf::error& e) {
        // Not acknowledged: the sender keeps it and resends later.
        self->state.in_progress.erase(key);
        static const logger log{"bridge"};
        log.error(self->state.link, ": local actor failed: ", self->system().render(e));
      });
}

} // namespace

int64_t max_message_bytes(const std::string& role) {
  return role == "detector" ? max_frame_message_bytes : max_batch_message_bytes;
}

inbound_link spawn_inbound(caf::actor_system& sys, const std::string& endpoint, inbound_targets targets,
                           run_stats_ptr stats, const link_security& security) {
  // The socket binds first so a bad endpoint is an error, not a dead actor;
  // its I/O thread waits for the actor's handle before handing anything over.
  auto ready = std::make_shared<std::promise<caf::actor>>();
  auto handle = ready->get_future().share();
  auto in =
    std::make_shared<zmq_inbound>(endpoint,
                                  zmq_inbound::based_handler{[handle](std::string peer, bytes payload, std::string user,
                                                                      std::optional<uint64_t> base) {
                                    // No base travels as 0: sequence numbers start at 1.
                                    caf::anon_send(handle.get(), inbound_atom::value, std::move(peer),
                                                   std::move(payload), std::move(user), base.value_or(0));
                                  }},
                                  max_message_bytes(targets.role), security);
  targets.upstream.clear();
  if (security.curve) {
    if (security.allowed.empty()) throw std::runtime_error("mesh: " + endpoint + ": no peer key allowed");
    targets.upstream = security.allowed.begin()->second;
  }
  auto bridge = sys.spawn(inbound_bridge, in, std::move(targets), std::move(stats));
  ready->set_value(bridge);
  return {bridge, in};
}

caf::behavior inbound_bridge(caf::stateful_actor<inbound_state>* self, std::shared_ptr<zmq_inbound> in,
                             inbound_targets targets, run_stats_ptr stats) {
  auto& st = self->state;
  st.link = "->" + targets.role;
  st.targets = std::move(targets);
  st.stats = std::move(stats);
  st.in = std::move(in);
  return {[=](inbound_atom, std::string& peer, bytes& payload, std::string& user, uint64_t base) {
    auto& st = self->state;
    // Defence in depth behind the ZAP handler: on a CURVE link nothing is
    // acted on (data, end of stream, queries) unless it came from the
    // authenticated upstream. Not acked: it was never this link's.
    if (!st.targets.upstream.empty() && user != st.targets.upstream) {
      reject(self, "unauthenticated", "from '" + user + "', expected '" + st.targets.upstream + "'");
      return;
    }
    std::string err;
    auto msg = codec::decode(payload.data(), payload.size(), &err);
    if (!msg) {
      reject(self, "invalid", err);
      return;
    }
    static const logger log{"bridge"};
    log.debug(st.link, ": got ", codec::to_string(msg->k), " ", msg->sender, "#", msg->sequence);
    // A message that is well-formed but not believable is dropped, never
    // handed over. With a usable sender id it still takes its place in the
    // sender's order and is acked below, so a sender's one bad message does
    // not stall its link in resends; one without is not even remembered.
    auto problem = codec::validate(*msg);
    if (problem && problem->reason == "sender") {
      reject(self, problem->reason, problem->detail);
      return;
    }
    auto verdict = st.gate.check(msg->sender, msg->sequence, base > 0 ? std::optional<uint64_t>{base} : std::nullopt);
    note_gate(st);
    switch (verdict) {
      case sequence_gate::verdict::out_of_order:
        return; // the sender resends from the gap
      case sequence_gate::verdict::duplicate:
        if (st.in_progress.count({msg->sender, msg->sequence}) == 0)
          st.in->ack(peer, msg->sequence); // its ack was lost; it was handled
        return;
      case sequence_gate::verdict::deliver:
        break;
    }
    auto& t = st.targets;
    auto seq = msg->sequence;
    if (problem) {
      reject(self, problem->reason, problem->detail);
      st.in->ack(peer, seq);
      return;
    }
    switch (msg->k) {
      case codec::kind::frame:
        if (t.detector) {
          auto f = std::make_shared<frame>(std::get<frame>(std::move(msg->body)));
          hand_over(self, t.detector, frame_ptr{std::move(f)}, peer, msg->sender, seq);
          return;
        }
        break;
      case codec::kind::detections:
        if (t.tracker) {
          hand_over(self, t.tracker, std::get<detection_batch>(std::move(msg->body)), peer, msg->sender, seq);
          return;
        }
        break;
      case codec::kind::tracks:
        if (t.reid) {
          hand_over(self, t.reid, std::get<track_batch>(std::move(msg->body)), peer, msg->sender, seq);
          return;
        }
        break;
      case codec::kind::presence:
        if (t.storage) {
          hand_over(self, t.storage, std::get<presence_batch>(std::move(msg->body)), peer, msg->sender, seq);
          return;
        }
        break;
      case codec::kind::end_of_stream: {
        auto eos = std::get<end_of_stream>(msg->body);
        auto w = t.watcher;
        auto done = [w, camera = eos.camera_id] {
          if (w) caf::anon_send(w, done_atom::value, camera);
        };
        if (t.role == "detector" && t.detector) return hand_over(self, t.detector, eos, peer, msg->sender, seq, done);
        if (t.role == "tracker" && t.tracker) return hand_over(self, t.tracker, eos, peer, msg->sender, seq, done);
        if (t.role == "reid" && t.reid) return hand_over(self, t.reid, eos, peer, msg->sender, seq, done);
        if (t.role == "storage" && t.storage) return hand_over(self, t.storage, eos, peer, msg->sender, seq, done);
        break;
      }
      case codec::kind::query_request:
        if (t.query) {
          auto key = std::make_pair(msg->sender, seq);
          st.in_progress.insert(key);
          self->request(t.query, caf::infinite, std::get<query_request>(std::move(msg->body)))
            .then(
              [self, peer, key](query_response& r) {
                self->state.in_progress.erase(key);
                self->state.in->ack(peer, key.second, codec::encode(r, "query", key.second));
              },
              [self, key](caf::error&) { self->state.in_progress.erase(key); });
          return;
        }
        break;
      case codec::kind::heartbeat:
        st.in->ack(peer, seq);
        return;
      default:
        break;
    }
    // A valid message this endpoint does not serve: count it and ack it so
    // the sender does not resend it forever.
    reject(self, "unexpected_kind", std::string("a ") + codec::to_string(msg->k) + " message");
    st.in->ack(peer, seq);
  }};
}

} // namespace weaver
