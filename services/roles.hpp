// One factory per role. Each maps the configuration to the role's own
// options (a role never sees the whole config) and spawns it, or, when the
// role runs in another process, an outbound bridge to it. run_mesh
// (services/runtime.cpp) calls them from the sink upwards.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/actors.hpp"
#include "actors/camera/camera_actor.hpp"
#include "actors/detector/detector_actor.hpp"
#include "actors/fpga_pool/fpga_pool.hpp"
#include "actors/query/query_actor.hpp"
#include "actors/reid/reid_actor.hpp"
#include "actors/storage/shared_connection.hpp"
#include "actors/storage/storage_actor.hpp"
#include "actors/tracker/tracker_actor.hpp"
#include "services/bridge.hpp"
#include "services/config.hpp"
#include "services/gateway/gateway.hpp"
#include "services/health.hpp"
#include "services/mesh_security.hpp"
#include "services/runtime.hpp"

namespace weaver {

class store;

/// What the factories share while one process's part of the mesh is built.
class mesh_context {
public:
  mesh_context(const config& cfg, const run_options& opts, std::set<std::string> roles, caf::actor_system& sys,
               std::shared_ptr<health_registry> health, run_stats_ptr stats);

  const config& cfg;
  const run_options& opts;
  const std::set<std::string> roles;
  const bool embedded; // every role in this process (`weaver run`)
  caf::actor_system& sys;
  std::shared_ptr<health_registry> health_ptr;
  health_registry& health; // *health_ptr: readiness and liveness checks
  run_stats_ptr stats;
  // The console's live frames and boxes (actors/live_view): kept only when
  // this process runs the camera role and a gateway that serves snapshots.
  std::shared_ptr<live_view> live;
  // Zones edited at run time through the gateway (actors/tracker/zone_registry):
  // only when the tracker and the gateway are both here, since nothing
  // carries an edit to a tracker in another process.
  std::shared_ptr<zone_registry> zone_edits;
  std::vector<caf::actor> locals; // what was spawned here, to stop at the end
  std::vector<std::string> card_names; // the detector role's cards

  bool has(const std::string& role) const { return roles.count(role) > 0; }
  /// mesh.endpoints.<role>; a config_error naming the key when missing.
  std::string endpoint(const std::string& role) const;
  /// The mesh's keys, resolved on first use: the embedded run needs none.
  const mesh_keys& security();
  /// An outbound bridge for `link` ("tracker->reid") to `role`'s endpoint,
  /// watched by readiness.
  template <class Handle>
  Handle outbound(const std::string& link, const std::string& role);

private:
  std::optional<mesh_keys> keys_;
};

// The roles' own options, from the configuration.
storage_settings storage_settings_of(const config& cfg);
reid_config reid_settings_of(const config& cfg);
sort_config sort_settings_of(const config& cfg);
tracker_extras tracker_extras_of(const config& cfg, const std::string& tracks_dir);
pool_settings pool_settings_of(const config& cfg);
detector_settings detector_settings_of(const config& cfg, const std::string& detections_dir);
query_settings query_settings_of(const config& cfg);

namespace roles {

/// Deletes re-id's and the tracker's state files for `--reset`.
void reset_state_files(const config& cfg);
/// The storage role's connection (readiness "store"; emptied in place on
/// --reset), with the cameras and zones registered. One connection
/// for the roles here that use the store (storage, query): an in-memory
/// database exists on its own connection only.
std::unique_ptr<sql::shared_connection> open_store(mesh_context& m);

// Each: the role here, else an outbound bridge to it when a local role
// sends to it, else an empty handle.
storage_actor make_storage(mesh_context& m, const std::shared_ptr<store>& db);
reid_actor make_reid(mesh_context& m, storage_actor storage);
tracker_actor make_tracker(mesh_context& m, reid_actor reid);
detector_actor make_detector(mesh_context& m, tracker_actor tracker);
/// The query role here (on the storage role's connection when it is here
/// too), else an empty handle.
query_actor make_query(mesh_context& m, sql::shared_connection* connection);
/// The REST gateway (a `gateway` node always, the embedded run when
/// gateway.port is set), in front of `query` or of the query role's
/// endpoint; nullptr when not here.
std::unique_ptr<gateway_server> make_gateway(mesh_context& m, query_actor query);
/// An inbound bridge for each local role whose upstream runs elsewhere.
std::vector<inbound_link> make_inbound(mesh_context& m, const inbound_targets& targets);
/// A camera actor per source group (`co.report` is set per group).
std::vector<caf::actor> make_cameras(mesh_context& m, detector_actor detector, camera_options co);

} // namespace roles
} // namespace weaver
