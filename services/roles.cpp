#include "services/roles.hpp"

#include <chrono>
#include <filesystem>

#include "actors/camera/video_source.hpp"
#include "actors/reid/reid_recording.hpp"
#include "actors/storage/store.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"
#include "services/cards.hpp"
#include "services/zones_file.hpp"

namespace weaver {

namespace {

const logger log{"weaver"};

// A readiness check for an outbound link: its messages are acknowledged.
std::string watch_link(health_registry& health, const std::string& link) {
  // Up until something goes unacknowledged. The link's socket says so when
  // its actor starts, which a loaded machine may run after the check is
  // first read: a link that has sent nothing must not read "resending".
  metrics::global().link_up(link).Set(1);
  health.add("link:" + link, probe_kind::readiness, [link] {
    bool up = metrics::global().link_up(link).Value() > 0;
    return check_result{up, up ? "acknowledging" : "no acknowledgement: resending"};
  });
  return link;
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
  std::set<std::pair<int, int>> sizes; // the cards are prepared once per frame size
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
        d->network()->compiled(size); // the model and the heads, no buffers
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

mesh_context::mesh_context(const config& cfg, const run_options& opts, std::set<std::string> roles,
                           caf::actor_system& sys, std::shared_ptr<health_registry> health, run_stats_ptr stats)
  : cfg(cfg),
    opts(opts),
    roles(std::move(roles)),
    embedded(opts.roles.empty()),
    sys(sys),
    health_ptr(std::move(health)),
    health(*health_ptr),
    stats(std::move(stats)) {
  // Frames are kept for the gateway's snapshots, and for the tracker's
  // evidence crops when the tracker is here too (the crops travel with the
  // tracks to storage, here or over the mesh, and are kept in the store).
  // And for the live frames the tracker sends to a gateway elsewhere.
  if (has("camera")
      && ((has("gateway") && cfg.gateway_port != 0 && cfg.gateway.snapshots)
          || (has("tracker") && (cfg.crops || cfg.mesh.live_fps > 0))))
    live = std::make_shared<live_view>();
  if (has("tracker") && has("gateway") && cfg.gateway_port != 0) {
    std::map<uint32_t, zone_shapes> shapes;
    std::map<uint32_t, zone_registry::frame_size> sizes; // a crop's (and its warp's) size is the frame's
    for (auto& c : cfg.cameras) {
      shapes[c.id] = {c.zones, c.lines};
      if (c.crop) sizes[c.id] = {(*c.crop)[2], (*c.crop)[3]};
    }
    zone_edits = std::make_shared<zone_registry>(std::move(shapes), std::move(sizes));
    // Kept across restarts in tracker.zones_file: every camera edited so
    // far (before this start too), the whole file written on each edit.
    if (!cfg.tracker.zones_file.empty()) {
      auto edited = std::make_shared<std::map<uint32_t, zone_shapes>>();
      for (auto& c : cfg.cameras)
        if (cfg.tracker.zones_edited.count(c.id)) (*edited)[c.id] = {c.zones, c.lines};
      auto file = std::make_shared<state_file>(cfg.tracker.zones_file, 0);
      zone_edits->keep_with([edited, file](uint32_t camera, const zone_shapes& s) {
        (*edited)[camera] = s;
        if (!file->save(zones_file_text(*edited), "zones")) return false; // logged by save
        log.info("camera ", camera, ": edited zones kept in ", file->path());
        return true;
      });
    }
  }
}

std::string mesh_context::endpoint(const std::string& role) const {
  auto it = cfg.mesh.endpoints.find(role);
  if (it == cfg.mesh.endpoints.end())
    throw config_error("mesh.endpoints." + role, "required: role '" + role + "' runs in another process");
  return it->second;
}

const mesh_keys& mesh_context::security() {
  if (!keys_) {
    keys_ = resolve_mesh_keys(cfg.mesh, {roles.begin(), roles.end()});
    if (!keys_->curve)
      log.warn(
        "mesh.security: plain: the mesh links are neither authenticated nor encrypted; "
        "anyone who reaches an endpoint can send to it");
  }
  return *keys_;
}

template <class Handle>
Handle mesh_context::outbound(const std::string& link, const std::string& role) {
  auto at = endpoint(role); // checked first, so a missing one is named before keys
  auto h = spawn_outbound<Handle>(sys, watch_link(health, link), at, stats, security().outbound(role));
  locals.push_back(caf::actor_cast<caf::actor>(h));
  return h;
}

storage_settings storage_settings_of(const config& cfg) {
  storage_settings ss;
  ss.retention_ms = cfg.retention_ms;
  ss.resolve = cfg.reid.schedule;
  ss.resolver = cfg.reid.resolver;
  for (auto& c : cfg.cameras) ss.cameras.insert(c.id);
  return ss;
}

reid_config reid_settings_of(const config& cfg) { return cfg.reid; }

sort_config sort_settings_of(const config& cfg) {
  sort_config sc;
  sc.iou_threshold = cfg.tracker.iou_threshold;
  sc.max_age = cfg.tracker.max_age;
  sc.min_hits = cfg.tracker.min_hits;
  return sc;
}

tracker_extras tracker_extras_of(const config& cfg, const std::string& tracks_dir) {
  tracker_extras extras;
  for (auto& c : cfg.cameras) extras.zones.emplace_back(c.id, c.zones, c.lines);
  if (!tracks_dir.empty()) extras.log = std::make_shared<detection_log>(tracks_dir);
  extras.dnn_appearance = cfg.tracker.appearance == "dnn";
  extras.kind = cfg.tracker.kind;
  extras.state_file = cfg.tracker.state_file;
  extras.deep = cfg.tracker.deep;
  extras.deep.use_embedding = false; // the feature field carries the chosen appearance
  extras.compact = cfg.mesh.compact;
  if (cfg.tracker.repair != "off") extras.repair = repair_settings(cfg.tracker);
  return extras;
}

pool_settings pool_settings_of(const config& cfg) {
  pool_settings p;
  p.sched.queue_per_camera = cfg.pool.queue_per_camera;
  p.sched.depth = cfg.pool.depth;
  p.sched.policy = cfg.pool.policy == "round_robin" ? placement::round_robin : placement::earliest_completion;
  p.sched.max_age_ns = cfg.realtime ? cfg.detector.max_age_ms * 1'000'000 : 0;
  // A camera's admitted frames may run on several cards at once (the
  // detector puts them back in order, and sends a stateful detector's
  // frames one by one itself).
  p.sched.max_in_flight_per_camera = cfg.detector.queue;
  p.card_timeout_ms = cfg.pool.card_timeout_ms;
  p.probe_ms = cfg.pool.probe_ms;
  return p;
}

detector_settings detector_settings_of(const config& cfg, const std::string& detections_dir) {
  detector_settings ds;
  ds.kind = cfg.detector.kind;
  ds.options = detector_options_of(cfg.detector);
  ds.queue = cfg.detector.queue;
  ds.realtime = cfg.realtime;
  if (cfg.mesh.compact)
    ds.compact = cfg.tracker.appearance == "dnn" ? compact::appearance::dnn : compact::appearance::handcrafted;
  if (!detections_dir.empty()) ds.log = std::make_shared<detection_log>(detections_dir);
  return ds;
}

query_settings query_settings_of(const config& cfg) {
  query_settings qs;
  qs.default_max_transit_ms = cfg.query.max_transit_ms;
  qs.max_stay_ms = cfg.query.max_stay_ms;
  qs.alerts = cfg.query.alerts;
  qs.alert_every = std::chrono::milliseconds{cfg.query.alert_poll_ms};
  return qs;
}

namespace roles {

void reset_state_files(const config& cfg) {
  // A reset store starts identities afresh too.
  if (!cfg.reid.state_file.empty()) std::filesystem::remove(cfg.reid.state_file);
  if (!cfg.tracker.state_file.empty()) std::filesystem::remove(cfg.tracker.state_file);
}

std::unique_ptr<sql::shared_connection> open_store(mesh_context& m) {
  const auto& cfg = m.cfg;
  auto open =
    m.health.add_flag("store", probe_kind::readiness, false, "opening " + sql::shown_location(cfg.storage_path));
  // --reset empties the store in place, never by deleting its file: the
  // query role beside storage (one pod) may already have it open, and a
  // process holding a deleted SQLite file fails ("disk I/O error") or
  // answers from the old rows. Only a file that is not SQLite at all is
  // removed first, since no process can be using it as a store.
  if (m.opts.reset && !sql::is_postgres_location(cfg.storage_path)) {
    const std::string path = sql::sqlite_path(cfg.storage_path);
    if (path != ":memory:" && !sql::looks_like_sqlite_file(path)) {
      log.warn(path, " is not an SQLite database; --reset removes it and starts a new store");
      for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    }
  }
  auto connection = std::make_unique<sql::shared_connection>(sql::open_database(cfg.storage_path));
  store db{connection->handle()};
  if (m.opts.reset) db.clear();
  open->set(true, "open: " + db.db().describe());
  for (auto& c : cfg.cameras) {
    db.upsert_camera(c.id, c.name, c.zone);
    for (auto& z : c.zones) db.upsert_zone(c.id, z.name);
  }
  // A zone edit renames the camera's zones in the store too (the cameras
  // query lists them), on a handle of its own: the gateway's thread.
  if (m.zone_edits)
    m.zone_edits->on_set(
      [edits = std::make_shared<store>(connection->handle())](uint32_t camera, const zone_shapes& s) {
        std::vector<std::string> names;
        for (auto& z : s.zones) names.push_back(z.name);
        try {
          edits->replace_zones(camera, names);
        } catch (const std::exception& e) {
          log.error("camera ", camera, ": the edited zones are in use but not in the store's zones list: ", e.what());
        }
      });
  return connection;
}

storage_actor make_storage(mesh_context& m, const std::shared_ptr<store>& db) {
  if (m.has("storage")) {
    auto sto = m.sys.spawn(storage_actor_impl, db, m.stats, storage_settings_of(m.cfg));
    m.locals.push_back(caf::actor_cast<caf::actor>(sto));
    return sto;
  }
  if (m.has("reid")) return m.outbound<storage_actor>("reid->storage", "storage");
  return {};
}

reid_actor make_reid(mesh_context& m, storage_actor storage) {
  if (m.has("reid")) {
    std::vector<uint32_t> camera_ids;
    for (auto& c : m.cfg.cameras) camera_ids.push_back(c.id);
    reid_tap tap;
    if (!m.opts.tracks_dir.empty()) {
      // Re-id's input beside the tracks, for `weaver eval crosscam --replay`.
      std::filesystem::create_directories(m.opts.tracks_dir);
      auto rec = std::make_shared<reid_recorder>(reid_recording_path(m.opts.tracks_dir));
      tap.batch = [rec](const track_batch& b) { rec->write(b); };
      tap.end = [rec](const end_of_stream& e) { rec->write(e); };
    }
    // Live person ids where the console's live boxes are: this process's
    // live view when the tracker is here; else the live frames trackers
    // elsewhere send (mesh.live_fps, with their updates' features thinned).
    auto live = m.has("tracker") ? m.live : nullptr;
    const bool mesh_live = m.cfg.mesh.live_fps > 0; // the actor ignores it beside a live view
    auto rei = m.sys.spawn(reid_actor_impl, reid_settings_of(m.cfg), camera_ids, storage, m.stats,
                           m.cfg.reid.state_file, std::move(tap), std::move(live), mesh_live);
    m.locals.push_back(caf::actor_cast<caf::actor>(rei));
    return rei;
  }
  if (m.has("tracker")) return m.outbound<reid_actor>("tracker->reid", "reid");
  return {};
}

tracker_actor make_tracker(mesh_context& m, reid_actor reid) {
  if (m.has("tracker")) {
    auto extras = tracker_extras_of(m.cfg, m.opts.tracks_dir);
    extras.live = m.live;
    extras.zone_edits = m.zone_edits;
    extras.update_features = m.live && m.has("reid"); // re-id here guesses live person ids from them
    if (m.live && !m.has("reid") && m.has("camera") && m.cfg.mesh.live_fps > 0) {
      // ... or re-id elsewhere, for the live frames sent it: five a second per track.
      extras.update_features = true;
      extras.update_feature_ms = 200;
    }
    extras.crops = m.live && m.has("camera") && m.cfg.crops;
    if (m.live && m.has("camera"))
      extras.live_frames = {m.cfg.mesh.live_fps, m.cfg.mesh.live_width, m.cfg.mesh.live_quality};
    else if (m.cfg.mesh.live_fps > 0)
      log.info("mesh.live_fps: no live frames from this tracker (the frames stay with the cameras)");
    if (!m.has("camera") && m.cfg.crops)
      log.info(
        "evidence crops: none from this tracker (they are cut from the frames, which stay with the cameras: "
        "run the tracker with the camera role to have them)");
    auto trk = m.sys.spawn(tracker_actor_impl, sort_settings_of(m.cfg), reid, m.stats, std::move(extras));
    m.locals.push_back(caf::actor_cast<caf::actor>(trk));
    return trk;
  }
  if (m.has("detector")) return m.outbound<tracker_actor>("detector->tracker", "tracker");
  return {};
}

detector_actor make_detector(mesh_context& m, tracker_actor tracker) {
  if (m.has("detector")) {
    auto cards = make_cards(m.cfg);
    if (m.cfg.detector.dnn.precision == "int8" && int8_exact_forced(m.cfg))
      log.info(
        "detector: int8_exact forced on: an xrt card is in the pool, so the CPU cards compute as the "
        "weaver_dnn kernel does (same boxes whichever card runs a frame)");
    for (auto& c : cards) m.card_names.push_back(c->name());
    m.health.add("cards", probe_kind::readiness, [names = m.card_names] {
      int up = 0;
      for (auto& n : names) up += metrics::global().card_up(n).Value() > 0;
      return check_result{up > 0, std::to_string(up) + " of " + std::to_string(names.size()) + " card(s) up"};
    });
    auto pool = m.sys.spawn(fpga_pool, cards, pool_settings_of(m.cfg), m.stats);
    auto ds = detector_settings_of(m.cfg, m.opts.detections_dir);
    // The cameras start after this, once the engines are ready.
    if (m.cfg.realtime && m.has("camera")) ds.prepared = prepare_engines(m.cfg, cards, m.health);
    auto det = m.sys.spawn(detector_actor_impl, ds, pool, tracker, m.stats);
    m.locals.push_back(caf::actor_cast<caf::actor>(pool));
    m.locals.push_back(caf::actor_cast<caf::actor>(det));
    return det;
  }
  if (m.has("camera")) return m.outbound<detector_actor>("camera->detector", "detector");
  return {};
}

query_actor make_query(mesh_context& m, sql::shared_connection* connection) {
  if (!m.has("query")) return {};
  auto qdb = connection ? std::make_shared<store>(connection->handle())
                        : std::shared_ptr<store>(store::open(m.cfg.storage_path));
  auto qry = m.sys.spawn(query_actor_impl, qdb, query_settings_of(m.cfg));
  m.locals.push_back(caf::actor_cast<caf::actor>(qry));
  return qry;
}

std::unique_ptr<gateway_server> make_gateway(mesh_context& m, query_actor query) {
  const auto& cfg = m.cfg;
  if (!m.has("gateway") || (m.embedded && cfg.gateway_port == 0)) return nullptr;
  if (cfg.gateway_port == 0) throw config_error("gateway.port", "required for the gateway role");
  auto settings = gateway_settings_of(cfg); // tokens first: refuse before connecting
  // Beside cameras whose frames it shows, a gateway may have no query role
  // to ask (an edge pod's live pictures): its queries then answer 503.
  if (!query && (m.cfg.mesh.endpoints.count("query") > 0 || !m.live || !settings.snapshots))
    query = m.outbound<query_actor>("gateway->query", "query");
  if (!query) log.info("gateway: live pictures only (no mesh.endpoints.query: queries answer 503)");
  auto sources = std::make_shared<metrics_sources>();
  sources->add(metrics::global().registry_ptr());
  auto gateway = std::make_unique<gateway_server>(m.sys, query, settings, m.health_ptr, sources, m.live, m.zone_edits);
  gateway->start();
  m.health.add_flag("gateway", probe_kind::readiness, true,
                    "serving on " + cfg.gateway.bind + ":" + std::to_string(gateway->port()));
  return gateway;
}

std::vector<inbound_link> make_inbound(mesh_context& m, const inbound_targets& targets) {
  std::vector<inbound_link> links;
  if (m.embedded) return links;
  static const std::vector<std::pair<std::string, std::string>> upstream{
    {"detector", "camera"}, {"tracker", "detector"}, {"reid", "tracker"}, {"storage", "reid"}, {"query", ""}};
  for (auto& [role, up] : upstream) {
    if (!m.has(role) || (!up.empty() && m.has(up))) continue;
    if (role == "query" && m.cfg.mesh.endpoints.count("query") == 0) continue;
    auto t = targets;
    t.role = role;
    auto at = m.endpoint(role);
    links.push_back(spawn_inbound(m.sys, at, t, m.stats, m.security().inbound(role, up.empty() ? "gateway" : up)));
    m.health.add_flag("inbound:" + role, probe_kind::readiness, true, "listening on " + at);
  }
  return links;
}

std::vector<caf::actor> make_cameras(mesh_context& m, detector_actor detector, camera_options co) {
  std::vector<caf::actor> cameras;
  if (!m.has("camera")) return cameras;
  // A source that cannot be opened, now or later, is retried with back-off
  // by its camera actor (files are not): the other cameras run on, and
  // readiness names the camera that is down and why.
  for (auto& c : m.cfg.cameras)
    if (is_remote_source(c.source))
      throw config_error("camera " + std::to_string(c.id) + " (source " + c.source + ")",
                         "opened by another node: this node cannot host its camera role");
  for (auto& g : group_cameras(m.cfg.cameras)) {
    auto flag =
      m.health.add_flag("camera:" + g.ids(), probe_kind::readiness, false, "opening " + shown_source(g.source));
    co.report = [flag](bool up, const std::string& why) { flag->set(up, why); };
    co.live = m.live;
    cameras.push_back(m.sys.spawn(camera_actor_impl, g, detector, co, m.stats));
  }
  return cameras;
}

} // namespace roles
} // namespace weaver
