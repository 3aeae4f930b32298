#include "base/metrics.hpp"

namespace weaver {

using namespace prometheus;

metrics::metrics() : registry_(std::make_shared<Registry>()) {
  auto& r = *registry_;
  frames_in_ = &BuildCounter().Name("weaver_frames_total").Help("Frames emitted by each camera").Register(r);
  frames_dropped_ = &BuildCounter()
                       .Name("weaver_frames_dropped_total")
                       .Help("Frames dropped before detection, by camera and reason")
                       .Register(r);
  detections_ = &BuildCounter().Name("weaver_detections_total").Help("People detected, by camera").Register(r);
  bytes_raw_ = &BuildCounter()
                  .Name("weaver_frame_bytes_total")
                  .Help("Decoded frame bytes seen by each camera (what raw video would cost)")
                  .Register(r);
  source_bytes_ = &BuildCounter()
                     .Name("weaver_source_bytes_total")
                     .Help(
                       "Compressed bytes of each video source for the frames read (files: demuxed "
                       "packets, then the rest of the file at its end; streams: reported bitrate), "
                       "counted once per source under its first camera")
                     .Register(r);
  link_bytes_ = &BuildCounter()
                   .Name("weaver_link_bytes_sent_total")
                   .Help("Encoded bytes sent per link (measured by encoding when the link is local)")
                   .Register(r);
  link_messages_ = &BuildCounter().Name("weaver_link_messages_total").Help("Messages sent per link").Register(r);
  link_rejected_ = &BuildCounter()
                      .Name("weaver_link_rejected_total")
                      .Help("Inbound messages rejected by verification, by link and reason")
                      .Register(r);
  mesh_auth_refused_ = &BuildCounter()
                          .Name("weaver_mesh_auth_refused_total")
                          .Help(
                            "Mesh connections refused by authentication, by the role served and "
                            "reason (unknown_key: a public key not allowed for that link; "
                            "mechanism: not CURVE)")
                          .Register(r);
  link_senders_ =
    &BuildGauge().Name("weaver_link_senders").Help("Sender ids an inbound link's sequence gate remembers").Register(r);
  link_senders_forgotten_ = &BuildCounter()
                               .Name("weaver_link_senders_forgotten_total")
                               .Help(
                                 "Sender ids an inbound link's sequence gate forgot, by link and "
                                 "reason (expired: idle too long, cap: too many senders)")
                               .Register(r);
  card_jobs_ = &BuildCounter().Name("weaver_card_jobs_total").Help("Inference jobs completed per card").Register(r);
  card_errors_ = &BuildCounter()
                    .Name("weaver_card_errors_total")
                    .Help("Card failures by card and reason (error, timeout)")
                    .Register(r);
  card_up_ = &BuildGauge()
                .Name("weaver_card_up")
                .Help("1 while the card is in the pool's rotation, 0 while it is down")
                .Register(r);
  card_busy_ = &BuildGauge()
                  .Name("weaver_card_busy_ratio")
                  .Help("Share of the card's slots busy over the last update period")
                  .Register(r);
  card_service_ = &BuildHistogram().Name("weaver_card_service_seconds").Help("Time a card took per batch").Register(r);
  pool_queue_depth_ =
    &BuildGauge().Name("weaver_pool_queue_depth").Help("Jobs waiting in the pool for a card, per camera").Register(r);
  pool_wait_ = &BuildHistogram()
                  .Name("weaver_pool_schedule_latency_seconds")
                  .Help("Time from a frame's admission to its dispatch to a card")
                  .Register(r);
  camera_up_ = &BuildGauge()
                  .Name("weaver_camera_up")
                  .Help("1 while the camera's source delivers frames, 0 while it is being reopened")
                  .Register(r);
  zone_events_ = &BuildCounter()
                    .Name("weaver_zone_events_total")
                    .Help("Zone entries / exits and line crossings, by camera, zone or line, and kind")
                    .Register(r);
  link_up_ = &BuildGauge()
                .Name("weaver_link_up")
                .Help("Outbound link: 1 while its messages are acknowledged, 0 while it resends")
                .Register(r);
  storage_errors_ =
    &BuildCounter().Name("weaver_storage_errors_total").Help("Failed storage writes, by reason").Register(r);
  retention_deleted_ = &BuildCounter()
                          .Name("weaver_storage_retention_deleted_total")
                          .Help("Rows deleted by retention (presences, zone visits, events)")
                          .Register(r);
  alerts_ = &BuildCounter()
               .Name("weaver_alerts_total")
               .Help("Alerts raised by the standing queries and stored as events, by kind")
               .Register(r);
  queries_ = &BuildCounter().Name("weaver_queries_total").Help("Queries answered, by query").Register(r);
  query_errors_ =
    &BuildCounter().Name("weaver_query_errors_total").Help("Queries that failed, by query and reason").Register(r);
  query_latency_ =
    &BuildHistogram().Name("weaver_query_latency_seconds").Help("Time to answer a query, by query").Register(r);
  rows_written_ =
    &BuildCounter().Name("weaver_storage_rows_written_total").Help("people_present rows written").Register(r);
  queue_depth_ = &BuildGauge()
                    .Name("weaver_queue_depth")
                    .Help("Frames admitted and not yet acknowledged downstream, per camera")
                    .Register(r);
  tracks_active_ = &BuildGauge().Name("weaver_tracks_active").Help("Active tracks per camera").Register(r);
  tracks_started_ = &BuildCounter().Name("weaver_tracks_started_total").Help("Tracks confirmed, by camera").Register(r);
  identities_ = &BuildCounter()
                   .Name("weaver_identities_total")
                   .Help("Track identities (track -> person) re-id sent to storage")
                   .Register(r);
  live_ids_ = &BuildCounter()
                 .Name("weaver_reid_live_ids_total")
                 .Help("Ended tracks by how their live (provisional) person id compared with the final one")
                 .Register(r);
  stage_latency_ =
    &BuildHistogram().Name("weaver_stage_latency_seconds").Help("Per-stage processing latency").Register(r);
  gateway_requests_ = &BuildCounter()
                         .Name("weaver_gateway_requests_total")
                         .Help("REST gateway requests answered, by route and status code")
                         .Register(r);
  gateway_request_seconds_ = &BuildHistogram()
                                .Name("weaver_gateway_request_seconds")
                                .Help(
                                  "Time to answer a REST gateway request, by route (alert "
                                  "streams: not counted)")
                                .Register(r);
  gateway_sse_clients_ =
    &BuildGauge().Name("weaver_gateway_sse_clients").Help("Open Server-Sent Events alert streams").Register(r);
  gateway_sse_events_ = &BuildCounter()
                           .Name("weaver_gateway_sse_events_total")
                           .Help("Alert events pushed to Server-Sent Events streams")
                           .Register(r);
  gateway_connections_ = &BuildGauge()
                            .Name("weaver_gateway_connections")
                            .Help("Open REST gateway connections (waiting or being answered)")
                            .Register(r);
  gateway_connections_closed_ = &BuildCounter()
                                   .Name("weaver_gateway_connections_closed_total")
                                   .Help(
                                     "REST gateway connections the server closed or refused, by reason "
                                     "(idle, head_timeout, head_too_large, client_closed, "
                                     "max_connections, max_per_client)")
                                   .Register(r);
}

metrics::~metrics() = default;

Counter& metrics::frames_in(uint32_t c) { return frames_in_->Add({{"camera", std::to_string(c)}}); }
Counter& metrics::frames_dropped(uint32_t c, const std::string& reason) {
  return frames_dropped_->Add({{"camera", std::to_string(c)}, {"reason", reason}});
}
Counter& metrics::detections(uint32_t c) { return detections_->Add({{"camera", std::to_string(c)}}); }
Counter& metrics::bytes_raw(uint32_t c) { return bytes_raw_->Add({{"camera", std::to_string(c)}}); }
Counter& metrics::source_bytes(uint32_t c) { return source_bytes_->Add({{"camera", std::to_string(c)}}); }
Counter& metrics::link_bytes(const std::string& l) { return link_bytes_->Add({{"link", l}}); }
Counter& metrics::link_messages(const std::string& l) { return link_messages_->Add({{"link", l}}); }
Counter& metrics::link_rejected(const std::string& l, const std::string& reason) {
  return link_rejected_->Add({{"link", l}, {"reason", reason}});
}
Counter& metrics::mesh_auth_refused(const std::string& role, const std::string& reason) {
  return mesh_auth_refused_->Add({{"role", role}, {"reason", reason}});
}
Gauge& metrics::gateway_connections() { return gateway_connections_->Add({}); }
Counter& metrics::gateway_connections_closed(const std::string& reason) {
  return gateway_connections_closed_->Add({{"reason", reason}});
}
Gauge& metrics::link_senders(const std::string& l) { return link_senders_->Add({{"link", l}}); }
Counter& metrics::link_senders_forgotten(const std::string& l, const std::string& reason) {
  return link_senders_forgotten_->Add({{"link", l}, {"reason", reason}});
}
Counter& metrics::card_jobs(const std::string& card) { return card_jobs_->Add({{"card", card}}); }
Counter& metrics::card_errors(const std::string& card, const std::string& reason) {
  return card_errors_->Add({{"card", card}, {"reason", reason}});
}
Gauge& metrics::card_up(const std::string& card) { return card_up_->Add({{"card", card}}); }
Gauge& metrics::card_busy(const std::string& card) { return card_busy_->Add({{"card", card}}); }
Histogram& metrics::card_service(const std::string& card) {
  return card_service_->Add({{"card", card}}, latency_buckets_);
}
Gauge& metrics::pool_queue_depth(uint32_t c) { return pool_queue_depth_->Add({{"camera", std::to_string(c)}}); }
Histogram& metrics::pool_wait() { return pool_wait_->Add({}, latency_buckets_); }
Gauge& metrics::camera_up(uint32_t c) { return camera_up_->Add({{"camera", std::to_string(c)}}); }
Counter& metrics::zone_events(uint32_t c, const std::string& name, const std::string& kind) {
  return zone_events_->Add({{"camera", std::to_string(c)}, {"zone", name}, {"kind", kind}});
}
Gauge& metrics::link_up(const std::string& l) { return link_up_->Add({{"link", l}}); }
Counter& metrics::storage_errors(const std::string& reason) { return storage_errors_->Add({{"reason", reason}}); }
Counter& metrics::retention_deleted() { return retention_deleted_->Add({}); }
Counter& metrics::alerts(const std::string& kind) { return alerts_->Add({{"kind", kind}}); }
Counter& metrics::queries(const std::string& q) { return queries_->Add({{"query", q}}); }
Counter& metrics::query_errors(const std::string& q, const std::string& reason) {
  return query_errors_->Add({{"query", q}, {"reason", reason}});
}
Histogram& metrics::query_latency(const std::string& q) {
  return query_latency_->Add({{"query", q}}, latency_buckets_);
}
Counter& metrics::rows_written() { return rows_written_->Add({}); }
Gauge& metrics::queue_depth(uint32_t c) { return queue_depth_->Add({{"camera", std::to_string(c)}}); }
Gauge& metrics::tracks_active(uint32_t c) { return tracks_active_->Add({{"camera", std::to_string(c)}}); }
Counter& metrics::tracks_started(uint32_t c) { return tracks_started_->Add({{"camera", std::to_string(c)}}); }
Counter& metrics::identities() { return identities_->Add({}); }
Counter& metrics::live_ids(const std::string& outcome) { return live_ids_->Add({{"outcome", outcome}}); }

double metrics::counter_total(const std::string& family) const {
  double total = 0;
  for (const auto& f : registry_->Collect())
    if (f.name == family)
      for (const auto& m : f.metric) total += m.counter.value;
  return total;
}

Histogram& metrics::stage_latency(const std::string& stage) {
  return stage_latency_->Add({{"stage", stage}}, latency_buckets_);
}

Counter& metrics::gateway_requests(const std::string& route, int code) {
  return gateway_requests_->Add({{"route", route}, {"code", std::to_string(code)}});
}
Histogram& metrics::gateway_request_seconds(const std::string& route) {
  return gateway_request_seconds_->Add({{"route", route}}, latency_buckets_);
}
Gauge& metrics::gateway_sse_clients() { return gateway_sse_clients_->Add({}); }
Counter& metrics::gateway_sse_events() { return gateway_sse_events_->Add({}); }

metrics& metrics::global() {
  static metrics instance;
  return instance;
}

} // namespace weaver
