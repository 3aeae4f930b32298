// One Prometheus registry per process, with the families every role uses.
// Naming follows weaver_<what>_<unit>, _total for counters, labels camera,
// card, link, stage, reason. Family::Add is thread-safe and returns the same
// metric for the same labels, so actors call these helpers freely.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace weaver {

class metrics {
public:
  metrics();
  ~metrics();

  prometheus::Registry& registry() { return *registry_; }
  /// For the HTTP server (services/health.hpp), which serves /metrics.
  std::shared_ptr<prometheus::Registry> registry_ptr() { return registry_; }

  prometheus::Counter& frames_in(uint32_t camera);
  prometheus::Counter& frames_dropped(uint32_t camera, const std::string& reason);
  prometheus::Counter& detections(uint32_t camera);
  prometheus::Counter& bytes_raw(uint32_t camera);
  // The compressed bytes of each source (video_source::take_source_bytes),
  // under the first camera that crops it: what shipping the video would cost.
  prometheus::Counter& source_bytes(uint32_t camera);
  prometheus::Counter& link_bytes(const std::string& link);
  prometheus::Counter& link_messages(const std::string& link);
  prometheus::Counter& link_rejected(const std::string& link, const std::string& reason);
  // CURVE handshakes the ZAP handler refused (services/mesh_security.hpp), by
  // the role the link serves and reason (unknown_key; mechanism: a non-CURVE
  // request on a CURVE domain).
  prometheus::Counter& mesh_auth_refused(const std::string& role, const std::string& reason);
  // The inbound link's sequence gate (services/zmq_link.hpp): sender ids it
  // remembers, and those it forgot (reason expired or cap).
  prometheus::Gauge& link_senders(const std::string& link);
  prometheus::Counter& link_senders_forgotten(const std::string& link, const std::string& reason);
  prometheus::Counter& card_jobs(const std::string& card);
  prometheus::Counter& card_errors(const std::string& card, const std::string& reason);
  prometheus::Gauge& card_up(const std::string& card);
  prometheus::Gauge& card_busy(const std::string& card);
  prometheus::Histogram& card_service(const std::string& card);
  prometheus::Gauge& pool_queue_depth(uint32_t camera);
  prometheus::Histogram& pool_wait();
  prometheus::Counter& rows_written();
  prometheus::Gauge& camera_up(uint32_t camera);
  prometheus::Counter& zone_events(uint32_t camera, const std::string& name, const std::string& kind);
  prometheus::Gauge& link_up(const std::string& link);
  prometheus::Counter& storage_errors(const std::string& reason);
  prometheus::Counter& retention_deleted();
  prometheus::Counter& alerts(const std::string& kind);
  prometheus::Counter& queries(const std::string& query);
  prometheus::Counter& query_errors(const std::string& query, const std::string& reason);
  prometheus::Histogram& query_latency(const std::string& query);
  prometheus::Gauge& queue_depth(uint32_t camera);
  prometheus::Gauge& tracks_active(uint32_t camera);
  prometheus::Counter& tracks_started(uint32_t camera);
  prometheus::Counter& identities();
  /// Live (provisional) person ids of ended tracks against their final ids:
  /// outcome agreed | differed | unguessed_new | unguessed_known.
  prometheus::Counter& live_ids(const std::string& outcome);
  prometheus::Histogram& stage_latency(const std::string& stage);
  // REST gateway (services/gateway): route is the OpenAPI path template
  // ("/v1/people/{person}/trajectory", "other" for no route), code the status.
  prometheus::Counter& gateway_requests(const std::string& route, int code);
  prometheus::Histogram& gateway_request_seconds(const std::string& route);
  prometheus::Gauge& gateway_sse_clients();
  prometheus::Counter& gateway_sse_events();
  // Its connections (services/gateway/http_server.hpp): open now, and closed
  // by the server, by reason (idle, head_timeout, max_connections, ...).
  prometheus::Gauge& gateway_connections();
  prometheus::Counter& gateway_connections_closed(const std::string& reason);

  /// A counter family's total over its series, as /metrics exports it
  /// ("weaver_frames_total"); 0 for a family with no series.
  double counter_total(const std::string& family) const;

  /// Process-wide instance (the embedded default and each node have one).
  static metrics& global();

private:
  std::shared_ptr<prometheus::Registry> registry_;
  // Every latency histogram's buckets (seconds). A member, not a static of
  // its own: a static made at the first observation dies at exit before a
  // metrics made earlier, while threads still observing would copy freed
  // memory (an actor answering a query as the process exits).
  const prometheus::Histogram::BucketBoundaries latency_buckets_{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                 0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  prometheus::Family<prometheus::Counter>* frames_in_;
  prometheus::Family<prometheus::Counter>* frames_dropped_;
  prometheus::Family<prometheus::Counter>* detections_;
  prometheus::Family<prometheus::Counter>* bytes_raw_;
  prometheus::Family<prometheus::Counter>* source_bytes_;
  prometheus::Family<prometheus::Counter>* link_bytes_;
  prometheus::Family<prometheus::Counter>* link_messages_;
  prometheus::Family<prometheus::Counter>* link_rejected_;
  prometheus::Family<prometheus::Counter>* mesh_auth_refused_;
  prometheus::Family<prometheus::Gauge>* gateway_connections_;
  prometheus::Family<prometheus::Counter>* gateway_connections_closed_;
  prometheus::Family<prometheus::Gauge>* link_senders_;
  prometheus::Family<prometheus::Counter>* link_senders_forgotten_;
  prometheus::Family<prometheus::Counter>* card_jobs_;
  prometheus::Family<prometheus::Counter>* card_errors_;
  prometheus::Family<prometheus::Gauge>* card_up_;
  prometheus::Family<prometheus::Gauge>* card_busy_;
  prometheus::Family<prometheus::Histogram>* card_service_;
  prometheus::Family<prometheus::Gauge>* pool_queue_depth_;
  prometheus::Family<prometheus::Histogram>* pool_wait_;
  prometheus::Family<prometheus::Counter>* rows_written_;
  prometheus::Family<prometheus::Gauge>* camera_up_;
  prometheus::Family<prometheus::Counter>* zone_events_;
  prometheus::Family<prometheus::Gauge>* link_up_;
  prometheus::Family<prometheus::Counter>* storage_errors_;
  prometheus::Family<prometheus::Counter>* retention_deleted_;
  prometheus::Family<prometheus::Counter>* alerts_;
  prometheus::Family<prometheus::Counter>* queries_;
  prometheus::Family<prometheus::Counter>* query_errors_;
  prometheus::Family<prometheus::Histogram>* query_latency_;
  prometheus::Family<prometheus::Gauge>* queue_depth_;
  prometheus::Family<prometheus::Gauge>* tracks_active_;
  prometheus::Family<prometheus::Counter>* tracks_started_;
  prometheus::Family<prometheus::Counter>* identities_;
  prometheus::Family<prometheus::Counter>* live_ids_;
  prometheus::Family<prometheus::Histogram>* stage_latency_;
  prometheus::Family<prometheus::Counter>* gateway_requests_;
  prometheus::Family<prometheus::Histogram>* gateway_request_seconds_;
  prometheus::Family<prometheus::Gauge>* gateway_sse_clients_;
  prometheus::Family<prometheus::Counter>* gateway_sse_events_;
};

} // namespace weaver
