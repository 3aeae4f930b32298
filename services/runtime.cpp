#include "services/runtime.hpp"

#include "actors/detector/dnn_detector.hpp"

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

#include "actors/camera/camera_actor.hpp"
#include "actors/camera/video_source.hpp"
#include "actors/detector/detector_actor.hpp"
#include "actors/detector/dnn_detector.hpp"
#include "actors/errors.hpp"
#include "actors/fpga_pool/fpga_pool.hpp"
#include "actors/query/query_actor.hpp"
#include "actors/query/seed_queries.hpp"
#include "actors/reid/reid_actor.hpp"
#include "actors/storage/storage_actor.hpp"
#include "actors/storage/shared_connection.hpp"
#include "actors/storage/store.hpp"
#include "actors/tracker/tracker_actor.hpp"
#include "services/bridge.hpp"
#include "services/cards.hpp"
#include "services/eval_replay.hpp"
#include "services/gateway/gateway.hpp"
#include "services/health.hpp"
#include "services/iso8601.hpp"
#include "services/log.hpp"
#include "services/mesh_security.hpp"
#include "services/metrics.hpp"

namespace weaver {

nlohmann::json seed_answers(const config& cfg, sql::database& db) {
  nlohmann::json out;
  out["transitions"] = nlohmann::json::array();
  for (auto [from, to] : cfg.query.transitions) {
    auto r = count_transitions(db, from, to, INT64_MIN / 2, INT64_MAX / 2,
                               cfg.query.max_transit_ms);
    auto j = to_json(r);
    j["max_transit_s"] = cfg.query.max_transit_ms / 1000.0;
    out["transitions"].push_back(j);
  }
  // The day the cameras' recordings start on.
  timestamp_ms day = cfg.cameras.front().start_ms;
  for (auto& c : cfg.cameras) day = std::min(day, c.start_ms);
  out["every_camera"] = to_json(people_on_every_camera(db, cfg.query.every_camera,
                                                       utc_day_start(day)));
  return out;
}

namespace {

const logger log{"weaver"};

bool has(const std::set<std::string>& roles, const std::string& r) { return roles.count(r) > 0; }

std::string endpoint_of(const config& cfg, const std::string& role) {
  auto it = cfg.mesh.endpoints.find(role);
  if (it == cfg.mesh.endpoints.end())
    throw config_error("mesh.endpoints." + role,
                       "required: role '" + role + "' runs in another process");
  return it->second;
}

// A readiness check for an outbound link: its messages are acknowledged.
std::string watch_link(health_registry& health, const std::string& link) {
  health.add("link:" + link, probe_kind::readiness, [link] {
    bool up = metrics::global().link_up(link).Value() > 0;
    return check_result{up, up ? "acknowledging" : "no acknowledgement: resending"};
  });
  return link;
}

// The run's counts, read from the counters /metrics exports (one count per
// fact). The registry is the process's: a run's counts are the difference
// between two readings (a process may run several, e.g. weaver eval).
// The links after detection, in pipeline order: what the summary calls
// bytes_sent. detector->tracker leaves the edge pod in the Helm chart.
constexpr std::array<const char*, 3> sent_links{"detector->tracker", "tracker->reid", "reid->storage"};

struct run_counts {
  double frames = 0, frames_dropped = 0, detections = 0, tracks = 0, identities = 0,
         presence_rows = 0, bytes_raw = 0, bytes_sent = 0, rejected = 0, zone_events = 0,
         bytes_source = 0;
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
    run_counts d{frames - b.frames, frames_dropped - b.frames_dropped, detections - b.detections,
                 tracks - b.tracks, identities - b.identities, presence_rows - b.presence_rows,
                 bytes_raw - b.bytes_raw, bytes_sent - b.bytes_sent, rejected - b.rejected,
                 zone_events - b.zone_events, bytes_source - b.bytes_source, {}};
    for (size_t i = 0; i < link_bytes.size(); ++i) d.link_bytes[i] = link_bytes[i] - b.link_bytes[i];
    return d;
  }
};

uint64_t count(double x) { return static_cast<uint64_t>(std::llround(x)); }

pool_settings pool_settings_of(const config& cfg) {
  pool_settings p;
  p.sched.queue_per_camera = cfg.pool.queue_per_camera;
  p.sched.depth = cfg.pool.depth;
  p.sched.policy = cfg.pool.policy == "round_robin" ? placement::round_robin
                                                    : placement::earliest_completion;
  p.sched.max_age_ns = cfg.realtime ? cfg.detector.max_age_ms * 1'000'000 : 0;
  // A camera's admitted frames may run on several cards at once (the
  // detector puts them back in order, and sends a stateful detector's
  // frames one by one itself).
  p.sched.max_in_flight_per_camera = cfg.detector.queue;
  p.card_timeout_ms = cfg.pool.card_timeout_ms;
  p.probe_ms = cfg.pool.probe_ms;
  return p;
}

// Real time: the detector's engine for each camera, made and run once on a
// blank frame of the camera's size (a crop's size, or the source's, opened
// once to read it; a live source that is down is skipped and warms on its
// first frames), and each card prepared with it (its workers' buffers), so
// no frame is dropped waiting for a model to compile or buffers to be built.
// DNN detectors only: the others start at once.
std::map<uint32_t, std::vector<std::shared_ptr<detector>>> prepare_engines(
    const config& cfg, const std::vector<std::shared_ptr<card>>& cards, health_registry& health) {
  std::map<uint32_t, std::vector<std::shared_ptr<detector>>> prepared;
  if (!dnn_detector_kind(cfg.detector.kind)) return prepared;
  auto flag = health.add_flag("engines", probe_kind::readiness, false, "preparing the detector's engines");
  const auto options = detector_options_of(cfg.detector);
  size_t made = 0;
  std::set<std::pair<int, int>> sizes;  // the cards are prepared once per frame size
  auto t0 = std::chrono::steady_clock::now();
  for (auto& g : group_cameras(cfg.cameras)) {
    cv::Size source_size;
    for (auto& c : g.cameras) {
      cv::Size size;
      if (c.crop) {
        size = {(*c.crop)[2], (*c.crop)[3]};
      } else {
        if (source_size.empty() && !is_remote_source(g.source)) {
          video_source probe{g.source, c.input};
          std::string err;
          if (probe.open(&err)) source_size = {probe.width(), probe.height()};
        }
        size = source_size;
      }
      if (size.empty()) continue;
      auto blank = std::make_shared<frame>();
      blank->camera_id = c.id;
      blank->image = cv::Mat::zeros(size, CV_8UC3);
      try {
        std::shared_ptr<detector> d = make_detector(cfg.detector.kind, options);
        static_cast<dnn_detector&>(*d).compiled(size);  // the model and the heads, no buffers
        if (sizes.insert({size.width, size.height}).second)
          for (auto& card : cards) card->prepare(inference_job{blank, d, 0});
        prepared[c.id].push_back(std::move(d));
        ++made;
      } catch (const std::exception& e) {
        log.warn("detector: cannot prepare for camera ", c.id, " (", size.width, "x", size.height, "): ", e.what());
      }
    }
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  flag->set(true, "prepared " + std::to_string(made) + " engine(s) in " + std::to_string(ms) + " ms");
  log.info("detector: prepared ", made, " engine(s) for the cameras in ", ms, " ms");
  return prepared;
}

} // namespace

int probe_config(const config& cfg, std::ostream& out, bool network) {
  int failed = 0;
  for (auto& g : group_cameras(cfg.cameras)) {
    if (is_remote_source(g.source)) continue;  // another node's camera: it checks it
    video_source src{g.source, g.cameras.front().input};
    if (!network && !src.is_file()) continue;  // a camera may be offline while its config is fine
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
      shared_model(cfg.detector.dnn, 0, 0);
      out << "detector: ok: " << cfg.detector.kind << " model " << cfg.detector.dnn.model << " compiles\n";
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
  };
  auto source_errors = std::make_shared<error_list>();
  const auto counts_at_start = run_counts::read();
  // One HTTP port (metrics.port) serves /metrics, /healthz and /readyz.
  // Liveness: the main loop below still turns. Readiness: what this process
  // needs to do its work (model, cards, store, downstream links) is there.
  auto health = std::make_shared<health_registry>();
  auto heartbeat = std::make_shared<std::atomic<int64_t>>(steady_now_ns());
  health->add("main_loop", probe_kind::liveness, [heartbeat] {
    auto age_ms = (steady_now_ns() - heartbeat->load()) / 1'000'000;
    return check_result{age_ms < 10'000, "last turn " + std::to_string(age_ms) + " ms ago"};
  });
  std::unique_ptr<health_server> http;
  try {
    if (cfg.metrics_port > 0) {
      http = std::make_unique<health_server>(health);
      http->add_collectable(metrics::global().registry_ptr());
      http->start(cfg.metrics_bind, cfg.metrics_port);
    }
  } catch (const std::exception& e) {
    result.exit_code = 1;
    result.error = "metrics.port: cannot serve on " + cfg.metrics_bind + ":"
                   + std::to_string(cfg.metrics_port) + ": " + e.what();
    return result;
  }
  // A DNN detector's model is checked (imported and compiled) before the
  // mesh starts, so a broken file is a setup error, not per-frame failures.
  if (has(roles, "detector") && dnn_detector_kind(cfg.detector.kind)) {
    auto model = health->add_flag("model", probe_kind::readiness, false, "compiling " + cfg.detector.dnn.model);
    try {
      shared_model(cfg.detector.dnn, 0, 0);
      model->set(true, "compiled: " + cfg.detector.dnn.model);
    } catch (const std::exception& e) {
      result.exit_code = 1;
      result.error = "detector.dnn.model: " + cfg.detector.dnn.model + ": " + e.what();
      return result;
    }
  }
  caf::actor_system_config sys_cfg;
  add_error_category(sys_cfg);
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};
  std::unique_ptr<gateway_server> gateway;   // before sys goes: declared after it
  auto t_start = std::chrono::steady_clock::now();
  std::vector<caf::actor> bridges;    // inbound bridges to stop at the end
  std::vector<std::shared_ptr<zmq_inbound>> sockets;
  std::vector<caf::actor> cameras;
  std::vector<caf::actor> locals;     // every other actor, to stop at the end
  std::unique_ptr<sql::shared_connection> connection;  // the storage role's, when here
  std::shared_ptr<store> db;
  query_actor local_query;            // a local query role: runs the alert rules once more at the end
  std::vector<std::string> card_names;
  // The mesh's keys, resolved when the first remote link is made: the
  // embedded run has none and needs none.
  std::optional<mesh_keys> keys;
  auto security = [&]() -> const mesh_keys& {
    if (!keys) {
      keys = resolve_mesh_keys(cfg.mesh, {roles.begin(), roles.end()});
      if (!keys->curve)
        log.warn("mesh.security: plain: the mesh links are neither authenticated nor encrypted; "
                 "anyone who reaches an endpoint can send to it");
    }
    return *keys;
  };
  // The endpoint is checked first, so a missing one is named before keys.
  auto outbound_security = [&](const std::string& role) {
    endpoint_of(cfg, role);
    return security().outbound(role);
  };
  try {
    if (has(roles, "storage")) {
      const bool pg = sql::is_postgres_location(cfg.storage_path);
      if (opts.reset && !pg && cfg.storage_path != ":memory:") {
        for (auto suffix : {"", "-wal", "-shm"})
          std::filesystem::remove(cfg.storage_path + suffix);
      }
      // A reset store starts identities afresh too.
      if (opts.reset && !cfg.reid.state_file.empty()) std::filesystem::remove(cfg.reid.state_file);
      if (opts.reset && !cfg.tracker.state_file.empty()) std::filesystem::remove(cfg.tracker.state_file);
      auto open = health->add_flag("store", probe_kind::readiness, false,
                                   "opening " + sql::shown_location(cfg.storage_path));
      // One connection for the roles here that use the store (storage,
      // query): an in-memory database exists on its own connection only.
      connection = std::make_unique<sql::shared_connection>(sql::open_database(cfg.storage_path));
      db = std::make_shared<store>(connection->handle());
      if (opts.reset && pg) db->clear();
      open->set(true, "open: " + db->db().describe());
      for (auto& c : cfg.cameras) {
        db->upsert_camera(c.id, c.name, c.zone);
        for (auto& z : c.zones) db->upsert_zone(c.id, z.name);
      }
    }
    // Build from the sink upwards; a role hosted elsewhere becomes an
    // outbound bridge when a local role sends to it.
    std::vector<uint32_t> camera_ids;
    for (auto& c : cfg.cameras) camera_ids.push_back(c.id);
    storage_actor sto;
    if (has(roles, "storage")) {
      storage_settings ss;
      ss.retention_ms = cfg.retention_ms;
      ss.resolve = cfg.reid.schedule;
      ss.resolver = cfg.reid.resolver;
      sto = sys.spawn(storage_actor_impl, db, stats, ss);
      locals.push_back(caf::actor_cast<caf::actor>(sto));
    } else if (has(roles, "reid")) {
      sto = spawn_outbound<storage_actor>(sys, watch_link(*health, "reid->storage"), endpoint_of(cfg, "storage"), stats,
                                              outbound_security("storage"));
      locals.push_back(caf::actor_cast<caf::actor>(sto));
    }
    reid_actor rei;
    if (has(roles, "reid")) {
      reid_config rc = cfg.reid;
      reid_tap tap;
      if (!opts.tracks_dir.empty()) {
        // Re-id's input beside the tracks, for `weaver eval crosscam --replay`.
        std::filesystem::create_directories(opts.tracks_dir);
        auto rec = std::make_shared<reid_recorder>(reid_recording_path(opts.tracks_dir));
        tap.batch = [rec](const track_batch& b) { rec->write(b); };
        tap.end = [rec](const end_of_stream& e) { rec->write(e); };
      }
      rei = sys.spawn(reid_actor_impl, rc, camera_ids, sto, stats, cfg.reid.state_file, std::move(tap));
      locals.push_back(caf::actor_cast<caf::actor>(rei));
    } else if (has(roles, "tracker")) {
      rei = spawn_outbound<reid_actor>(sys, watch_link(*health, "tracker->reid"), endpoint_of(cfg, "reid"), stats,
                                              outbound_security("reid"));
      locals.push_back(caf::actor_cast<caf::actor>(rei));
    }
    tracker_actor trk;
    if (has(roles, "tracker")) {
      sort_config sc;
      sc.iou_threshold = cfg.tracker.iou_threshold;
      sc.max_age = cfg.tracker.max_age;
      sc.min_hits = cfg.tracker.min_hits;
      tracker_extras extras;
      for (auto& c : cfg.cameras) extras.zones.emplace_back(c.id, c.zones, c.lines);
      if (!opts.tracks_dir.empty()) extras.log = std::make_shared<detection_log>(opts.tracks_dir);
      extras.dnn_appearance = cfg.tracker.appearance == "dnn";
      extras.kind = cfg.tracker.kind;
      extras.state_file = cfg.tracker.state_file;
      extras.deep = cfg.tracker.deep;
      extras.deep.use_embedding = false;  // the feature field carries the chosen appearance
      extras.compact = cfg.mesh.compact;
      if (cfg.tracker.repair != "off") {
        tracklet_repair_config rc;
        rc.fill = cfg.tracker.repair == "fill";
        extras.repair = rc;
      }
      trk = sys.spawn(tracker_actor_impl, sc, rei, stats, extras);
      locals.push_back(caf::actor_cast<caf::actor>(trk));
    } else if (has(roles, "detector")) {
      trk = spawn_outbound<tracker_actor>(sys, watch_link(*health, "detector->tracker"), endpoint_of(cfg, "tracker"), stats,
                                              outbound_security("tracker"));
      locals.push_back(caf::actor_cast<caf::actor>(trk));
    }
    detector_actor det;
    if (has(roles, "detector")) {
      auto cards = make_cards(cfg);
      for (auto& c : cards) card_names.push_back(c->name());
      health->add("cards", probe_kind::readiness, [card_names] {
        int up = 0;
        for (auto& n : card_names) up += metrics::global().card_up(n).Value() > 0;
        return check_result{up > 0, std::to_string(up) + " of " + std::to_string(card_names.size())
                                        + " card(s) up"};
      });
      auto pool = sys.spawn(fpga_pool, cards, pool_settings_of(cfg), stats);
      detector_settings ds;
      ds.kind = cfg.detector.kind;
      ds.options = detector_options_of(cfg.detector);
      ds.queue = cfg.detector.queue;
      ds.realtime = cfg.realtime;
      ds.stateless = stateless_detector(cfg.detector.kind);
      if (cfg.mesh.compact)
        ds.compact = cfg.tracker.appearance == "dnn" ? compact::appearance::dnn : compact::appearance::handcrafted;
      if (!opts.detections_dir.empty()) ds.log = std::make_shared<detection_log>(opts.detections_dir);
      // The cameras start after this, once the engines are ready.
      if (cfg.realtime && has(roles, "camera")) ds.prepared = prepare_engines(cfg, cards, *health);
      det = sys.spawn(detector_actor_impl, ds, pool, trk, stats);
      locals.push_back(caf::actor_cast<caf::actor>(pool));
      locals.push_back(caf::actor_cast<caf::actor>(det));
    } else if (has(roles, "camera")) {
      det = spawn_outbound<detector_actor>(sys, watch_link(*health, "camera->detector"), endpoint_of(cfg, "detector"), stats,
                                              outbound_security("detector"));
      locals.push_back(caf::actor_cast<caf::actor>(det));
    }
    query_actor qry;
    if (has(roles, "query")) {
      query_settings qs;
      qs.default_max_transit_ms = cfg.query.max_transit_ms;
      qs.max_stay_ms = cfg.query.max_stay_ms;
      qs.alerts = cfg.query.alerts;
      qs.alert_every = std::chrono::milliseconds{cfg.query.alert_poll_ms};
      auto qdb = connection ? std::make_shared<store>(connection->handle()) : std::shared_ptr<store>(store::open(cfg.storage_path));
      qry = sys.spawn(query_actor_impl, qdb, qs);
      local_query = qry;
      locals.push_back(caf::actor_cast<caf::actor>(qry));
    }
    // REST gateway: a `gateway` node always (gateway.port required); the
    // embedded run when gateway.port is set. In front of the local query
    // actor, else of the query role's endpoint.
    if (has(roles, "gateway") && (!embedded || cfg.gateway_port > 0)) {
      if (cfg.gateway_port == 0) throw config_error("gateway.port", "required for the gateway role");
      auto settings = gateway_settings_of(cfg);   // tokens first: refuse before connecting
      query_actor target = qry;
      if (!target) {
        target = spawn_outbound<query_actor>(sys, watch_link(*health, "gateway->query"),
                                             endpoint_of(cfg, "query"), stats, outbound_security("query"));
        locals.push_back(caf::actor_cast<caf::actor>(target));
      }
      auto sources = std::make_shared<metrics_sources>();
      sources->add(metrics::global().registry_ptr());
      gateway = std::make_unique<gateway_server>(sys, target, settings, health, sources);
      gateway->start();
      health->add_flag("gateway", probe_kind::readiness, true,
                       "serving on " + cfg.gateway.bind + ":" + std::to_string(gateway->port()));
    }
    // Inbound bridges: a local role whose upstream runs elsewhere listens.
    if (!embedded) {
      static const std::vector<std::pair<std::string, std::string>> upstream{
        {"detector", "camera"}, {"tracker", "detector"}, {"reid", "tracker"},
        {"storage", "reid"}, {"query", ""}};
      for (auto& [role, up] : upstream) {
        if (!has(roles, role) || (!up.empty() && has(roles, up))) continue;
        if (role == "query" && cfg.mesh.endpoints.count("query") == 0) continue;
        inbound_targets t;
        t.role = role;
        t.detector = det;
        t.tracker = trk;
        t.reid = rei;
        t.storage = sto;
        t.query = qry;
        t.watcher = caf::actor_cast<caf::actor>(self);
        auto endpoint = endpoint_of(cfg, role);
        auto link = spawn_inbound(sys, endpoint, t, stats, security().inbound(role, up.empty() ? "gateway" : up));
        health->add_flag("inbound:" + role, probe_kind::readiness, true, "listening on " + endpoint);
        bridges.push_back(link.bridge);
        sockets.push_back(link.socket);
      }
    }
    if (has(roles, "camera")) {
      // A source that cannot be opened, now or later, is retried with
      // back-off by its camera actor (files are not): the other cameras run
      // on, and readiness names the camera that is down and why.
      for (auto& c : cfg.cameras)
        if (is_remote_source(c.source))
          throw config_error("camera " + std::to_string(c.id) + " (source " + c.source + ")",
                             "opened by another node: this node cannot host its camera role");
      camera_options co;
      co.failed = [source_errors](const std::string& e) { source_errors->add(e); };
      co.realtime = cfg.realtime;
      co.max_frames = opts.max_frames;
      co.stop = opts.stop;
      for (auto& g : group_cameras(cfg.cameras)) {
        auto flag = health->add_flag("camera:" + g.ids(), probe_kind::readiness, false,
                                     "opening " + shown_source(g.source));
        co.report = [flag](bool up, const std::string& why) { flag->set(up, why); };
        auto cam = sys.spawn(camera_actor_impl, g, det, co, stats);
        self->monitor(cam);
        cameras.push_back(cam);
      }
    }
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
  const bool on_stream = has(roles, "detector") || has(roles, "tracker") || has(roles, "reid")
                         || has(roles, "storage");
  bool waits_for_eos = cameras.empty() && !bridges.empty() && on_stream;
  auto last_report = std::chrono::steady_clock::now();
  uint64_t last_frames = 0;
  while (result.exit_code == 0 && !opts.stop->load()) {
    if (!cameras.empty() && cameras_running == 0) break;
    if (waits_for_eos && pending_eos.empty()) break;
    if (cameras.empty() && !waits_for_eos && bridges.empty() && !gateway) break;
    heartbeat->store(steady_now_ns());
    self->receive(
      [&](caf::down_msg&) { --cameras_running; },
      [&](done_atom, uint32_t camera) { pending_eos.erase(camera); },
      caf::after(std::chrono::milliseconds{250}) >> [] {});
    auto now = std::chrono::steady_clock::now();
    if (!opts.quiet && now - last_report >= std::chrono::seconds{2}) {
      double dt = std::chrono::duration<double>(now - last_report).count();
      std::string line;
      for (auto& c : cfg.cameras) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " cam%u %.0f", c.id, metrics::global().frames_in(c.id).Value());
        line += buf;
      }
      auto c = run_counts::read().since(counts_at_start);
      uint64_t frames = count(c.frames);
      char head[160];
      std::snprintf(head, sizeof head, "progress: %.1f frames/s per camera; frames:", (frames - last_frames) / dt / std::max<size_t>(1, cfg.cameras.size()));
      log.info(head, line, "; detections ", count(c.detections), ", tracks ", count(c.tracks), ", rows ",
               count(c.presence_rows), ", dropped ", count(c.frames_dropped));
      last_frames = frames;
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
  // Our last acknowledgements must reach the upstream before we go, and an
  // upstream that lost one resends after its resend delay: keep serving until
  // the links have been quiet a little longer than that (at most 10 s).
  if (result.exit_code == 0 && !opts.stop->load() && !sockets.empty()) {
    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + std::chrono::seconds{10};
    auto quiet = [&] {
      for (auto& s : sockets)
        if (clock::now() - clock::time_point{clock::duration{s->last_message()}}
            < zmq_outbound::default_resend_after + std::chrono::milliseconds{500})
          return false;
      return true;
    };
    while (!quiet() && clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  if (opts.stop->load() && result.exit_code == 0) log.warn("stop requested: shutting down");
  // The standing queries see the last rows before the run ends.
  if (local_query && result.exit_code == 0 && !cfg.query.alerts.empty())
    self->request(local_query, std::chrono::seconds{30}, flush_atom::value)
      .receive([](caf::ok_atom) {}, [](caf::error& e) { log.warn("alerts at the end: ", to_string(e)); });
  if (gateway) gateway->stop();   // ends its alert streams; no new queries
  // Stop everything; bridges first so no new work arrives.
  for (auto& b : bridges) self->send_exit(b, caf::exit_reason::user_shutdown);
  for (auto& c : cameras) self->send_exit(c, caf::exit_reason::user_shutdown);
  for (auto& a : locals) self->send_exit(a, caf::exit_reason::user_shutdown);
  if (result.exit_code != 0) return result;

  const auto s = run_counts::read().since(counts_at_start);
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
  j["compression_ratio_source"] =
    count(s.bytes_sent) > 0 ? double(count(s.bytes_source)) / count(s.bytes_sent) : 0.0;
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
  {
    std::lock_guard<std::mutex> lock{source_errors->mutex};
    j["source_errors"] = source_errors->errors;
  }
  nlohmann::json cj = nlohmann::json::array();
  for (auto& name : card_names)
    cj.push_back({{"name", name},
                  {"jobs", metrics::global().card_jobs(name).Value()},
                  {"errors", metrics::global().card_errors(name, "error").Value()
                             + metrics::global().card_errors(name, "timeout").Value()}});
  j["cards"] = cj;
  nlohmann::json cams = nlohmann::json::array();
  for (auto& c : cfg.cameras)
    cams.push_back({{"id", c.id}, {"name", c.name}, {"zone", c.zone},
                    {"frames", metrics::global().frames_in(c.id).Value()},
                    {"detections", metrics::global().detections(c.id).Value()}});
  j["cameras"] = cams;
  if (db) {
    j["storage"] = sql::shown_location(cfg.storage_path);
    j["presence_rows"] = db->presence_count();
    j["people"] = db->person_count();
    j["queries"] = seed_answers(cfg, db->db());
    nlohmann::json alerts = nlohmann::json::object();
    for (auto& r : db->db().query("SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind", {}, "summary"))
      alerts[sql::as_text(r[0])] = sql::as_int(r[1]);
    j["alerts"] = alerts;
    j["zone_visits"] = sql::as_int(db->db().scalar("SELECT count(*) FROM zone_visits", {}, "summary"));
  }
  result.summary = j;
  return result;
}

} // namespace weaver
