// Pictures in the store, beside the rows: one evidence crop per camera-local
// track (actors/tracker/evidence; table evidence_crops) and each camera's
// latest live frame from the mesh (actors/tracker/live_sampler; table
// live_frames, one row per camera, replaced by a newer one). The JPEGs are
// blobs (SQLite BLOB, PostgreSQL BYTEA), so SQLite and PostgreSQL keep and
// serve them alike and a query role in another process reads them through
// its own connection. Sizes are capped (base/types.hpp) and everything is
// checked with codec::validate on the way in and again on the way out (a
// row is read as untrusted). Retention deletes them with the rows, by the
// time of the frame they were cut from (store::delete_older_than). Plain
// functions over sql::database, no CAF.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "actors/storage/database.hpp"
#include "base/types.hpp"

namespace weaver {

/// A live frame's JSON form, for the query role's answer and the gateway's
/// reading of it: camera, seq, time_ms, width, height, boxes (track, x, y,
/// w, h, score), the JPEG in base64 and, when given, kept_ms (when storage
/// kept it, wall clock).
nlohmann::json live_frame_to_json(const live_frame& f, std::optional<timestamp_ms> kept_ms = std::nullopt);

/// Back from that form, as camera `camera`'s (a "camera" field, when there,
/// must say the same): nothing when a field is missing or of another type,
/// the boxes are too many or the JPEG is not base64. Not validated: callers
/// run codec::validate.
std::optional<live_frame> live_frame_from_json(const nlohmann::json& j, uint32_t camera);

/// A live frame as the store keeps it: the frame and when it was kept.
struct kept_live_frame {
  live_frame frame;
  timestamp_ms kept_ms = 0; // wall clock when storage wrote it
};

namespace pictures {

/// Keeps a track's crop, replacing an earlier one. Throws
/// std::invalid_argument when it does not pass codec::validate, and
/// std::runtime_error from the database.
void put_crop(sql::database& db, const evidence_crop& c);

/// A track's crop, or nothing (none, or a row that does not pass
/// codec::validate).
std::optional<std::string> crop(sql::database& db, uint32_t camera, uint64_t track);

/// Keeps `f` as its camera's live frame, in place of the one kept before
/// (whatever its seq: a restarted camera starts again from 0), stamped with
/// `kept_ms`. Throws as put_crop.
void put_live(sql::database& db, const live_frame& f, timestamp_ms kept_ms);

/// The camera's live frame, or nothing (none, or one that does not pass
/// codec::validate).
std::optional<kept_live_frame> live(sql::database& db, uint32_t camera);

/// Retention (inside the caller's transaction, if any): deletes the crops
/// and live frames of frames before `cutoff_ms`; their number.
size_t delete_older_than(sql::database& db, timestamp_ms cutoff_ms);

} // namespace pictures

} // namespace weaver
