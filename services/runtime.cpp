#include "services/runtime.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "accel/detect/dnn_detector.hpp"
#include "actors/camera/camera_actor.hpp"
#include "actors/camera/video_source.hpp"
#include "actors/detector/detector_actor.hpp"
#include "actors/fpga_pool/fpga_pool.hpp"
#include "actors/query/query_actor.hpp"
#include "actors/query/seed_queries.hpp"
#include "actors/reid/reid_actor.hpp"
#include "actors/reid/reid_recording.hpp"
#include "actors/storage/shared_connection.hpp"
#include "actors/storage/storage_actor.hpp"
#include "actors/storage/store.hpp"
#include "actors/stream_progress.hpp"
#include "actors/tracker/tracker_actor.hpp"
#include "base/errors.hpp"
#include "base/iso8601.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"
#include "base/state_file.hpp"
#include "services/bridge.hpp"
#include "services/cards.hpp"
#include "services/gateway/gateway.hpp"
#include "services/health.hpp"
#include "services/mesh_security.hpp"
#include "services/roles.hpp"

namespace weaver {

nlohmann::json seed_answers(const config& cfg, sql::database& db) {
  nlohmann::json out;
  out["transitions"] = nlohmann::json::array();
  for (auto [from, to] : cfg.query.transitions) {
    auto r = count_transitions(db, from, to, INT64_MIN / 2, INT64_MAX / 2, cfg.query.max_transit_ms);
    auto j = to_json(r);
    j["max_transit_s"] = cfg.query.max_transit_ms / 1000.0;
    out["transitions"].push_back(j);
  }
  // The day the cameras' recordings start on.
  timestamp_ms day = cfg.cameras.front().start_ms;
  for (auto& c : cfg.cameras) day = std::min(day, c.start_ms);
  out["every_camera"] = to_json(people_on_every_camera(db, cfg.query.every_camera, utc_day_start(day)));
  return out;
}

namespace {

const logger log{"weaver"};

bool has(const std::set<std::string>& roles, const std::string& r) { return roles.count(r) > 0; }

// The run's counts, read from the counters /metrics exports (one count per
// fact). The registry is the process's: a run's counts are the difference
// between two readings (a process may run several, e.g. weaver eval).
// The links after detection, in pipeline order: what the summary calls
// bytes_sent. detector->tracker leaves the edge pod in the Helm chart.
constexpr std::array<const char*, 3> sent_links{"detector->tracker", "tracker->reid", "reid->storage"};

struct run_counts {
  double frames = 0, frames_dropped = 0, detections = 0, tracks = 0, identities = 0, presence_rows = 0, bytes_raw = 0,
         bytes_sent = 0, rejected = 0, zone_events = 0, bytes_source = 0;
  std::array<double, sent_links.size()> link_bytes{};

  static run_counts read() {
    auto& m = metrics::global();
    run_counts c;
    c.frames = m.counter_total("weaver_frames_total");
    c.frames_dropped = m.counter_total("weaver_frames_dropped_total");
    c.detections = m.counter_total("weaver_detections_total");
    c.tracks = m.counter_total("weaver_tracks_started_total");
    c.identities = m.counter_total("weaver_identities_total");
    c.presence_rows = m.counter_total("weaver_storage_rows_written_total");
    c.bytes_raw = m.counter_total("weaver_frame_bytes_total");
    c.bytes_source = m.counter_total("weaver_source_bytes_total");
    // What is sent after detection: the links of the stages after it.
    for (size_t i = 0; i < sent_links.size(); ++i) {
      c.link_bytes[i] = metrics::global().link_bytes(sent_links[i]).Value();
      c.bytes_sent += c.link_bytes[i];
    }
    c.rejected = m.counter_total("weaver_link_rejected_total");
    c.zone_events = m.counter_total("weaver_zone_events_total");
    return c;
  }
  run_counts since(const run_counts& b) const {
    run_counts d{frames - b.frames,           frames_dropped - b.frames_dropped, detections - b.detections,
                 tracks - b.tracks,           identities - b.identities,         presence_rows - b.presence_rows,
                 bytes_raw - b.bytes_raw,     bytes_sent - b.bytes_sent,         rejected - b.rejected,
                 zone_events - b.zone_events, bytes_source - b.bytes_source,     {}};
    for (size_t i = 0; i < link_bytes.size(); ++i) d.link_bytes[i] = link_bytes[i] - b.link_bytes[i];
    return d;
  }
};

uint64_t count(double x) { return static_cast<uint64_t>(std::llround(x)); }

// One HTTP port (metrics.port) serves /metrics, /healthz and /readyz.
// Returns an error naming the key, or "".
std::string serve_health(const config& cfg, const std::shared_ptr<health_registry>& health,
                         std::unique_ptr<health_server>& http) {
  if (cfg.metrics_port == 0) return {};
  try {
    http = std::make_unique<health_server>(health);
    http->add_collectable(metrics::global().registry_ptr());
    http->start(cfg.metrics_bind, cfg.metrics_port);
    return {};
  } catch (const std::exception& e) {
    return "metrics.port: cannot serve on " + cfg.metrics_bind + ":" + std::to_string(cfg.metrics_port) + ": "
      + e.what();
  }
}

// A DNN detector's model is checked (imported and compiled) before the mesh
// starts, so a broken file is a setup error, not per-frame failures.
// Returns an error naming the key, or "".
std::string check_model(const config& cfg, health_registry& health) {
  if (!dnn_detector_kind(cfg.detector.kind)) return {};
  auto model = health.add_flag("model", probe_kind::readiness, false, "compiling " + cfg.detector.dnn.model);
  try {
    auto o = cfg.detector.dnn;
    o.kind = cfg.detector.kind;
    dnn_detector(o).check(); // compiles, and the configured head fits its outputs
    model->set(true, "compiled: " + cfg.detector.dnn.model);
    return {};
  } catch (const std::exception& e) {
    return "detector.dnn.model: " + cfg.detector.dnn.model + ": " + e.what();
  }
}

// How long an upstream that still waits for an acknowledgement stays silent
// at most: its resend delay, and a little more.
constexpr auto upstream_quiet = zmq_outbound::default_resend_after + std::chrono::milliseconds{500};

// Our last acknowledgements must reach the upstream before we go, and an
// upstream that lost one resends after its resend delay: keep serving until
// the links have been quiet for upstream_quiet (at most 10 s).
void linger_for_acks(const std::vector<std::shared_ptr<zmq_inbound>>& sockets) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::seconds{10};
  auto quiet = [&] {
    for (auto& s : sockets)
      if (clock::now() - clock::time_point{clock::duration{s->last_message()}} < upstream_quiet) return false;
    return true;
  };
  while (!quiet() && clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds{50});
}

// The cameras whose end of stream this node's durable state already holds.
// The inbound bridge hands the stream to the most upstream local role, and
// that role saves an end only once everything downstream of it took the end.
// A detector keeps no state and storage no record of ends: none then.
std::set<uint32_t> ended_before_start(const config& cfg, const std::set<std::string>& roles) {
  std::string file;
  if (has(roles, "detector")) return {};
  if (has(roles, "tracker"))
    file = cfg.tracker.state_file;
  else if (has(roles, "reid"))
    file = cfg.reid.state_file;
  if (file.empty()) return {};
  auto text = state_file{file}.load();
  return text ? ended_in_snapshot(*text) : std::set<uint32_t>{};
}

// One progress line: frames per second per camera since the last one, and
// the run's counts. Returns the frame count it read.
uint64_t report_progress(const config& cfg, const run_counts& start, uint64_t last_frames, double dt) {
  std::string line;
  for (auto& c : cfg.cameras) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " cam%u %.0f", c.id, metrics::global().frames_in(c.id).Value());
    line += buf;
  }
  auto c = run_counts::read().since(start);
  uint64_t frames = count(c.frames);
  char head[160];
  std::snprintf(head, sizeof head, "progress: %.1f frames/s per camera; frames:",
                (frames - last_frames) / dt / std::max<size_t>(1, cfg.cameras.size()));
  log.info(head, line, "; detections ", count(c.detections), ", tracks ", count(c.tracks), ", rows ",
           count(c.presence_rows), ", dropped ", count(c.frames_dropped));
  return frames;
}

// The run summary (`--summary`): the run's counts, read from the counters
// /metrics exports, and what the store holds when the storage role is here.
nlohmann::json summary_of(const config& cfg, const std::set<std::string>& roles, bool embedded, double elapsed,
                          const run_counts& s, const std::vector<std::string>& source_errors,
                          const std::vector<std::string>& card_names, store* db) {
  nlohmann::json j;
  j["mode"] = embedded ? "embedded" : "node";
  j["roles"] = std::vector<std::string>(roles.begin(), roles.end());
  j["elapsed_s"] = elapsed;
  j["frames"] = count(s.frames);
  j["frames_dropped"] = count(s.frames_dropped);
  j["fps"] = elapsed > 0 ? count(s.frames) / elapsed : 0.0;
  j["detections"] = count(s.detections);
  j["tracks"] = count(s.tracks);
  j["identities"] = count(s.identities);
  j["bytes_raw"] = count(s.bytes_raw);
  j["bytes_sent"] = count(s.bytes_sent);
  j["compression_ratio"] = count(s.bytes_sent) > 0 ? double(count(s.bytes_raw)) / count(s.bytes_sent) : 0.0;
  // Against what shipping the video itself would cost (issue 17): the
  // sources' compressed bytes for the same frames, each source once.
  j["bytes_source"] = count(s.bytes_source);
  j["compression_ratio_source"] = count(s.bytes_sent) > 0 ? double(count(s.bytes_source)) / count(s.bytes_sent) : 0.0;
  {
    auto ratio = [](double num, uint64_t den) { return den > 0 ? num / double(den) : 0.0; };
    nlohmann::json links = nlohmann::json::object();
    for (size_t i = 0; i < sent_links.size(); ++i) {
      const uint64_t b = count(s.link_bytes[i]);
      links[sent_links[i]] = {{"bytes", b},
                              {"vs_source", ratio(double(count(s.bytes_source)), b)},
                              {"vs_raw", ratio(double(count(s.bytes_raw)), b)}};
    }
    j["links"] = links;
  }
  j["rejected_messages"] = count(s.rejected);
  j["zone_events"] = count(s.zone_events);
  j["detector"] = cfg.detector.kind;
  j["source_errors"] = source_errors;
  nlohmann::json cj = nlohmann::json::array();
  for (auto& name : card_names)
    cj.push_back({{"name", name},
                  {"jobs", metrics::global().card_jobs(name).Value()},
                  {"errors",
                   metrics::global().card_errors(name, "error").Value()
                     + metrics::global().card_errors(name, "timeout").Value()}});
  j["cards"] = cj;
  nlohmann::json cams = nlohmann::json::array();
  for (auto& c : cfg.cameras)
    cams.push_back({{"id", c.id},
                    {"name", c.name},
                    {"zone", c.zone},
                    {"frames", metrics::global().frames_in(c.id).Value()},
                    {"detections", metrics::global().detections(c.id).Value()}});
  j["cameras"] = cams;
  if (db) {
    j["storage"] = sql::shown_location(cfg.storage_path);
    j["presence_rows"] = db->presence_count();
    j["people"] = db->person_count();
    j["queries"] = seed_answers(cfg, db->db());
    nlohmann::json alerts = nlohmann::json::object();
    for (auto& [kind, n] : db->event_counts()) alerts[kind] = n;
    j["alerts"] = alerts;
    j["zone_visits"] = db->zone_visit_count();
  }
  return j;
}

} // namespace

int probe_config(const config& cfg, std::ostream& out, bool network) {
  int failed = 0;
  for (auto& g : group_cameras(cfg.cameras)) {
    if (is_remote_source(g.source)) continue; // another node's camera: it checks it
    video_source src{g.source, g.cameras.front().input};
    if (!network && !src.is_file()) continue; // a camera may be offline while its config is fine
    std::string err;
    if (src.open(&err)) {
      cv::Mat first;
      bool frame = src.read(first) && !first.empty();
      out << "camera " << g.ids() << ": " << (frame ? "ok: " : "opened but no frame: ") << src.describe() << "\n";
      failed += frame ? 0 : 1;
    } else {
      out << "camera " << g.ids() << ": " << err << "\n";
      ++failed;
    }
  }
  if (dnn_detector_kind(cfg.detector.kind)) {
    try {
      auto o = cfg.detector.dnn;
      o.kind = cfg.detector.kind;
      dnn_detector(o).check();
      out << "detector: ok: " << cfg.detector.kind << " model " << cfg.detector.dnn.model
          << " compiles, its heads fit\n";
    } catch (const std::exception& e) {
      out << "detector: " << cfg.detector.dnn.model << ": " << e.what() << "\n";
      ++failed;
    }
  }
  return failed > 0 ? 1 : 0;
}

run_result run_mesh(const config& cfg, const run_options& opts) {
  run_result result;
  const bool embedded = opts.roles.empty();
  std::set<std::string> roles(opts.roles.begin(), opts.roles.end());
  if (embedded) roles = {known_roles().begin(), known_roles().end()};
  auto stats = std::make_shared<run_stats>();
  // File sources that failed for good (undecodable, truncated): the run
  // finishes the other cameras, then reports them (summary, exit status).
  struct error_list {
    std::mutex mutex;
    std::vector<std::string> errors;
    void add(const std::string& e) {
      std::lock_guard<std::mutex> lock{mutex};
      errors.push_back(e);
    }
    std::vector<std::string> take() {
      std::lock_guard<std::mutex> lock{mutex};
      return std::move(errors);
    }
  };
  auto source_errors = std::make_shared<error_list>();
  const auto counts_at_start = run_counts::read();
  // Liveness: the main loop below still turns. Readiness: what this process
  // needs to do its work (model, cards, store, downstream links) is there.
  auto health = std::make_shared<health_registry>();
  auto heartbeat = std::make_shared<std::atomic<int64_t>>(steady_now_ns());
  health->add("main_loop", probe_kind::liveness, [heartbeat] {
    auto age_ms = (steady_now_ns() - heartbeat->load()) / 1'000'000;
    return check_result{age_ms < 10'000, "last turn " + std::to_string(age_ms) + " ms ago"};
  });
  std::unique_ptr<health_server> http;
  if (auto error = serve_health(cfg, health, http);
      !error.empty() || (has(roles, "detector") && !(error = check_model(cfg, *health)).empty())) {
    result.exit_code = 1;
    result.error = error;
    return result;
  }
  caf::actor_system_config sys_cfg;
  add_error_category(sys_cfg);
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};
  std::unique_ptr<gateway_server> gateway; // before sys goes: declared after it
  auto t_start = std::chrono::steady_clock::now();
  mesh_context mesh{cfg, opts, roles, sys, health, stats};
  std::vector<caf::actor> bridges; // inbound bridges to stop at the end
  std::vector<std::shared_ptr<zmq_inbound>> sockets;
  std::vector<caf::actor> cameras;
  std::unique_ptr<sql::shared_connection> connection; // the storage role's, when here
  std::shared_ptr<store> db;
  query_actor local_query; // a local query role: runs the alert rules once more at the end
  try {
    if (has(roles, "storage")) {
      if (opts.reset) roles::reset_state_files(cfg);
      connection = roles::open_store(mesh);
      db = std::make_shared<store>(connection->handle());
    }
    // Build from the sink upwards; a role hosted elsewhere becomes an
    // outbound bridge when a local role sends to it.
    auto sto = roles::make_storage(mesh, db);
    auto rei = roles::make_reid(mesh, sto);
    auto trk = roles::make_tracker(mesh, rei);
    auto det = roles::make_detector(mesh, trk);
    auto qry = roles::make_query(mesh, connection.get());
    local_query = qry;
    gateway = roles::make_gateway(mesh, qry);
    // Inbound bridges: a local role whose upstream runs elsewhere listens.
    inbound_targets t;
    t.detector = det;
    t.tracker = trk;
    t.reid = rei;
    t.storage = sto;
    t.query = qry;
    t.watcher = caf::actor_cast<caf::actor>(self);
    for (auto& link : roles::make_inbound(mesh, t)) {
      bridges.push_back(link.bridge);
      sockets.push_back(link.socket);
    }
    camera_options co;
    co.failed = [source_errors](const std::string& e) { source_errors->add(e); };
    co.realtime = cfg.realtime;
    co.max_frames = opts.max_frames;
    co.stop = opts.stop;
    cameras = roles::make_cameras(mesh, det, co);
    for (auto& cam : cameras) self->monitor(cam);
  } catch (const std::exception& e) {
    result.exit_code = 1;
    result.error = e.what();
  }

  // Wait: for local cameras to finish (their end of stream is acknowledged
  // once everything before it is stored), else for every camera's end of
  // stream to pass this node's inbound bridge.
  std::set<uint32_t> pending_eos;
  for (auto& c : cfg.cameras) pending_eos.insert(c.id);
  size_t cameras_running = cameras.size();
  // Only the roles the video flows through see its end; a node of query and
  // gateway roles serves until it is stopped.
  const bool on_stream = has(roles, "detector") || has(roles, "tracker") || has(roles, "reid") || has(roles, "storage");
  bool waits_for_eos = cameras.empty() && !bridges.empty() && on_stream;
  // A node restarted after its stream ended (killed while it lingered) would
  // wait for an end of stream its upstream, acknowledged and gone, never
  // sends again. Its durable state says which cameras ended: it waits for
  // those only if its upstream is still sending (a re-sent end it had not
  // acknowledged, a replay); after one resend delay of silence it is done.
  std::set<uint32_t> ended_at_start;
  if (waits_for_eos)
    for (auto camera : ended_before_start(cfg, roles))
      if (pending_eos.erase(camera) > 0) ended_at_start.insert(camera);
  if (!ended_at_start.empty())
    log.info("the restored state ended ", ended_at_start.size(), " camera(s)' stream already",
             pending_eos.empty() ? ": done unless the upstream sends more" : "");
  const auto grace_end = std::chrono::steady_clock::now() + upstream_quiet;
  auto upstream_sent = [&sockets] {
    return std::any_of(sockets.begin(), sockets.end(), [](auto& s) { return s->last_message() != 0; });
  };
  auto last_report = std::chrono::steady_clock::now();
  uint64_t last_frames = 0;
  while (result.exit_code == 0 && !opts.stop->load()) {
    if (!ended_at_start.empty() && upstream_sent()) {
      pending_eos.insert(ended_at_start.begin(), ended_at_start.end());
      ended_at_start.clear();
    }
    if (!cameras.empty() && cameras_running == 0) break;
    if (waits_for_eos && pending_eos.empty()
        && (ended_at_start.empty() || std::chrono::steady_clock::now() >= grace_end))
      break;
    if (cameras.empty() && !waits_for_eos && bridges.empty() && !gateway) break;
    heartbeat->store(steady_now_ns());
    self->receive([&](caf::down_msg&) { --cameras_running; },
                  [&](done_atom, uint32_t camera) {
                    pending_eos.erase(camera);
                    ended_at_start.erase(camera);
                  },
                  caf::after(std::chrono::milliseconds{250}) >> [] {});
    auto now = std::chrono::steady_clock::now();
    if (!opts.quiet && now - last_report >= std::chrono::seconds{2}) {
      last_frames =
        report_progress(cfg, counts_at_start, last_frames, std::chrono::duration<double>(now - last_report).count());
      last_report = now;
    }
  }
  // A stop drains: each camera sees it, finishes the frame in hand and sends
  // its end of stream, answered once everything before it is stored. Killing
  // the detector first would leave a camera waiting forever for the answer
  // to a frame the detector had not yet admitted. Bounded: a dead peer may
  // never answer (main() leaves after 10 s regardless).
  if (result.exit_code == 0 && opts.stop->load() && cameras_running > 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{7};
    while (cameras_running > 0 && std::chrono::steady_clock::now() < deadline)
      self->receive([&](caf::down_msg&) { --cameras_running; }, [&](done_atom, uint32_t) {},
                    caf::after(std::chrono::milliseconds{100}) >> [] {});
    if (cameras_running > 0) log.warn("stop: ", cameras_running, " camera(s) did not drain within 7 s");
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  if (result.exit_code == 0 && !opts.stop->load()) linger_for_acks(sockets);
  if (opts.stop->load() && result.exit_code == 0) log.warn("stop requested: shutting down");
  // The standing queries see the last rows before the run ends.
  if (local_query && result.exit_code == 0 && !cfg.query.alerts.empty())
    self->request(local_query, std::chrono::seconds{30}, flush_atom::value)
      .receive([](caf::ok_atom) {}, [](caf::error& e) { log.warn("alerts at the end: ", to_string(e)); });
  if (gateway) gateway->stop(); // ends its alert streams; no new queries
  // Stop everything; bridges first so no new work arrives.
  for (auto& b : bridges) self->send_exit(b, caf::exit_reason::user_shutdown);
  for (auto& c : cameras) self->send_exit(c, caf::exit_reason::user_shutdown);
  for (auto& a : mesh.locals) self->send_exit(a, caf::exit_reason::user_shutdown);
  if (result.exit_code != 0) return result;

  result.summary = summary_of(cfg, roles, embedded, elapsed, run_counts::read().since(counts_at_start),
                              source_errors->take(), mesh.card_names, db.get());
  return result;
}

} // namespace weaver
