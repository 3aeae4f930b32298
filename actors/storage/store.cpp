#include "actors/storage/store.hpp"

#include "actors/storage/pictures.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "base/base64.hpp"

namespace weaver {

using sql::value;

namespace {

// One migration per schema version, per dialect. Index = version - 1.
// Append new ones; never edit one that has been applied somewhere.
struct migration {
  const char* sqlite;
  const char* postgres;
};

const migration migrations[] = {
  // 1: the seed's people_present table (enter/exit in ms since the Unix
  // epoch, UTC), track identities and camera names.
  {R"sql(
    CREATE TABLE people_present(
      person_id INTEGER NOT NULL,
      camera_id INTEGER NOT NULL,
      enter INTEGER NOT NULL,
      exit INTEGER NOT NULL);
    -- Idempotent writes; also serves per-person, per-camera lookups (the
    -- "later at camera Y" side of transitions).
    CREATE UNIQUE INDEX people_present_key
      ON people_present(person_id, camera_id, enter);
    -- Time-window scans of one camera (transitions, every-camera).
    CREATE INDEX people_present_camera_enter
      ON people_present(camera_id, enter);
    -- A person's timeline across cameras.
    CREATE INDEX people_present_person_enter
      ON people_present(person_id, enter);
    CREATE TABLE identities(
      camera_id INTEGER,
      track_id INTEGER,
      person_id INTEGER,
      confidence REAL,
      PRIMARY KEY(camera_id, track_id));
    CREATE TABLE cameras(
      camera_id INTEGER PRIMARY KEY,
      name TEXT,
      zone TEXT);
  )sql",
   R"sql(
    CREATE TABLE people_present(
      person_id BIGINT NOT NULL,
      camera_id BIGINT NOT NULL,
      enter BIGINT NOT NULL,
      exit BIGINT NOT NULL);
    CREATE UNIQUE INDEX people_present_key
      ON people_present(person_id, camera_id, enter);
    CREATE INDEX people_present_camera_enter
      ON people_present(camera_id, enter);
    CREATE INDEX people_present_person_enter
      ON people_present(person_id, enter);
    CREATE TABLE identities(
      camera_id BIGINT,
      track_id BIGINT,
      person_id BIGINT,
      confidence DOUBLE PRECISION,
      PRIMARY KEY(camera_id, track_id));
    CREATE TABLE cameras(
      camera_id BIGINT PRIMARY KEY,
      name TEXT,
      zone TEXT);
  )sql"},
  // 2: re-id's late corrections. A merged id's rows move to the id it was
  // merged into; rows re-sent later under the old id follow (idempotence).
  {R"sql(
    CREATE TABLE person_merges(
      from_id INTEGER PRIMARY KEY,
      into_id INTEGER NOT NULL);
  )sql",
   R"sql(
    CREATE TABLE person_merges(
      from_id BIGINT PRIMARY KEY,
      into_id BIGINT NOT NULL);
  )sql"},
  // 3: configured zones, zone visits (exit < 0 while inside), events
  // (alerts, stored once per dedup key) and the time index the day / hour
  // scans across cameras use (visitors, paths, retention).
  {R"sql(
    CREATE TABLE zones(
      camera_id INTEGER NOT NULL,
      name TEXT NOT NULL,
      PRIMARY KEY(camera_id, name));
    CREATE TABLE zone_visits(
      camera_id INTEGER NOT NULL,
      zone TEXT NOT NULL,
      track_id INTEGER NOT NULL,
      enter INTEGER NOT NULL,
      exit INTEGER NOT NULL,
      PRIMARY KEY(camera_id, zone, track_id, enter));
    CREATE INDEX zone_visits_zone_enter ON zone_visits(zone, enter);
    CREATE INDEX zone_visits_enter ON zone_visits(enter);
    -- With zone_visits_enter: the standing queries' data time (max of both)
    -- every pass without scanning the table.
    CREATE INDEX zone_visits_exit ON zone_visits(exit);
    CREATE INDEX zone_visits_open ON zone_visits(zone) WHERE exit < 0;
    CREATE TABLE events(
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,
      camera_id INTEGER NOT NULL,
      zone TEXT NOT NULL,
      person_id INTEGER,
      track_id INTEGER,
      time_ms INTEGER NOT NULL,
      detail TEXT NOT NULL,
      dedup TEXT NOT NULL UNIQUE);
    CREATE INDEX events_time ON events(time_ms);
    CREATE INDEX people_present_enter ON people_present(enter);
    -- A person's rows are found through people_present_key (its prefix);
    -- one index fewer to maintain on every insert.
    DROP INDEX people_present_person_enter;
    -- Covers every-camera (camera, day, person) without reading the table;
    -- a superset of (camera_id, enter). tools/bench_storage.sh: 72 -> 45 ms
    -- over 10M rows. Not exit too: without statistics SQLite then finds X ->
    -- Y's y side through it, scanning a camera's whole future per x row.
    CREATE INDEX people_present_camera_person ON people_present(camera_id, enter, person_id);
    DROP INDEX people_present_camera_enter;
  )sql",
   R"sql(
    CREATE TABLE zones(
      camera_id BIGINT NOT NULL,
      name TEXT NOT NULL,
      PRIMARY KEY(camera_id, name));
    CREATE TABLE zone_visits(
      camera_id BIGINT NOT NULL,
      zone TEXT NOT NULL,
      track_id BIGINT NOT NULL,
      enter BIGINT NOT NULL,
      exit BIGINT NOT NULL,
      PRIMARY KEY(camera_id, zone, track_id, enter));
    CREATE INDEX zone_visits_zone_enter ON zone_visits(zone, enter);
    CREATE INDEX zone_visits_enter ON zone_visits(enter);
    -- With zone_visits_enter: the standing queries' data time (max of both)
    -- every pass without scanning the table.
    CREATE INDEX zone_visits_exit ON zone_visits(exit);
    CREATE INDEX zone_visits_open ON zone_visits(zone) WHERE exit < 0;
    CREATE TABLE events(
      id BIGSERIAL PRIMARY KEY,
      kind TEXT NOT NULL,
      camera_id BIGINT NOT NULL,
      zone TEXT NOT NULL,
      person_id BIGINT,
      track_id BIGINT,
      time_ms BIGINT NOT NULL,
      detail TEXT NOT NULL,
      dedup TEXT NOT NULL UNIQUE);
    CREATE INDEX events_time ON events(time_ms);
    CREATE INDEX people_present_enter ON people_present(enter);
    DROP INDEX people_present_person_enter;
    -- Index-only scans of one camera's time window: every-camera (92 -> 37
    -- ms over 10M rows) and both sides of X -> Y, whose y side is bounded in
    -- time on PostgreSQL (actors/query/seed_queries.cpp; 77-120 -> 22 ms).
    CREATE INDEX people_present_camera_person ON people_present(camera_id, enter) INCLUDE (person_id, exit);
    DROP INDEX people_present_camera_enter;
  )sql"},
  // 4: what the offline re-resolution needs from the store alone: every
  // ended track with its entry and exit boxes and its mean appearance (int8,
  // base64: both engines store text alike), and the windows it resolved.
  {R"sql(
    CREATE TABLE tracklets(
      camera_id INTEGER NOT NULL,
      track_id INTEGER NOT NULL,
      person_id INTEGER NOT NULL,
      enter INTEGER NOT NULL,
      exit INTEGER NOT NULL,
      entry_x REAL NOT NULL, entry_y REAL NOT NULL, entry_w REAL NOT NULL, entry_h REAL NOT NULL,
      exit_x REAL NOT NULL, exit_y REAL NOT NULL, exit_w REAL NOT NULL, exit_h REAL NOT NULL,
      confidence REAL NOT NULL,
      feature TEXT NOT NULL,
      PRIMARY KEY(camera_id, track_id));
    CREATE INDEX tracklets_exit ON tracklets(exit);
    CREATE INDEX tracklets_person ON tracklets(person_id);
    CREATE TABLE resolved_windows(
      since INTEGER NOT NULL,
      until INTEGER NOT NULL,
      resolved_ms INTEGER NOT NULL,
      tracklets INTEGER NOT NULL,
      moved INTEGER NOT NULL,
      PRIMARY KEY(since, until));
  )sql",
   R"sql(
    CREATE TABLE tracklets(
      camera_id BIGINT NOT NULL,
      track_id BIGINT NOT NULL,
      person_id BIGINT NOT NULL,
      enter BIGINT NOT NULL,
      exit BIGINT NOT NULL,
      entry_x REAL NOT NULL, entry_y REAL NOT NULL, entry_w REAL NOT NULL, entry_h REAL NOT NULL,
      exit_x REAL NOT NULL, exit_y REAL NOT NULL, exit_w REAL NOT NULL, exit_h REAL NOT NULL,
      confidence DOUBLE PRECISION NOT NULL,
      feature TEXT NOT NULL,
      PRIMARY KEY(camera_id, track_id));
    CREATE INDEX tracklets_exit ON tracklets(exit);
    CREATE INDEX tracklets_person ON tracklets(person_id);
    CREATE TABLE resolved_windows(
      since BIGINT NOT NULL,
      until BIGINT NOT NULL,
      resolved_ms BIGINT NOT NULL,
      tracklets BIGINT NOT NULL,
      moved BIGINT NOT NULL,
      PRIMARY KEY(since, until));
  )sql"},
  // 5: pictures in the store (actors/storage/pictures): one evidence crop per
  // track and each camera's latest live frame, so a PostgreSQL store (no
  // folder beside it) keeps them as a SQLite one does. By time_ms for
  // retention, as the rows.
  {R"sql(
    CREATE TABLE evidence_crops(
      camera_id INTEGER NOT NULL,
      track_id INTEGER NOT NULL,
      time_ms INTEGER NOT NULL,
      jpeg BLOB NOT NULL,
      PRIMARY KEY(camera_id, track_id));
    CREATE INDEX evidence_crops_time ON evidence_crops(time_ms);
    CREATE TABLE live_frames(
      camera_id INTEGER PRIMARY KEY,
      seq INTEGER NOT NULL,
      time_ms INTEGER NOT NULL,
      width INTEGER NOT NULL,
      height INTEGER NOT NULL,
      boxes TEXT NOT NULL,
      jpeg BLOB NOT NULL,
      kept_ms INTEGER NOT NULL);
  )sql",
   R"sql(
    CREATE TABLE evidence_crops(
      camera_id BIGINT NOT NULL,
      track_id BIGINT NOT NULL,
      time_ms BIGINT NOT NULL,
      jpeg BYTEA NOT NULL,
      PRIMARY KEY(camera_id, track_id));
    CREATE INDEX evidence_crops_time ON evidence_crops(time_ms);
    CREATE TABLE live_frames(
      camera_id BIGINT PRIMARY KEY,
      seq BIGINT NOT NULL,
      time_ms BIGINT NOT NULL,
      width BIGINT NOT NULL,
      height BIGINT NOT NULL,
      boxes TEXT NOT NULL,
      jpeg BYTEA NOT NULL,
      kept_ms BIGINT NOT NULL);
  )sql"},
};
constexpr int migration_count = static_cast<int>(sizeof(migrations) / sizeof(migrations[0]));
static_assert(migration_count == store::latest_schema_version, "one migration per schema version");

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// uint64 ids round-trip through BIGINT / INTEGER (int64) by bit pattern.
value id_value(uint64_t v) { return static_cast<int64_t>(v); }

// "(?1, ?2, ?3), (?4, ?5, ?6)" for `rows` rows of `cols` parameters.
std::string placeholders(size_t rows, size_t cols) {
  std::string s;
  for (size_t r = 0; r < rows; ++r) s += (r ? ", (" : "(") + sql::placeholder_list(r * cols + 1, cols) + ")";
  return s;
}

// Runs `head` VALUES (...), (...) `tail` over every item of a map, many rows
// per statement (fewer round trips on PostgreSQL, fewer statements on
// SQLite) within the engine's parameter limit; `add` appends one item's
// `cols` parameters.
template <class Map, class Add>
void upsert_all(sql::database& db, const std::string& head, const std::string& tail, size_t cols, const Map& items,
                Add add, const char* what) {
  const size_t per = std::max<size_t>(1, std::min<size_t>(500, db.max_params() / cols));
  std::vector<value> params;
  auto it = items.begin();
  while (it != items.end()) {
    params.clear();
    size_t n = 0;
    for (; it != items.end() && n < per; ++it, ++n) add(*it, params);
    db.query(head + " VALUES " + placeholders(n, cols) + " " + tail, params, what);
  }
}

} // namespace

store::store(std::unique_ptr<sql::database> db) : db_(std::move(db)) {
  try {
    migrate();
  } catch (const std::exception& e) {
    throw std::runtime_error("storage: " + db_->describe() + ": " + e.what());
  }
  // greatest(): a re-sent or extended interval never shortens a stored one,
  // so the result does not depend on delivery order.
  upsert_presence_tail_ = "ON CONFLICT(person_id, camera_id, enter) DO UPDATE SET exit = "
    + db_->greatest("people_present.exit", "excluded.exit");
}

std::unique_ptr<store> store::open(const std::string& location) {
  return std::make_unique<store>(sql::open_database(location));
}

void store::migrate() {
  auto& db = *db_;
  // Two processes opening a new store at once (storage and query) must not
  // both create it: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe
  // against a concurrent one, so migrations hold a transaction-scoped
  // advisory lock there; SQLite's BEGIN IMMEDIATE already serialises them.
  auto serialise = [&] {
    if (db.kind() == sql::dialect::postgres)
      db.query("SELECT pg_advisory_xact_lock(?1)", {int64_t{0x5765617665720001}}, "migration lock");
  };
  {
    sql::transaction tx{db};
    serialise();
    db.exec(
      "CREATE TABLE IF NOT EXISTS schema_version("
      "version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)",
      "schema_version");
    tx.commit();
  }
  for (;;) {
    // Each step and its version row commit together, so a crash mid-way
    // leaves the previous version intact and the step is retried on reopen.
    // The version is read inside the transaction: another process (storage
    // and query open the same store) may have migrated meanwhile.
    sql::transaction tx{db};
    serialise();
    const int current = schema_version();
    if (current > latest_schema_version)
      throw std::runtime_error("schema version " + std::to_string(current) + " is newer than this build's "
                               + std::to_string(latest_schema_version));
    if (current == latest_schema_version) {
      tx.commit();
      return;
    }
    const int v = current + 1;
    const auto& m = migrations[v - 1];
    db.exec(db.kind() == sql::dialect::sqlite ? m.sqlite : m.postgres, ("migration " + std::to_string(v)).c_str());
    db.query("INSERT INTO schema_version(version, applied_ms) VALUES(?1, ?2)", {int64_t{v}, now_ms()},
             "schema_version insert");
    tx.commit();
  }
}

int store::schema_version() {
  return static_cast<int>(
    sql::as_int(db_->scalar("SELECT coalesce(max(version), 0) FROM schema_version", {}, "schema_version")));
}

void store::upsert_camera(uint32_t id, const std::string& name, const std::string& zone) {
  db_->query(
    "INSERT INTO cameras(camera_id, name, zone) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(camera_id) DO UPDATE SET name = excluded.name, zone = excluded.zone",
    {int64_t{id}, name, zone}, "storage: upsert camera");
}

void store::upsert_zone(uint32_t camera_id, const std::string& name) {
  db_->query("INSERT INTO zones(camera_id, name) VALUES(?1, ?2) ON CONFLICT(camera_id, name) DO NOTHING",
             {int64_t{camera_id}, name}, "storage: upsert zone");
}

void store::replace_zones(uint32_t camera_id, const std::vector<std::string>& names) {
  sql::transaction tx{*db_};
  db_->query("DELETE FROM zones WHERE camera_id = ?1", {int64_t{camera_id}}, "storage: replace zones");
  for (const auto& n : names) upsert_zone(camera_id, n);
  tx.commit();
}

namespace {

// A person's id after merges: what canonical() mapped it to, else itself.
uint64_t canonical_of(const std::map<uint64_t, uint64_t>& canon, uint64_t person) {
  auto c = canon.find(person);
  return c == canon.end() ? person : c->second;
}

} // namespace

std::map<uint64_t, uint64_t> store::canonical(std::vector<uint64_t> people) {
  // One query per chunk rather than one per person (a round trip each on
  // PostgreSQL); merges are rare, so most answers are empty.
  std::sort(people.begin(), people.end());
  people.erase(std::unique(people.begin(), people.end()), people.end());
  std::map<uint64_t, uint64_t> out;
  const size_t per = std::min<size_t>(500, db_->max_params());
  std::vector<value> params;
  for (size_t i = 0; i < people.size(); i += per) {
    params.clear();
    for (size_t j = i; j < std::min(people.size(), i + per); ++j) params.push_back(id_value(people[j]));
    for (auto& r : db_->query("SELECT from_id, into_id FROM person_merges WHERE from_id IN ("
                                + sql::placeholder_list(1, params.size()) + ")",
                              params, "storage: merge lookup"))
      out[static_cast<uint64_t>(sql::as_int(r[0]))] = static_cast<uint64_t>(sql::as_int(r[1]));
  }
  return out;
}

uint64_t store::canonical(uint64_t person_id) {
  // Chains are kept flat (a merge re-points them), so this is one lookup.
  auto v =
    db_->scalar("SELECT into_id FROM person_merges WHERE from_id = ?1", {id_value(person_id)}, "storage: merge lookup");
  return sql::is_null(v) ? person_id : static_cast<uint64_t>(sql::as_int(v));
}

void store::write_presences(const std::vector<presence>& in) {
  if (in.empty()) return;
  // One row per key, the largest exit (PostgreSQL refuses to update one row
  // twice in a statement; SQLite would keep the same result).
  std::map<std::tuple<uint64_t, uint32_t, timestamp_ms>, timestamp_ms> rows;
  std::vector<uint64_t> people;
  for (const auto& r : in) people.push_back(r.person_id);
  auto canon = canonical(people);
  for (const auto& r : in) {
    auto [row, added] = rows.try_emplace({canonical_of(canon, r.person_id), r.camera_id, r.enter_ms}, r.exit_ms);
    if (!added) row->second = std::max(row->second, r.exit_ms);
  }
  upsert_all(
    *db_, "INSERT INTO people_present(person_id, camera_id, enter, exit)", upsert_presence_tail_, 4, rows,
    [](const auto& row, std::vector<value>& p) {
      const auto& [key, exit] = row;
      p.push_back(id_value(std::get<0>(key)));
      p.push_back(int64_t{std::get<1>(key)});
      p.push_back(std::get<2>(key));
      p.push_back(exit);
    },
    "storage: write presence");
}

void store::write_tracklets(const std::vector<tracklet>& in) {
  if (in.empty()) return;
  // Keyed like identities: the last write of a track wins.
  std::map<std::pair<uint32_t, uint64_t>, const tracklet*> last;
  std::vector<uint64_t> people;
  for (const auto& t : in) {
    last[{t.camera_id, t.track_id}] = &t;
    people.push_back(t.person_id);
  }
  const auto canon = canonical(people);
  upsert_all(
    *db_,
    "INSERT INTO tracklets(camera_id, track_id, person_id, enter, exit, entry_x, entry_y, entry_w, "
    "entry_h, exit_x, exit_y, exit_w, exit_h, confidence, feature)",
    "ON CONFLICT(camera_id, track_id) DO UPDATE SET person_id = excluded.person_id, "
    "enter = excluded.enter, exit = excluded.exit, entry_x = excluded.entry_x, "
    "entry_y = excluded.entry_y, entry_w = excluded.entry_w, entry_h = excluded.entry_h, "
    "exit_x = excluded.exit_x, exit_y = excluded.exit_y, exit_w = excluded.exit_w, "
    "exit_h = excluded.exit_h, confidence = excluded.confidence, feature = excluded.feature",
    15, last,
    [&](const auto& item, std::vector<value>& p) {
      const tracklet& t = *item.second;
      p.push_back(int64_t{t.camera_id});
      p.push_back(id_value(t.track_id));
      p.push_back(id_value(canonical_of(canon, t.person_id)));
      p.push_back(t.enter_ms);
      p.push_back(t.exit_ms);
      for (float v : {t.entry_box.x, t.entry_box.y, t.entry_box.w, t.entry_box.h, t.exit_box.x, t.exit_box.y,
                      t.exit_box.w, t.exit_box.h})
        p.push_back(static_cast<double>(v));
      p.push_back(static_cast<double>(t.confidence));
      p.push_back(to_base64(t.feature));
    },
    "storage: write tracklet");
}

std::vector<tracklet> store::tracklet_rows(timestamp_ms since, timestamp_ms until) {
  std::vector<tracklet> out;
  for (auto& r : db_->query("SELECT camera_id, track_id, person_id, enter, exit, entry_x, entry_y, entry_w, "
                            "entry_h, exit_x, exit_y, exit_w, exit_h, confidence, feature FROM tracklets "
                            "WHERE exit >= ?1 AND exit < ?2 ORDER BY exit, camera_id, track_id",
                            {since, until}, "storage: tracklets")) {
    tracklet t;
    t.camera_id = static_cast<uint32_t>(sql::as_int(r[0]));
    t.track_id = static_cast<uint64_t>(sql::as_int(r[1]));
    t.person_id = static_cast<uint64_t>(sql::as_int(r[2]));
    t.enter_ms = sql::as_int(r[3]);
    t.exit_ms = sql::as_int(r[4]);
    auto f = [&](size_t k) { return static_cast<float>(sql::as_double(r[k])); };
    t.entry_box = {f(5), f(6), f(7), f(8)};
    t.exit_box = {f(9), f(10), f(11), f(12)};
    t.confidence = f(13);
    // Text that is not base64 (a damaged row) reads as no feature.
    t.feature = from_base64(sql::as_text(r[14])).value_or(std::vector<int8_t>{});
    out.push_back(std::move(t));
  }
  return out;
}

uint64_t store::next_resolved_id() {
  const int64_t base = static_cast<int64_t>(resolved_id_base);
  auto v = db_->scalar("SELECT max(person_id) FROM tracklets WHERE person_id >= ?1", {base}, "storage: resolved id");
  auto w =
    db_->scalar("SELECT max(person_id) FROM people_present WHERE person_id >= ?1", {base}, "storage: resolved id");
  int64_t top = std::max(sql::as_int(v, base - 1), sql::as_int(w, base - 1));
  return static_cast<uint64_t>(std::max(top + 1, base));
}

size_t store::apply_resolution(const std::vector<track_move>& moves, const std::vector<person_merge>& merges,
                               const resolved_window& window) {
  auto& db = *db_;
  size_t moved = 0;
  {
    sql::transaction tx{db};
    if (db.kind() == sql::dialect::postgres)
      db.query("SELECT pg_advisory_xact_lock(?1)", {int64_t{0x5765617665720002}}, "storage: writer lock");
    // (camera, enter) -> the people whose presence rows there the moves touch.
    std::map<std::pair<uint32_t, timestamp_ms>, std::set<uint64_t>> touched;
    for (const auto& m : moves) {
      auto rows = db.query("SELECT person_id, enter, exit FROM tracklets WHERE camera_id = ?1 AND track_id = ?2",
                           {int64_t{m.camera_id}, id_value(m.track_id)}, "storage: resolve read");
      if (rows.empty()) continue;
      const uint64_t from = static_cast<uint64_t>(sql::as_int(rows[0][0]));
      const uint64_t to = canonical(m.to);
      if (from == to) continue;
      const timestamp_ms enter = sql::as_int(rows[0][1]);
      auto& people = touched[{m.camera_id, enter}];
      people.insert(from);
      people.insert(to);
      db.query("UPDATE identities SET person_id = ?3 WHERE camera_id = ?1 AND track_id = ?2",
               {int64_t{m.camera_id}, id_value(m.track_id), id_value(to)}, "storage: resolve identity");
      db.query("UPDATE tracklets SET person_id = ?3 WHERE camera_id = ?1 AND track_id = ?2",
               {int64_t{m.camera_id}, id_value(m.track_id), id_value(to)}, "storage: resolve tracklet");
      ++moved;
    }
    // Presence rows follow their tracks. A row is keyed by (person, camera,
    // enter), so two tracks of one person entering one camera at the same
    // time shared one; the rows at each touched key are rebuilt from the
    // tracklets there, after all moves (moving one row at a time lost a
    // track's row when two such tracks swapped people).
    for (const auto& [key, people] : touched) {
      const auto& [camera_id, enter] = key;
      std::vector<presence> rebuilt;
      for (auto& r : db.query("SELECT person_id, exit FROM tracklets WHERE camera_id = ?1 AND enter = ?2",
                              {int64_t{camera_id}, enter}, "storage: resolve presences read"))
        rebuilt.push_back({static_cast<uint64_t>(sql::as_int(r[0])), camera_id, enter, sql::as_int(r[1])});
      std::set<uint64_t> all = people;
      for (const auto& r : rebuilt) all.insert(r.person_id);
      for (uint64_t p : all)
        db.query("DELETE FROM people_present WHERE person_id = ?1 AND camera_id = ?2 AND enter = ?3",
                 {id_value(p), int64_t{camera_id}, enter}, "storage: resolve presence");
      write_presences(rebuilt);
    }
    db.query(
      "INSERT INTO resolved_windows(since, until, resolved_ms, tracklets, moved) VALUES(?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT(since, until) DO UPDATE SET resolved_ms = excluded.resolved_ms, "
      "tracklets = excluded.tracklets, moved = excluded.moved",
      {window.since_ms, window.until_ms, now_ms(), static_cast<int64_t>(window.tracklets),
       static_cast<int64_t>(moved + merges.size())},
      "storage: resolved window");
    // Whole people that were one: the merge path (rows outside the window
    // and rows re-sent later under the old id follow).
    apply_merges(merges);
    tx.commit();
  }
  return moved + merges.size();
}

std::vector<resolved_window> store::resolved_windows() {
  std::vector<resolved_window> out;
  for (auto& r : db_->query("SELECT since, until, resolved_ms, tracklets, moved FROM resolved_windows "
                            "ORDER BY since, until",
                            {}, "storage: resolved windows"))
    out.push_back({sql::as_int(r[0]), sql::as_int(r[1]), sql::as_int(r[2]), static_cast<size_t>(sql::as_int(r[3])),
                   static_cast<size_t>(sql::as_int(r[4]))});
  return out;
}

bool store::is_resolved(timestamp_ms from_ms, timestamp_ms to_ms) {
  // Covered by the union of the resolved windows (they may overlap or abut).
  timestamp_ms covered = from_ms;
  for (auto& r : db_->query("SELECT since, until FROM resolved_windows WHERE until > ?1 AND since < ?2 "
                            "ORDER BY since",
                            {from_ms, to_ms}, "storage: resolved cover")) {
    if (sql::as_int(r[0]) > covered) return false;
    covered = std::max(covered, sql::as_int(r[1]));
    if (covered >= to_ms) return true;
  }
  return covered >= to_ms;
}

std::optional<timestamp_ms> store::resolved_until() {
  auto v = db_->scalar("SELECT max(until) FROM resolved_windows", {}, "storage: resolved until");
  if (sql::is_null(v)) return std::nullopt;
  return sql::as_int(v);
}

void store::apply_merges(const std::vector<person_merge>& merges) {
  for (const auto& m : merges) {
    const uint64_t into = canonical(m.into);
    if (m.from == into) continue;
    // Move `from`'s rows under `into`: read, delete, upsert (an identical
    // (camera, enter) row of `into` keeps the larger exit).
    auto moved = db_->query("SELECT camera_id, enter, exit FROM people_present WHERE person_id = ?1",
                            {id_value(m.from)}, "storage: merge read");
    db_->query("DELETE FROM people_present WHERE person_id = ?1", {id_value(m.from)}, "storage: merge delete");
    db_->query(
      "INSERT INTO person_merges(from_id, into_id) VALUES(?1, ?2) "
      "ON CONFLICT(from_id) DO UPDATE SET into_id = excluded.into_id",
      {id_value(m.from), id_value(into)}, "storage: merge insert");
    db_->query("UPDATE person_merges SET into_id = ?2 WHERE into_id = ?1", {id_value(m.from), id_value(into)},
               "storage: merge chain");
    db_->query("UPDATE identities SET person_id = ?2 WHERE person_id = ?1", {id_value(m.from), id_value(into)},
               "storage: merge identities");
    db_->query("UPDATE events SET person_id = ?2 WHERE person_id = ?1", {id_value(m.from), id_value(into)},
               "storage: merge events");
    db_->query("UPDATE tracklets SET person_id = ?2 WHERE person_id = ?1", {id_value(m.from), id_value(into)},
               "storage: merge tracklets");
    std::vector<presence> rows;
    for (auto& r : moved)
      rows.push_back({into, static_cast<uint32_t>(sql::as_int(r[0])), sql::as_int(r[1]), sql::as_int(r[2])});
    write_presences(rows);
  }
}

std::optional<timestamp_ms> store::first_tracklet_exit() {
  auto v = db_->scalar("SELECT min(exit) FROM tracklets", {}, "storage: first tracklet");
  if (sql::is_null(v)) return std::nullopt;
  return sql::as_int(v);
}

std::optional<timestamp_ms> store::last_tracklet_exit() {
  auto v = db_->scalar("SELECT max(exit) FROM tracklets", {}, "storage: last tracklet");
  if (sql::is_null(v)) return std::nullopt;
  return sql::as_int(v);
}

void store::write(const presence_batch& b) {
  if (b.identities.empty() && b.rows.empty() && b.merges.empty() && b.zone_visits.empty() && b.tracklets.empty())
    return;
  auto& db = *db_;
  sql::transaction tx{db};
  // Writers take turns, as SQLite's BEGIN IMMEDIATE makes them: with several
  // storage processes on one PostgreSQL database (the chart's
  // storage.replicas), a merge's read-delete-upsert and the canonical-id
  // lookups must not interleave with another writer's batch.
  if (db.kind() == sql::dialect::postgres)
    db.query("SELECT pg_advisory_xact_lock(?1)", {int64_t{0x5765617665720002}}, "storage: writer lock");
  if (!b.identities.empty()) {
    std::map<std::pair<uint32_t, uint64_t>, const identity*> last; // last write wins
    std::vector<uint64_t> people;
    for (const auto& id : b.identities) {
      last[{id.camera_id, id.track_id}] = &id;
      people.push_back(id.person_id);
    }
    const auto canon = canonical(people);
    upsert_all(
      db, "INSERT INTO identities(camera_id, track_id, person_id, confidence)",
      "ON CONFLICT(camera_id, track_id) DO UPDATE SET "
      "person_id = excluded.person_id, confidence = excluded.confidence",
      4, last,
      [&](const auto& item, std::vector<value>& p) {
        const identity& id = *item.second;
        p.push_back(int64_t{id.camera_id});
        p.push_back(id_value(id.track_id));
        p.push_back(id_value(canonical_of(canon, id.person_id)));
        p.push_back(static_cast<double>(id.confidence));
      },
      "storage: write identity");
  }
  write_presences(b.rows);
  write_tracklets(b.tracklets);
  if (!b.zone_visits.empty()) {
    // Open visits have exit < 0; a closed one stays closed (the largest exit).
    std::map<std::tuple<uint32_t, std::string, uint64_t, timestamp_ms>, timestamp_ms> visits;
    for (const auto& v : b.zone_visits) {
      auto [it, added] = visits.try_emplace({v.camera_id, v.zone, v.track_id, v.enter_ms}, v.exit_ms);
      if (!added) it->second = std::max(it->second, v.exit_ms);
    }
    upsert_all(
      db, "INSERT INTO zone_visits(camera_id, zone, track_id, enter, exit)",
      "ON CONFLICT(camera_id, zone, track_id, enter) DO UPDATE SET exit = "
        + db.greatest("zone_visits.exit", "excluded.exit"),
      5, visits,
      [](const auto& item, std::vector<value>& p) {
        const auto& [key, exit] = item;
        p.push_back(int64_t{std::get<0>(key)});
        p.push_back(std::get<1>(key));
        p.push_back(id_value(std::get<2>(key)));
        p.push_back(std::get<3>(key));
        p.push_back(exit < 0 ? int64_t{-1} : exit);
      },
      "storage: write zone visit");
  }
  apply_merges(b.merges);
  tx.commit();
}

void store::clear() {
  sql::transaction tx{*db_};
  for (auto t : {"people_present", "identities", "cameras", "person_merges", "zones", "zone_visits", "events",
                 "tracklets", "resolved_windows", "evidence_crops", "live_frames"})
    db_->exec(std::string("DELETE FROM ") + t, "storage: clear");
  // Event ids start again from 1, as in a new file.
  if (db_->kind() == sql::dialect::sqlite) db_->exec("DELETE FROM sqlite_sequence", "storage: clear");
  tx.commit();
}

std::optional<int64_t> store::add_event(const event_row& e) {
  auto opt = [](const std::optional<uint64_t>& v) -> value {
    if (v) return id_value(*v);
    return sql::null_t{};
  };
  auto rows = db_->query(
    "INSERT INTO events(kind, camera_id, zone, person_id, track_id, time_ms, detail, dedup) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(dedup) DO NOTHING RETURNING id",
    {e.kind, int64_t{e.camera_id}, e.zone, opt(e.person_id), opt(e.track_id), e.time_ms, e.detail, e.dedup},
    "storage: add event");
  if (rows.empty()) return std::nullopt;
  return sql::as_int(rows.front().front());
}

size_t store::delete_older_than(timestamp_ms cutoff_ms) {
  auto& db = *db_;
  sql::transaction tx{db};
  size_t n = 0;
  const std::vector<value> p{cutoff_ms};
  db.query("DELETE FROM people_present WHERE exit < ?1", p, "retention: presences");
  n += db.changes();
  db.query("DELETE FROM zone_visits WHERE exit >= 0 AND exit < ?1", p, "retention: zone visits");
  n += db.changes();
  db.query("DELETE FROM events WHERE time_ms < ?1", p, "retention: events");
  n += db.changes();
  db.query("DELETE FROM tracklets WHERE exit < ?1", p, "retention: tracklets");
  n += db.changes();
  db.query("DELETE FROM resolved_windows WHERE until < ?1", p, "retention: resolved windows");
  n += db.changes();
  n += pictures::delete_older_than(db, cutoff_ms);
  tx.commit();
  return n;
}

std::vector<presence> store::presence_rows() {
  std::vector<presence> out;
  for (auto& r : db_->query("SELECT person_id, camera_id, enter, exit FROM people_present "
                            "ORDER BY person_id, camera_id, enter",
                            {}, "storage: presence rows"))
    out.push_back({static_cast<uint64_t>(sql::as_int(r[0])), static_cast<uint32_t>(sql::as_int(r[1])),
                   sql::as_int(r[2]), sql::as_int(r[3])});
  return out;
}

std::vector<identity> store::identity_rows() {
  std::vector<identity> out;
  for (auto& r : db_->query("SELECT camera_id, track_id, person_id, confidence FROM identities "
                            "ORDER BY camera_id, track_id",
                            {}, "storage: identity rows")) {
    identity i;
    i.camera_id = static_cast<uint32_t>(sql::as_int(r[0]));
    i.track_id = static_cast<uint64_t>(sql::as_int(r[1]));
    i.person_id = static_cast<uint64_t>(sql::as_int(r[2]));
    i.confidence = static_cast<float>(sql::as_double(r[3]));
    out.push_back(i);
  }
  return out;
}

std::vector<zone_visit> store::zone_visit_rows() {
  std::vector<zone_visit> out;
  for (auto& r : db_->query("SELECT camera_id, zone, track_id, enter, exit FROM zone_visits "
                            "ORDER BY camera_id, zone, track_id, enter",
                            {}, "storage: zone visits"))
    out.push_back({static_cast<uint32_t>(sql::as_int(r[0])), static_cast<uint64_t>(sql::as_int(r[2])),
                   sql::as_text(r[1]), sql::as_int(r[3]), sql::as_int(r[4])});
  return out;
}

std::vector<event_row> store::event_rows(int64_t after_id) {
  std::vector<event_row> out;
  for (auto& r : db_->query("SELECT id, kind, camera_id, zone, person_id, track_id, time_ms, detail, dedup "
                            "FROM events WHERE id > ?1 ORDER BY id",
                            {after_id}, "storage: events")) {
    event_row e;
    e.id = sql::as_int(r[0]);
    e.kind = sql::as_text(r[1]);
    e.camera_id = static_cast<uint32_t>(sql::as_int(r[2]));
    e.zone = sql::as_text(r[3]);
    if (!sql::is_null(r[4])) e.person_id = static_cast<uint64_t>(sql::as_int(r[4]));
    if (!sql::is_null(r[5])) e.track_id = static_cast<uint64_t>(sql::as_int(r[5]));
    e.time_ms = sql::as_int(r[6]);
    e.detail = sql::as_text(r[7]);
    e.dedup = sql::as_text(r[8]);
    out.push_back(std::move(e));
  }
  return out;
}

size_t store::count(const char* text) {
  return static_cast<size_t>(sql::as_int(db_->scalar(text, {}, "storage: count")));
}

size_t store::presence_count() { return count("SELECT count(*) FROM people_present"); }
size_t store::identity_count() { return count("SELECT count(*) FROM identities"); }
size_t store::person_count() { return count("SELECT count(DISTINCT person_id) FROM people_present"); }

size_t store::zone_visit_count() { return count("SELECT count(*) FROM zone_visits"); }

std::vector<std::pair<std::string, int64_t>> store::event_counts() {
  std::vector<std::pair<std::string, int64_t>> out;
  for (auto& r : db_->query("SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind", {}, "event counts"))
    out.emplace_back(sql::as_text(r[0]), sql::as_int(r[1]));
  return out;
}

} // namespace weaver
