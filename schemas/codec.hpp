// The mesh codec: Weaver's messages (base/types.hpp) to and from the
// FlatBuffers envelope of schemas/envelope.fbs (namespace weaver.v1).
//
// Encoding writes one Envelope {version, sender, sequence, sent_ms, payload}
// per message; the payload's union type is the message kind. Decoding first
// runs flatbuffers::Verifier over the bytes, then checks what a verifier
// cannot see (identifier, version, sizes, finite numbers, decodable images)
// and reports any problem as a value: decode never throws or crashes, whatever
// the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/types.hpp"

namespace weaver::codec {

/// The schema version this build writes (3: weaver.v1 with the compact
/// fields of schemas/compact.hpp and live frames), and the oldest it still
/// decodes (1: the same tables without them; its messages read as they
/// always did). A newer version is refused (its new fields would be read as
/// absent), and so is a field of a later version in an older message (a
/// compact box in v1, a live frame in v1 or v2): schemas/common.fbs.
constexpr uint16_t schema_version = 3;
constexpr uint16_t oldest_schema_version = 1;

/// The four bytes at offset 4 of every envelope (schemas/envelope.fbs).
constexpr const char* file_identifier = "WVR1";

/// A compressed envelope (v2): bytes 0..3 the size of the envelope inside
/// (uint32, little-endian), 4..7 this identifier, then one zstd frame of
/// the envelope. Batches of detections, tracks and presence go compressed
/// when that is smaller; a v1 build refuses them by their identifier.
constexpr const char* compressed_identifier = "WVRZ";
constexpr size_t max_inflated_bytes = size_t{64} << 20; // decode refuses more
constexpr int zstd_level = 19; // small messages: even the slowest level is cheap (README, "Semantic compression")

/// Limits decode enforces on untrusted input.
constexpr int32_t max_image_side = 16384; // frame width / height
constexpr int64_t max_image_pixels = 1LL << 26; // frame width * height
constexpr size_t max_feature_size = 1 << 16; // floats per feature vector

/// The message kind: the union type of the envelope's payload. The order is
/// that of `message::body`'s alternatives and of schemas' `union Payload`.
enum class kind : uint8_t {
  frame,
  detections,
  tracks,
  presence,
  query_request,
  query_response,
  heartbeat,
  end_of_stream
};

/// "frame", "detections", ... ("unknown" for a value out of range).
const char* to_string(kind k);

/// Encoders. Each returns one finished envelope (the bytes to send) stamped
/// with schema_version, `sender`, `seq` and the current time. They reuse a
/// thread_local FlatBufferBuilder, so the only allocation per message is the
/// returned vector (exact size). They are thread-safe.
///
/// Detection and track boxes and features go in their compact forms (int16
/// quarter pixels, int8 steps of a power of two) when that is lossless, else
/// as floats: decode(encode(x)) == x either way (schemas/compact.hpp).
///
/// A frame's image may be a ROI view (non-continuous); it is written row by
/// row. CV_8UC3 is written as BGR8, CV_8UC1 as GRAY8, CV_8UC4 is converted
/// to BGR8; with `jpeg` the image is JPEG-compressed (cv::imencode, quality
/// `jpeg_quality`). Other image types throw std::invalid_argument, and a
/// failed JPEG compression throws std::runtime_error (programming errors,
/// never caused by received bytes).
std::vector<uint8_t> encode(const frame& f, const std::string& sender, uint64_t seq, bool jpeg = false,
                            int jpeg_quality = 90);
std::vector<uint8_t> encode(const detection_batch& b, const std::string& sender, uint64_t seq);
std::vector<uint8_t> encode(const track_batch& b, const std::string& sender, uint64_t seq);
std::vector<uint8_t> encode(const presence_batch& b, const std::string& sender, uint64_t seq);
std::vector<uint8_t> encode(const query_request& q, const std::string& sender, uint64_t seq);
std::vector<uint8_t> encode(const query_response& r, const std::string& sender, uint64_t seq);
std::vector<uint8_t> encode(const heartbeat& h, const std::string& sender, uint64_t seq);
std::vector<uint8_t> encode(const end_of_stream& e, const std::string& sender, uint64_t seq);

/// A decoded envelope. `body.index() == static_cast<size_t>(k)`.
struct message {
  kind k = kind::frame;
  uint16_t version = schema_version;
  std::string sender;
  uint64_t sequence = 0;
  timestamp_ms sent_ms = 0;
  std::variant<frame, detection_batch, track_batch, presence_batch, query_request, query_response, heartbeat,
               end_of_stream>
    body;
};

/// Semantic limits: what a well-formed message may claim. Verification
/// proves the bytes are a readable envelope; these catch the believable-
/// looking junk a flipped bit or a forger writes (negative times, an exit
/// before its enter, ids near 2^64), before anything is stored or acted on.
constexpr timestamp_ms max_time_ms = 253402300799999; // 9999-12-31T23:59:59.999Z
constexpr uint64_t max_id = (uint64_t{1} << 53) - 1; // person / track ids: exact as JSON numbers
constexpr float max_box_coordinate = float(max_image_side); // |x|, |y|, and w, h, in pixels
constexpr size_t max_sender_bytes = 256; // an envelope's sender id
constexpr size_t max_name_bytes = 256; // zone names, query names

/// Why a decoded message is not believable: `reason` is a metric label
/// (sender, time, id, box, name, order, score, size), `detail` names the item.
struct invalid {
  std::string reason;
  std::string detail;
};

/// The semantic checks of one decoded message (decode does not run them:
/// the receiver decides what to do with a message that is well-formed but
/// not believable). nullopt when it passes.
std::optional<invalid> validate(const message& m);

/// The checks of one stored item, for the storage role's own last check
/// (batches from a local reid never pass a decoder).
std::optional<invalid> validate(const presence& row);
std::optional<invalid> validate(const identity& id);
std::optional<invalid> validate(const zone_visit& visit);
std::optional<invalid> validate(const person_merge& merge);
std::optional<invalid> validate(const tracklet& t);
std::optional<invalid> validate(const evidence_crop& crop);
/// A live frame: time, frame size, boxes, and a whole JPEG (SOI ... EOI)
/// of 4..max_live_jpeg_bytes. Whether its camera is known is the
/// receiver's check (the codec knows no cameras).
std::optional<invalid> validate(const live_frame& frame);

/// Verifies and decodes one envelope. Returns nullopt, with the reason in
/// `*error` when given, for anything that is not a well-formed weaver.v1
/// envelope: failed verification, wrong identifier, unknown version, missing
/// or unknown payload, and semantic errors (raw pixel count != width * height
/// * channels, negative or absurd sizes, unknown enum values, non-finite
/// boxes / scores / features, an undecodable or mis-sized JPEG/PNG, ...).
/// A decoded frame always holds an owning, continuous CV_8UC3 image of
/// width x height (GRAY8 is expanded to BGR). `data` need not be aligned.
std::optional<message> decode(const uint8_t* data, size_t size, std::string* error = nullptr);

/// The kind of a verified envelope of this schema version, without decoding
/// it (no semantic checks); nullopt when decode would fail verification,
/// identifier, version or payload-type checks.
std::optional<kind> peek_kind(const uint8_t* data, size_t size);

} // namespace weaver::codec
