#include "schemas/codec.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>

#include <flatbuffers/flatbuffers.h>
#include <zstd.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "schemas/compact.hpp"
#include "schemas/envelope_generated.h"

namespace fb = weaver::v1;

namespace weaver::codec {

// The C++ constants and the schema must agree.
static_assert(static_cast<uint16_t>(fb::SchemaVersion::MAX) == schema_version,
              "schema_version must be the highest SchemaVersion in common.fbs");
static_assert(static_cast<int>(fb::Payload::MAX) == static_cast<int>(kind::end_of_stream) + 1,
              "union Payload and codec::kind must list the same kinds");
static_assert(std::variant_size_v<decltype(message::body)> == static_cast<size_t>(kind::end_of_stream) + 1,
              "message::body needs one alternative per kind");
static_assert(static_cast<int>(fb::Payload::Frame) == 1 + static_cast<int>(kind::frame)
                && static_cast<int>(fb::Payload::DetectionBatch) == 1 + static_cast<int>(kind::detections)
                && static_cast<int>(fb::Payload::TrackBatch) == 1 + static_cast<int>(kind::tracks)
                && static_cast<int>(fb::Payload::PresenceBatch) == 1 + static_cast<int>(kind::presence)
                && static_cast<int>(fb::Payload::QueryRequest) == 1 + static_cast<int>(kind::query_request)
                && static_cast<int>(fb::Payload::QueryResponse) == 1 + static_cast<int>(kind::query_response)
                && static_cast<int>(fb::Payload::Heartbeat) == 1 + static_cast<int>(kind::heartbeat)
                && static_cast<int>(fb::Payload::EndOfStream) == 1 + static_cast<int>(kind::end_of_stream),
              "union Payload order must follow codec::kind");
static_assert(static_cast<int>(fb::TrackState::Started) == static_cast<int>(track_state::started)
                && static_cast<int>(fb::TrackState::Updated) == static_cast<int>(track_state::updated)
                && static_cast<int>(fb::TrackState::Ended) == static_cast<int>(track_state::ended),
              "TrackState must match weaver::track_state");

const char* to_string(kind k) {
  switch (k) {
    case kind::frame:
      return "frame";
    case kind::detections:
      return "detections";
    case kind::tracks:
      return "tracks";
    case kind::presence:
      return "presence";
    case kind::query_request:
      return "query_request";
    case kind::query_response:
      return "query_response";
    case kind::heartbeat:
      return "heartbeat";
    case kind::end_of_stream:
      return "end_of_stream";
  }
  return "unknown";
}

namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

// ---------------------------------------------------------------- encoding

// Builders keep their buffer between messages; one that grew past this
// (a huge frame) gives it back instead of holding it for the thread's life.
constexpr size_t keep_builder_bytes = size_t{64} << 20;

FlatBufferBuilder& builder() {
  thread_local FlatBufferBuilder b(size_t{64} << 10);
  b.Clear();
  return b;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// `compress` false: the payload is mostly a JPEG already (a live frame),
// which zstd would spend milliseconds on and not shrink.
std::vector<uint8_t> finish(FlatBufferBuilder& b, fb::Payload type, Offset<void> payload, const std::string& sender,
                            uint64_t seq, bool compress = true) {
  auto sender_off = b.CreateString(sender);
  auto env = fb::CreateEnvelope(b, schema_version, sender_off, seq, now_ms(), type, payload);
  fb::FinishEnvelopeBuffer(b, env);
  const uint8_t* p = b.GetBufferPointer();
  const size_t n = b.GetSize();
  const bool batch =
    type == fb::Payload::DetectionBatch || type == fb::Payload::TrackBatch || type == fb::Payload::PresenceBatch;
  std::vector<uint8_t> out;
  if (compress && batch && n >= 64 && n <= max_inflated_bytes) {
    // Compressed when smaller: features and repeated layouts shrink by a
    // third (README, "Semantic compression"); a tiny batch stays as it is.
    thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx{nullptr, ZSTD_freeCCtx};
    if (!cctx) {
      cctx.reset(ZSTD_createCCtx());
      if (cctx) {
        ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, zstd_level);
        ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 0); // the header has it
        ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 0); // verified after inflating
        ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_dictIDFlag, 0);
      }
    }
    if (cctx) {
      out.resize(8 + ZSTD_compressBound(n));
      const size_t z = ZSTD_compress2(cctx.get(), out.data() + 8, out.size() - 8, p, n);
      if (!ZSTD_isError(z) && 8 + z < n) {
        for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
        std::memcpy(out.data() + 4, compressed_identifier, 4);
        out.resize(8 + z);
        out.shrink_to_fit();
      } else {
        out.clear();
      }
    }
  }
  if (out.empty()) out.assign(p, p + n);
  if (n > keep_builder_bytes) b.Reset();
  return out;
}

fb::Box to_fb(const box& x) { return fb::Box(x.x, x.y, x.w, x.h); }

// TrackEvent.shared: the event's fields that are the batch's (schemas/track.fbs).
constexpr uint8_t shared_camera = 1, shared_time = 2, shared_seq = 4;

// A box in its compact form when it is lossless: exactly one of the two set.
struct wire_box {
  std::optional<fb::Box> plain;
  std::optional<fb::QBox> quarter;
  explicit wire_box(const box& x) {
    if (auto q = compact::exact_quarter_pixels(x))
      quarter.emplace((*q)[0], (*q)[1], (*q)[2], (*q)[3]);
    else
      plain.emplace(to_fb(x));
  }
  const fb::Box* box_ptr() const { return plain ? &*plain : nullptr; }
  const fb::QBox* qbox_ptr() const { return quarter ? &*quarter : nullptr; }
};

// A feature in its int8 form when lossless (float vector 0), else as floats.
struct wire_feature {
  Offset<flatbuffers::Vector<float>> plain = 0;
  Offset<flatbuffers::Vector<int8_t>> q = 0;
  int8_t exp = 0;
  wire_feature(FlatBufferBuilder& b, const std::vector<float>& f) {
    if (f.empty()) return;
    if (auto x = compact::exact_int8(f)) {
      q = b.CreateVector(x->q);
      exp = static_cast<int8_t>(x->exp);
    } else {
      plain = b.CreateVector(f);
    }
  }
};

} // namespace

std::vector<uint8_t> encode(const frame& f, const std::string& sender, uint64_t seq, bool jpeg, int jpeg_quality) {
  const cv::Mat* img = &f.image;
  cv::Mat converted;
  if (!img->empty()) {
    if (img->dims != 2) throw std::invalid_argument("codec: frame image must be 2-dimensional");
    if (img->type() == CV_8UC4) {
      cv::cvtColor(*img, converted, cv::COLOR_BGRA2BGR);
      img = &converted;
    } else if (img->type() != CV_8UC3 && img->type() != CV_8UC1) {
      throw std::invalid_argument("codec: frame image must be CV_8UC3 (BGR8), CV_8UC1 or CV_8UC4");
    }
  }
  const int w = img->empty() ? 0 : img->cols, h = img->empty() ? 0 : img->rows;
  if (w > max_image_side || h > max_image_side || int64_t{w} * h > max_image_pixels)
    throw std::invalid_argument("codec: frame image too large");

  auto& b = builder();
  Offset<flatbuffers::Vector<uint8_t>> pixels = 0;
  fb::PixelFormat format = fb::PixelFormat::BGR8;
  if (!img->empty() && jpeg) {
    thread_local std::vector<uchar> jpg;
    jpg.clear();
    if (!cv::imencode(".jpg", *img, jpg, {cv::IMWRITE_JPEG_QUALITY, jpeg_quality}))
      throw std::runtime_error("codec: JPEG compression failed");
    format = fb::PixelFormat::JPEG;
    pixels = b.CreateVector(jpg.data(), jpg.size());
  } else if (!img->empty()) {
    format = img->channels() == 1 ? fb::PixelFormat::GRAY8 : fb::PixelFormat::BGR8;
    const size_t row = size_t(w) * img->elemSize();
    uint8_t* dst = nullptr;
    pixels = b.CreateUninitializedVector<uint8_t>(row * size_t(h), &dst);
    if (img->isContinuous()) {
      std::memcpy(dst, img->data, row * size_t(h));
    } else {
      for (int y = 0; y < h; ++y) std::memcpy(dst + size_t(y) * row, img->ptr<uint8_t>(y), row);
    }
  }
  auto payload = fb::CreateFrame(b, f.camera_id, f.seq, f.capture_ms, w, h, format, pixels);
  return finish(b, fb::Payload::Frame, payload.Union(), sender, seq);
}

std::vector<uint8_t> encode(const detection_batch& d, const std::string& sender, uint64_t seq) {
  auto& b = builder();
  std::vector<Offset<fb::Detection>> dets;
  dets.reserve(d.detections.size());
  for (const auto& x : d.detections) {
    wire_feature feat(b, x.feature), emb(b, x.embedding);
    wire_box bx(x.bbox);
    dets.push_back(fb::CreateDetection(b, bx.box_ptr(), x.score, x.class_id, feat.plain, emb.plain, bx.qbox_ptr(),
                                       feat.q, feat.exp, emb.q, emb.exp));
  }
  auto vec = b.CreateVector(dets);
  auto payload = fb::CreateDetectionBatch(b, d.camera_id, d.seq, d.capture_ms, d.width, d.height, vec);
  return finish(b, fb::Payload::DetectionBatch, payload.Union(), sender, seq);
}

Offset<flatbuffers::Vector<Offset<fb::ZoneVisit>>> zone_visits(FlatBufferBuilder& b,
                                                               const std::vector<zone_visit>& in) {
  std::vector<Offset<fb::ZoneVisit>> out;
  out.reserve(in.size());
  for (const auto& v : in)
    out.push_back(fb::CreateZoneVisit(b, v.camera_id, v.track_id, b.CreateString(v.zone), v.enter_ms, v.exit_ms));
  return b.CreateVector(out);
}

Offset<flatbuffers::Vector<Offset<fb::EvidenceCrop>>> crops(FlatBufferBuilder& b,
                                                            const std::vector<evidence_crop>& in) {
  if (in.empty()) return 0; // absent: most batches end no track
  std::vector<Offset<fb::EvidenceCrop>> out;
  out.reserve(in.size());
  for (const auto& c : in) {
    auto jpeg = b.CreateVector(reinterpret_cast<const uint8_t*>(c.jpeg.data()), c.jpeg.size());
    out.push_back(fb::CreateEvidenceCrop(b, c.camera_id, c.track_id, c.time_ms, jpeg));
  }
  return b.CreateVector(out);
}

Offset<fb::LiveFrame> live_frame_of(FlatBufferBuilder& b, const std::optional<live_frame>& in) {
  if (!in) return 0;
  std::vector<fb::LiveBox> boxes;
  boxes.reserve(in->boxes.size());
  for (const auto& x : in->boxes) boxes.emplace_back(x.track_id, to_fb(x.bbox), x.score);
  auto boxes_vec = b.CreateVectorOfStructs(boxes);
  auto jpeg = b.CreateVector(reinterpret_cast<const uint8_t*>(in->jpeg.data()), in->jpeg.size());
  // People only when some box has one (a frame without them costs nothing).
  Offset<flatbuffers::Vector<uint64_t>> people = 0;
  if (std::any_of(in->boxes.begin(), in->boxes.end(), [](const live_box& x) { return x.person.has_value(); })) {
    std::vector<uint64_t> ids;
    ids.reserve(in->boxes.size());
    for (const auto& x : in->boxes) ids.push_back(x.person.value_or(0));
    people = b.CreateVector(ids);
  }
  return fb::CreateLiveFrame(b, in->camera_id, in->seq, in->time_ms, in->width, in->height, boxes_vec, jpeg, people);
}

std::vector<uint8_t> encode(const track_batch& t, const std::string& sender, uint64_t seq) {
  auto& b = builder();
  std::vector<Offset<fb::TrackEvent>> events;
  events.reserve(t.events.size());
  for (const auto& e : t.events) {
    wire_feature feat(b, e.feature);
    wire_box bx(e.bbox);
    // What the batch already says is not repeated (zero: not written).
    uint8_t shared = 0;
    if (e.camera_id == t.camera_id) shared |= shared_camera;
    if (e.time_ms == t.time_ms) shared |= shared_time;
    if (e.frame_seq == t.seq) shared |= shared_seq;
    events.push_back(fb::CreateTrackEvent(b, shared & shared_camera ? 0 : e.camera_id, e.track_id,
                                          static_cast<fb::TrackState>(e.state), shared & shared_time ? 0 : e.time_ms,
                                          shared & shared_seq ? 0 : e.frame_seq, bx.box_ptr(), e.score, feat.plain,
                                          bx.qbox_ptr(), feat.q, feat.exp, shared));
  }
  auto vec = b.CreateVector(events);
  auto visits = zone_visits(b, t.zone_visits);
  auto crops_vec = crops(b, t.crops);
  auto live = live_frame_of(b, t.live);
  auto payload = fb::CreateTrackBatch(b, t.camera_id, t.seq, t.time_ms, vec, visits, crops_vec, live);
  return finish(b, fb::Payload::TrackBatch, payload.Union(), sender, seq, !t.live);
}

std::vector<uint8_t> encode(const presence_batch& p, const std::string& sender, uint64_t seq) {
  auto& b = builder();
  std::vector<Offset<fb::Identity>> ids;
  ids.reserve(p.identities.size());
  for (const auto& i : p.identities)
    ids.push_back(fb::CreateIdentity(b, i.camera_id, i.track_id, i.person_id, i.confidence));
  auto ids_vec = b.CreateVector(ids);
  std::vector<Offset<fb::Presence>> rows;
  rows.reserve(p.rows.size());
  for (const auto& r : p.rows) rows.push_back(fb::CreatePresence(b, r.person_id, r.camera_id, r.enter_ms, r.exit_ms));
  auto rows_vec = b.CreateVector(rows);
  std::vector<fb::PersonMerge> merges;
  merges.reserve(p.merges.size());
  for (const auto& m : p.merges) merges.emplace_back(m.from, m.into);
  auto merges_vec = b.CreateVectorOfStructs(merges);
  auto visits = zone_visits(b, p.zone_visits);
  std::vector<Offset<fb::Tracklet>> tracklets;
  tracklets.reserve(p.tracklets.size());
  for (const auto& t : p.tracklets) {
    auto feat = t.feature.empty() ? 0 : b.CreateVector(t.feature);
    fb::Box entry = to_fb(t.entry_box), exit = to_fb(t.exit_box);
    tracklets.push_back(fb::CreateTracklet(b, t.camera_id, t.track_id, t.person_id, t.enter_ms, t.exit_ms, &entry,
                                           &exit, t.confidence, feat));
  }
  auto tracklets_vec = b.CreateVector(tracklets);
  auto crops_vec = crops(b, p.crops);
  auto live = live_frame_of(b, p.live);
  auto payload = fb::CreatePresenceBatch(b, ids_vec, rows_vec, merges_vec, visits, tracklets_vec, crops_vec, live);
  return finish(b, fb::Payload::PresenceBatch, payload.Union(), sender, seq, !p.live);
}

std::vector<uint8_t> encode(const query_request& q, const std::string& sender, uint64_t seq) {
  auto& b = builder();
  std::vector<Offset<fb::Param>> params;
  params.reserve(q.params.size());
  for (const auto& [k, v] : q.params) {
    auto ko = b.CreateString(k);
    auto vo = b.CreateString(v);
    params.push_back(fb::CreateParam(b, ko, vo));
  }
  auto params_vec = b.CreateVector(params);
  auto name = b.CreateString(q.name);
  auto payload = fb::CreateQueryRequest(b, q.id, name, params_vec);
  return finish(b, fb::Payload::QueryRequest, payload.Union(), sender, seq);
}

std::vector<uint8_t> encode(const query_response& r, const std::string& sender, uint64_t seq) {
  auto& b = builder();
  auto err = b.CreateString(r.error);
  auto json = b.CreateString(r.json);
  auto payload = fb::CreateQueryResponse(b, r.id, r.ok, err, json, r.bad_request);
  return finish(b, fb::Payload::QueryResponse, payload.Union(), sender, seq);
}

std::vector<uint8_t> encode(const heartbeat& h, const std::string& sender, uint64_t seq) {
  auto& b = builder();
  auto role = b.CreateString(h.role);
  auto payload = fb::CreateHeartbeat(b, role, h.time_ms, h.ready);
  return finish(b, fb::Payload::Heartbeat, payload.Union(), sender, seq);
}

std::vector<uint8_t> encode(const end_of_stream& e, const std::string& sender, uint64_t seq) {
  auto& b = builder();
  auto payload = fb::CreateEndOfStream(b, e.camera_id, e.frames);
  return finish(b, fb::Payload::EndOfStream, payload.Union(), sender, seq);
}

// ---------------------------------------------------------------- decoding

namespace {

// Verifier limits: our deepest path is Envelope > batch > vector > table >
// vector, so 16 is ample; the table count bounds verification work.
constexpr flatbuffers::uoffset_t max_depth = 16;
constexpr flatbuffers::uoffset_t max_tables = 1u << 20;

bool fail(std::string& err, std::string what) {
  err = std::move(what);
  return false;
}

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

bool finite(float v) { return std::isfinite(v); }

// Reads an optional Box struct; false when a number is not finite.
bool read_box(const fb::Box* in, box& out) {
  if (!in) return true; // absent struct field: the default (all zero) box
  out = box{in->x(), in->y(), in->w(), in->h()};
  return finite(out.x) && finite(out.y) && finite(out.w) && finite(out.h);
}

bool read_feature(const flatbuffers::Vector<float>* in, std::vector<float>& out, std::string& err) {
  if (!in) return true;
  if (in->size() > max_feature_size) {
    err = "feature vector too long (" + std::to_string(in->size()) + " > " + std::to_string(max_feature_size) + ")";
    return false;
  }
  out.resize(in->size());
  for (flatbuffers::uoffset_t i = 0; i < in->size(); ++i) {
    out[i] = in->Get(i);
    if (!finite(out[i])) {
      err = "feature value " + std::to_string(i) + " is not finite";
      return false;
    }
  }
  return true;
}

// A box from whichever form was sent; both at once is refused (which wins
// would be a guess), so is a compact form in a v1 message.
bool read_any_box(const fb::Box* plain, const fb::QBox* quarter, uint16_t version, box& out, std::string& err) {
  if (!quarter) {
    if (read_box(plain, out)) return true;
    return fail(err, "box is not finite");
  }
  if (version < 2) return fail(err, "compact box in a v1 message");
  if (plain) return fail(err, "box sent twice (float and quarter pixels)");
  out = compact::from_quarter_pixels({quarter->x(), quarter->y(), quarter->w(), quarter->h()});
  return true;
}

bool read_any_feature(const flatbuffers::Vector<float>* plain, const flatbuffers::Vector<int8_t>* q, int exp,
                      uint16_t version, std::vector<float>& out, std::string& err) {
  if (!q) return read_feature(plain, out, err);
  if (version < 2) return fail(err, "compact feature in a v1 message");
  if (plain) return fail(err, "feature sent twice (float and int8)");
  if (q->size() > max_feature_size)
    return fail(
      err, "feature vector too long (" + std::to_string(q->size()) + " > " + std::to_string(max_feature_size) + ")");
  if (exp < compact::min_exp || exp > compact::max_exp)
    return fail(err,
                "feature exponent " + std::to_string(exp) + " is outside " + std::to_string(compact::min_exp) + ".."
                  + std::to_string(compact::max_exp));
  out = compact::from_int8(q->data(), q->size(), exp);
  return true;
}

bool check_size(int64_t w, int64_t h, std::string& err) {
  if (w < 0 || h < 0) {
    err = "negative size " + std::to_string(w) + "x" + std::to_string(h);
    return false;
  }
  if (w > max_image_side || h > max_image_side || w * h > max_image_pixels) {
    err = "size " + std::to_string(w) + "x" + std::to_string(h) + " too large";
    return false;
  }
  return true;
}

uint32_t be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

// The image size a JPEG declares in its first SOF segment, read before
// decoding so a small file cannot make us allocate a huge image.
bool jpeg_size(const uint8_t* p, size_t n, int64_t& w, int64_t& h) {
  if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) return false;
  size_t i = 2;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) return false;
    const uint8_t m = p[i + 1];
    if (m == 0xFF) {
      ++i;
      continue;
    } // fill byte
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {
      i += 2;
      continue;
    }
    if (m == 0xD9 || m == 0xDA) return false; // no frame header
    const size_t len = be16(p + i + 2);
    if (len < 2) return false;
    const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    if (sof) {
      if (len < 7 || i + 9 > n) return false;
      h = be16(p + i + 5);
      w = be16(p + i + 7);
      return true;
    }
    i += 2 + len;
  }
  return false;
}

bool png_size(const uint8_t* p, size_t n, int64_t& w, int64_t& h) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (n < 24 || std::memcmp(p, sig, 8) != 0 || std::memcmp(p + 12, "IHDR", 4)) return false;
  w = be32(p + 16);
  h = be32(p + 20);
  return true;
}

bool read_frame(const fb::Frame& in, frame& out, std::string& err) {
  out.camera_id = in.camera_id();
  out.seq = in.seq();
  out.capture_ms = in.capture_ms();
  const int64_t w = in.width(), h = in.height();
  if (!check_size(w, h, err)) return fail(err, "frame: " + err);
  if ((w == 0) != (h == 0)) {
    err = "frame: size " + std::to_string(w) + "x" + std::to_string(h) + " has one empty side";
    return false;
  }
  const auto* px = in.pixels();
  const uint8_t* p = px ? px->data() : nullptr;
  const size_t n = px ? px->size() : 0;
  const auto format = in.format();
  if (w == 0) {
    if (n != 0) return fail(err, "frame: empty frame with pixel data");
    if (static_cast<uint8_t>(format) > static_cast<uint8_t>(fb::PixelFormat::MAX))
      return fail(err, "frame: unknown pixel format");
    out.image = cv::Mat();
    return true;
  }
  switch (format) {
    case fb::PixelFormat::BGR8:
    case fb::PixelFormat::GRAY8: {
      const int ch = format == fb::PixelFormat::BGR8 ? 3 : 1;
      if (n != size_t(w * h * ch)) {
        err = std::string("frame: ") + fb::EnumNamePixelFormat(format) + " " + std::to_string(w) + "x"
          + std::to_string(h) + " needs " + std::to_string(w * h * ch) + " bytes, got " + std::to_string(n);
        return false;
      }
      if (ch == 3) {
        out.image.create(int(h), int(w), CV_8UC3);
        std::memcpy(out.image.data, p, n);
      } else {
        cv::Mat gray(int(h), int(w), CV_8UC1, const_cast<uint8_t*>(p));
        cv::cvtColor(gray, out.image, cv::COLOR_GRAY2BGR);
      }
      return true;
    }
    case fb::PixelFormat::JPEG:
    case fb::PixelFormat::PNG: {
      const bool is_jpeg = format == fb::PixelFormat::JPEG;
      const char* name = is_jpeg ? "JPEG" : "PNG";
      int64_t fw = 0, fh = 0;
      if (!(is_jpeg ? jpeg_size(p, n, fw, fh) : png_size(p, n, fw, fh)))
        return fail(err, std::string("frame: no valid ") + name + " header");
      if (fw != w || fh != h) {
        err = std::string("frame: ") + name + " is " + std::to_string(fw) + "x" + std::to_string(fh) + ", frame says "
          + std::to_string(w) + "x" + std::to_string(h);
        return false;
      }
      if (n > size_t(INT_MAX)) return fail(err, "frame: image file too large");
      cv::Mat img;
      try {
        cv::Mat file(1, int(n), CV_8UC1, const_cast<uint8_t*>(p));
        img = cv::imdecode(file, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
      } catch (const std::exception& e) {
        err = std::string("frame: cannot decode ") + name + ": " + e.what();
        return false;
      }
      if (img.empty() || img.type() != CV_8UC3 || img.cols != w || img.rows != h)
        return fail(err, std::string("frame: cannot decode ") + name);
      out.image = img;
      return true;
    }
  }
  err = "frame: unknown pixel format " + std::to_string(static_cast<unsigned>(format));
  return false;
}

bool read_detections(const fb::DetectionBatch& in, detection_batch& out, uint16_t version, std::string& err) {
  out.camera_id = in.camera_id();
  out.seq = in.seq();
  out.capture_ms = in.capture_ms();
  out.width = in.width();
  out.height = in.height();
  if (!check_size(out.width, out.height, err)) return fail(err, "detections: " + err);
  if (const auto* v = in.detections()) {
    out.detections.resize(v->size());
    for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
      const fb::Detection& d = *v->Get(i);
      detection& x = out.detections[i];
      const std::string where = "detections: detection " + std::to_string(i);
      x.score = d.score();
      x.class_id = d.class_id();
      if (!finite(x.score)) return fail(err, where + ": box or score is not finite");
      if (!read_any_box(d.bbox(), d.qbbox(), version, x.bbox, err)) return fail(err, where + ": " + err);
      if (!read_any_feature(d.feature(), d.qfeature(), d.qfeature_exp(), version, x.feature, err))
        return fail(err, where + ": " + err);
      if (!read_any_feature(d.embedding(), d.qembedding(), d.qembedding_exp(), version, x.embedding, err))
        return fail(err, where + ": embedding: " + err);
    }
  }
  return true;
}

void read_zone_visits(const flatbuffers::Vector<Offset<fb::ZoneVisit>>* v, std::vector<zone_visit>& out) {
  if (!v) return;
  out.resize(v->size());
  for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
    const fb::ZoneVisit& z = *v->Get(i);
    out[i] = zone_visit{z.camera_id(), z.track_id(), z.zone() ? z.zone()->str() : "", z.enter_ms(), z.exit_ms()};
  }
}

// Crops are copied only when no larger than max_crop_bytes: the verifier
// bounds the message, not a crop, and the store refuses no size itself.
bool read_crops(const flatbuffers::Vector<Offset<fb::EvidenceCrop>>* v, std::vector<evidence_crop>& out,
                const char* where, std::string& err) {
  if (!v) return true;
  out.resize(v->size());
  for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
    const fb::EvidenceCrop& c = *v->Get(i);
    const auto* jpeg = c.jpeg();
    size_t n = jpeg ? jpeg->size() : 0;
    if (n > max_crop_bytes)
      return fail(err,
                  std::string(where) + ": crop " + std::to_string(i) + " of " + std::to_string(n) + " bytes (> "
                    + std::to_string(max_crop_bytes) + ")");
    out[i] = evidence_crop{c.camera_id(), c.track_id(), c.time_ms(),
                           jpeg ? std::string(jpeg->begin(), jpeg->end()) : std::string()};
  }
  return true;
}

// A live frame (v3): copied only within max_live_jpeg_bytes and
// max_live_boxes, refused in an older version's message.
bool read_live(const fb::LiveFrame* in, std::optional<live_frame>& out, uint16_t version, const char* where,
               std::string& err) {
  if (!in) return true;
  if (version < 3) return fail(err, std::string(where) + ": live frame in a v" + std::to_string(version) + " message");
  const auto* jpeg = in->jpeg();
  const size_t n = jpeg ? jpeg->size() : 0;
  if (n > max_live_jpeg_bytes)
    return fail(err,
                std::string(where) + ": live frame of " + std::to_string(n) + " bytes (> "
                  + std::to_string(max_live_jpeg_bytes) + ")");
  const auto* boxes = in->boxes();
  const size_t nb = boxes ? boxes->size() : 0;
  if (nb > max_live_boxes)
    return fail(err,
                std::string(where) + ": live frame with " + std::to_string(nb) + " boxes (> "
                  + std::to_string(max_live_boxes) + ")");
  live_frame f;
  f.camera_id = in->camera_id();
  f.seq = in->seq();
  f.time_ms = in->time_ms();
  f.width = in->width();
  f.height = in->height();
  f.boxes.resize(nb);
  for (size_t i = 0; i < nb; ++i) {
    // Structs of a vector are only 4-aligned after verification: copied out.
    fb::LiveBox x;
    std::memcpy(static_cast<void*>(&x), boxes->Data() + i * sizeof(fb::LiveBox), sizeof x);
    f.boxes[i] =
      live_box{x.track_id(), box{x.bbox().x(), x.bbox().y(), x.bbox().w(), x.bbox().h()}, x.score(), std::nullopt};
    if (!finite(f.boxes[i].score))
      return fail(err, std::string(where) + ": live box " + std::to_string(i) + ": score is not finite");
  }
  if (const auto* people = in->people()) {
    if (people->size() != nb)
      return fail(err,
                  std::string(where) + ": live frame with " + std::to_string(people->size()) + " people for "
                    + std::to_string(nb) + " boxes");
    for (size_t i = 0; i < nb; ++i)
      if (people->Get(static_cast<flatbuffers::uoffset_t>(i)) != 0)
        f.boxes[i].person = people->Get(static_cast<flatbuffers::uoffset_t>(i));
  }
  if (jpeg) f.jpeg.assign(jpeg->begin(), jpeg->end());
  out = std::move(f);
  return true;
}

bool read_tracks(const fb::TrackBatch& in, track_batch& out, uint16_t version, std::string& err) {
  read_zone_visits(in.zone_visits(), out.zone_visits);
  if (!read_crops(in.crops(), out.crops, "tracks", err)) return false;
  if (!read_live(in.live(), out.live, version, "tracks", err)) return false;
  out.camera_id = in.camera_id();
  out.seq = in.seq();
  out.time_ms = in.time_ms();
  if (const auto* v = in.events()) {
    out.events.resize(v->size());
    for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
      const fb::TrackEvent& e = *v->Get(i);
      track_event& x = out.events[i];
      const std::string where = "tracks: event " + std::to_string(i);
      const auto state = static_cast<uint8_t>(e.state());
      if (state > static_cast<uint8_t>(fb::TrackState::MAX))
        return fail(err, where + ": unknown state " + std::to_string(state));
      const uint8_t shared = e.shared();
      if (shared != 0 && version < 2) return fail(err, where + ": shared fields in a v1 message");
      if (shared & ~(shared_camera | shared_time | shared_seq))
        return fail(err, where + ": unknown shared fields " + std::to_string(shared));
      if (((shared & shared_camera) && e.camera_id() != 0) || ((shared & shared_time) && e.time_ms() != 0)
          || ((shared & shared_seq) && e.frame_seq() != 0))
        return fail(err, where + ": a field both shared with the batch and sent");
      x.camera_id = shared & shared_camera ? out.camera_id : e.camera_id();
      x.track_id = e.track_id();
      x.state = static_cast<track_state>(state);
      x.time_ms = shared & shared_time ? out.time_ms : e.time_ms();
      x.frame_seq = shared & shared_seq ? out.seq : e.frame_seq();
      x.score = e.score();
      if (!finite(x.score)) return fail(err, where + ": box or score is not finite");
      if (!read_any_box(e.bbox(), e.qbbox(), version, x.bbox, err)) return fail(err, where + ": " + err);
      if (!read_any_feature(e.feature(), e.qfeature(), e.qfeature_exp(), version, x.feature, err))
        return fail(err, where + ": " + err);
    }
  }
  return true;
}

bool read_presence(const fb::PresenceBatch& in, presence_batch& out, uint16_t version, std::string& err) {
  read_zone_visits(in.zone_visits(), out.zone_visits);
  if (!read_crops(in.crops(), out.crops, "presence", err)) return false;
  if (!read_live(in.live(), out.live, version, "presence", err)) return false;
  if (const auto* v = in.identities()) {
    out.identities.resize(v->size());
    for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
      const fb::Identity& d = *v->Get(i);
      identity& x = out.identities[i];
      x.camera_id = d.camera_id();
      x.track_id = d.track_id();
      x.person_id = d.person_id();
      x.confidence = d.confidence();
      if (!finite(x.confidence))
        return fail(err, "presence: identity " + std::to_string(i) + ": confidence is not finite");
    }
  }
  if (const auto* v = in.rows()) {
    out.rows.resize(v->size());
    for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
      const fb::Presence& r = *v->Get(i);
      out.rows[i] = presence{r.person_id(), r.camera_id(), r.enter_ms(), r.exit_ms()};
    }
  }
  if (const auto* v = in.merges()) {
    out.merges.resize(v->size());
    for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
      // A vector of structs is only 4-aligned after verification while
      // PersonMerge needs 8 (found by fuzz_codec under UBSan): copy it out.
      fb::PersonMerge m;
      std::memcpy(static_cast<void*>(&m), v->Data() + i * sizeof(fb::PersonMerge), sizeof m);
      if (m.from() == 0 || m.into() == 0 || m.from() == m.into())
        return fail(err, "presence: merge " + std::to_string(i) + ": bad person ids");
      out.merges[i] = person_merge{m.from(), m.into()};
    }
  }
  if (const auto* v = in.tracklets()) {
    out.tracklets.resize(v->size());
    for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
      const fb::Tracklet& t = *v->Get(i);
      tracklet& x = out.tracklets[i];
      const std::string where = "presence: tracklet " + std::to_string(i);
      x.camera_id = t.camera_id();
      x.track_id = t.track_id();
      x.person_id = t.person_id();
      x.enter_ms = t.enter_ms();
      x.exit_ms = t.exit_ms();
      x.confidence = t.confidence();
      if (!read_box(t.entry_box(), x.entry_box) || !read_box(t.exit_box(), x.exit_box) || !finite(x.confidence))
        return fail(err, where + ": box or confidence is not finite");
      if (const auto* f = t.feature()) {
        if (f->size() > max_tracklet_feature)
          return fail(err,
                      where + ": feature too long (" + std::to_string(f->size()) + " > "
                        + std::to_string(max_tracklet_feature) + ")");
        x.feature.assign(f->begin(), f->end());
      }
    }
  }
  return true;
}

bool read_query_request(const fb::QueryRequest& in, query_request& out) {
  out.id = in.id();
  out.name = str(in.name());
  if (const auto* v = in.params()) {
    out.params.reserve(v->size());
    for (const fb::Param* p : *v) out.params.emplace_back(str(p->key()), str(p->value()));
  }
  return true;
}

// Structural checks shared by decode and peek_kind; on success the envelope
// and its payload (of a known type) are verified.
const fb::Envelope* open(const uint8_t* data, size_t size, std::string& err) {
  if (size < 8) {
    err = "buffer too small (" + std::to_string(size) + " bytes)";
    return nullptr;
  }
  if (!data) {
    err = "no data";
    return nullptr;
  }
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    err = "buffer too large (" + std::to_string(size) + " bytes)";
    return nullptr;
  }
  if (!fb::EnvelopeBufferHasIdentifier(data)) {
    err = std::string("not a weaver envelope (identifier is not ") + fb::EnvelopeIdentifier() + ")";
    return nullptr;
  }
  flatbuffers::Verifier::Options opts;
  opts.max_depth = max_depth;
  opts.max_tables = max_tables;
  flatbuffers::Verifier verifier(data, size, opts);
  if (!fb::VerifyEnvelopeBuffer(verifier)) {
    err = "malformed envelope (flatbuffers verification failed)";
    return nullptr;
  }
  const fb::Envelope* env = fb::GetEnvelope(data);
  if (env->version() < oldest_schema_version || env->version() > schema_version) {
    err = "unsupported schema version " + std::to_string(env->version()) + " (this build speaks "
      + std::to_string(oldest_schema_version) + ".." + std::to_string(schema_version) + ")";
    return nullptr;
  }
  const auto type = env->payload_type();
  if (type == fb::Payload::NONE || !env->payload()) {
    err = "envelope has no payload";
    return nullptr;
  }
  if (static_cast<uint8_t>(type) > static_cast<uint8_t>(fb::Payload::MAX)) {
    err = "unknown payload type " + std::to_string(static_cast<unsigned>(type));
    return nullptr;
  }
  return env;
}

std::optional<message> decode_verified(const uint8_t* data, size_t size, std::string& err) {
  const fb::Envelope* env = open(data, size, err);
  if (!env) return std::nullopt;
  message m;
  m.k = static_cast<kind>(static_cast<uint8_t>(env->payload_type()) - 1);
  m.version = env->version();
  m.sender = str(env->sender());
  m.sequence = env->sequence();
  m.sent_ms = env->sent_ms();
  bool ok = true;
  switch (env->payload_type()) {
    case fb::Payload::Frame:
      ok = read_frame(*env->payload_as_Frame(), m.body.emplace<frame>(), err);
      break;
    case fb::Payload::DetectionBatch:
      ok = read_detections(*env->payload_as_DetectionBatch(), m.body.emplace<detection_batch>(), m.version, err);
      break;
    case fb::Payload::TrackBatch:
      ok = read_tracks(*env->payload_as_TrackBatch(), m.body.emplace<track_batch>(), m.version, err);
      break;
    case fb::Payload::PresenceBatch:
      ok = read_presence(*env->payload_as_PresenceBatch(), m.body.emplace<presence_batch>(), m.version, err);
      break;
    case fb::Payload::QueryRequest:
      ok = read_query_request(*env->payload_as_QueryRequest(), m.body.emplace<query_request>());
      break;
    case fb::Payload::QueryResponse: {
      const auto& in = *env->payload_as_QueryResponse();
      auto& out = m.body.emplace<query_response>();
      out.id = in.id();
      out.ok = in.ok();
      out.error = str(in.error());
      out.json = str(in.json());
      out.bad_request = in.bad_request();
      break;
    }
    case fb::Payload::Heartbeat: {
      const auto& in = *env->payload_as_Heartbeat();
      auto& out = m.body.emplace<heartbeat>();
      out.role = str(in.role());
      out.time_ms = in.time_ms();
      out.ready = in.ready();
      break;
    }
    case fb::Payload::EndOfStream: {
      const auto& in = *env->payload_as_EndOfStream();
      auto& out = m.body.emplace<end_of_stream>();
      out.camera_id = in.camera_id();
      out.frames = in.frames();
      break;
    }
    default: // excluded by open()
      err = "unknown payload type";
      return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return m;
}

// A compressed envelope (compressed_identifier) inflated into `out`; false,
// with the reason, for one that is not. Untouched (true, `out` empty) when
// the bytes are not compressed.
bool inflate(const uint8_t* data, size_t size, std::vector<uint8_t>& out, std::string& err) {
  if (!data || size < 8 || std::memcmp(data + 4, compressed_identifier, 4) != 0) return true;
  const size_t n = size_t(data[0]) | size_t(data[1]) << 8 | size_t(data[2]) << 16 | size_t(data[3]) << 24;
  if (n < 8 || n > max_inflated_bytes)
    return fail(
      err, "compressed envelope of " + std::to_string(n) + " bytes (8.." + std::to_string(max_inflated_bytes) + ")");
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx{nullptr, ZSTD_freeDCtx};
  if (!dctx) dctx.reset(ZSTD_createDCtx());
  if (!dctx) return fail(err, "no zstd context");
  out.resize(n);
  const size_t got = ZSTD_decompressDCtx(dctx.get(), out.data(), n, data + 8, size - 8);
  if (ZSTD_isError(got)) return fail(err, std::string("compressed envelope: ") + ZSTD_getErrorName(got));
  if (got != n)
    return fail(err, "compressed envelope inflates to " + std::to_string(got) + " bytes, says " + std::to_string(n));
  if (std::memcmp(out.data() + 4, compressed_identifier, 4) == 0)
    return fail(err, "compressed envelope inside a compressed envelope");
  return true;
}

// FlatBuffers reads scalars in place: hand it 8-byte aligned memory.
bool aligned(const uint8_t* p) { return reinterpret_cast<uintptr_t>(p) % 8 == 0; }

} // namespace

std::optional<message> decode(const uint8_t* data, size_t size, std::string* error) {
  std::string err;
  std::optional<message> m;
  try {
    std::vector<uint8_t> inflated;
    if (!inflate(data, size, inflated, err)) {
      if (error) *error = err;
      return std::nullopt;
    }
    if (!inflated.empty()) {
      data = inflated.data();
      size = inflated.size();
      m = decode_verified(data, size, err);
    } else if (data && !aligned(data) && size < FLATBUFFERS_MAX_BUFFER_SIZE) {
      std::vector<uint8_t> copy(data, data + size);
      m = decode_verified(copy.data(), copy.size(), err);
    } else {
      m = decode_verified(data, size, err);
    }
  } catch (const std::exception& e) {
    m.reset();
    err = std::string("decode failed: ") + e.what();
  } catch (...) {
    m.reset();
    err = "decode failed";
  }
  if (!m && error) *error = err.empty() ? "decode failed" : err;
  return m;
}

// ------------------------------------------------------- semantic checks

namespace {

std::optional<invalid> bad(const char* reason, std::string detail) { return invalid{reason, std::move(detail)}; }

bool time_ok(timestamp_ms t) { return t >= 0 && t <= max_time_ms; }

std::optional<invalid> check_time(timestamp_ms t, const std::string& what) {
  if (time_ok(t)) return std::nullopt;
  return bad("time", what + " " + std::to_string(t) + " ms is outside 0.." + std::to_string(max_time_ms));
}

std::optional<invalid> check_id(uint64_t id, const std::string& what, bool zero_ok = true) {
  if ((id != 0 || zero_ok) && id <= max_id) return std::nullopt;
  return bad("id",
             what + " " + std::to_string(id) + " is outside " + (zero_ok ? "0" : "1") + ".." + std::to_string(max_id));
}

std::optional<invalid> check_box(const box& b, const std::string& what) {
  auto coord = [](float v) { return std::isfinite(v) && std::fabs(v) <= max_box_coordinate; };
  auto side = [](float v) { return std::isfinite(v) && v >= 0 && v <= max_box_coordinate; };
  if (coord(b.x) && coord(b.y) && side(b.w) && side(b.h)) return std::nullopt;
  return bad("box",
             what + " box (" + std::to_string(b.x) + ", " + std::to_string(b.y) + ", " + std::to_string(b.w) + ", "
               + std::to_string(b.h) + ") is not inside a " + std::to_string(max_image_side) + " px frame");
}

std::optional<invalid> check_visits(const std::vector<zone_visit>& visits, const std::string& where) {
  for (size_t i = 0; i < visits.size(); ++i)
    if (auto e = validate(visits[i])) {
      e->detail = where + "zone visit " + std::to_string(i) + ": " + e->detail;
      return e;
    }
  return std::nullopt;
}

// The first problem of a batch's items, its detail prefixed with where.
template <class T>
std::optional<invalid> check_all(const std::vector<T>& items, const std::string& where) {
  for (size_t i = 0; i < items.size(); ++i)
    if (auto e = validate(items[i])) {
      e->detail = where + " " + std::to_string(i) + ": " + e->detail;
      return e;
    }
  return std::nullopt;
}

std::optional<invalid> check_body(const frame& f) { return check_time(f.capture_ms, "frame: capture time"); }

std::optional<invalid> check_body(const detection_batch& b) {
  if (auto e = check_time(b.capture_ms, "detections: capture time")) return e;
  for (size_t i = 0; i < b.detections.size(); ++i)
    if (auto e = check_box(b.detections[i].bbox, "detections: detection " + std::to_string(i) + ":")) return e;
  return std::nullopt;
}

std::optional<invalid> check_body(const track_batch& b) {
  if (auto e = check_time(b.time_ms, "tracks: batch time")) return e;
  for (size_t i = 0; i < b.events.size(); ++i) {
    const auto& ev = b.events[i];
    const std::string where = "tracks: event " + std::to_string(i) + ":";
    if (auto e = check_time(ev.time_ms, where + " time")) return e;
    if (auto e = check_id(ev.track_id, where + " track id")) return e;
    if (auto e = check_box(ev.bbox, where)) return e;
  }
  if (auto e = check_all(b.crops, "tracks: crop")) return e;
  if (b.live) {
    if (b.live->camera_id != b.camera_id)
      return bad("id",
                 "tracks: live frame of camera " + std::to_string(b.live->camera_id) + " in a batch of camera "
                   + std::to_string(b.camera_id));
    if (auto e = validate(*b.live)) {
      e->detail = "tracks: live frame: " + e->detail;
      return e;
    }
  }
  return check_visits(b.zone_visits, "tracks: ");
}

std::optional<invalid> check_body(const presence_batch& b) {
  if (auto e = check_all(b.identities, "presence: identity")) return e;
  if (auto e = check_all(b.rows, "presence: row")) return e;
  if (auto e = check_all(b.merges, "presence: merge")) return e;
  if (auto e = check_all(b.tracklets, "presence: tracklet")) return e;
  if (auto e = check_all(b.crops, "presence: crop")) return e;
  if (b.live)
    if (auto e = validate(*b.live)) {
      e->detail = "presence: live frame: " + e->detail;
      return e;
    }
  return check_visits(b.zone_visits, "presence: ");
}

std::optional<invalid> check_body(const query_request& q) {
  if (q.name.size() > max_name_bytes) return bad("name", "query: name of " + std::to_string(q.name.size()) + " bytes");
  return std::nullopt;
}

std::optional<invalid> check_body(const query_response&) { return std::nullopt; }
std::optional<invalid> check_body(const heartbeat& h) { return check_time(h.time_ms, "heartbeat: time"); }
std::optional<invalid> check_body(const end_of_stream&) { return std::nullopt; }

} // namespace

namespace {

// enter and exit in range, exit not before enter.
std::optional<invalid> check_interval(int64_t enter_ms, int64_t exit_ms) {
  if (auto e = check_time(enter_ms, "enter")) return e;
  if (auto e = check_time(exit_ms, "exit")) return e;
  if (exit_ms < enter_ms)
    return bad("order", "exit " + std::to_string(exit_ms) + " before enter " + std::to_string(enter_ms));
  return std::nullopt;
}

} // namespace

std::optional<invalid> validate(const presence& r) {
  if (auto e = check_id(r.person_id, "person id", false)) return e;
  return check_interval(r.enter_ms, r.exit_ms);
}

std::optional<invalid> validate(const identity& d) {
  if (auto e = check_id(d.person_id, "person id", false)) return e;
  return check_id(d.track_id, "track id");
}

std::optional<invalid> validate(const zone_visit& v) {
  if (auto e = check_id(v.track_id, "track id")) return e;
  if (v.zone.empty() || v.zone.size() > max_name_bytes)
    return bad("name", "zone name of " + std::to_string(v.zone.size()) + " bytes");
  if (v.exit_ms < 0) return check_time(v.enter_ms, "enter"); // still inside
  return check_interval(v.enter_ms, v.exit_ms);
}

std::optional<invalid> validate(const person_merge& m) {
  if (auto e = check_id(m.from, "from person id", false)) return e;
  return check_id(m.into, "into person id", false);
}

std::optional<invalid> validate(const tracklet& t) {
  if (auto e = check_id(t.person_id, "person id", false)) return e;
  if (auto e = check_id(t.track_id, "track id")) return e;
  if (auto e = check_interval(t.enter_ms, t.exit_ms)) return e;
  if (auto e = check_box(t.entry_box, "entry")) return e;
  if (auto e = check_box(t.exit_box, "exit")) return e;
  if (!(t.confidence >= 0 && t.confidence <= 1)) // NaN fails too
    return bad("score", "confidence " + std::to_string(t.confidence) + " is outside 0..1");
  if (t.feature.size() > max_tracklet_feature)
    return bad("size", "feature of " + std::to_string(t.feature.size()) + " values");
  return std::nullopt;
}

std::optional<invalid> validate(const evidence_crop& c) {
  if (auto e = check_id(c.track_id, "track id")) return e;
  if (auto e = check_time(c.time_ms, "time")) return e;
  if (c.jpeg.empty() || c.jpeg.size() > max_crop_bytes)
    return bad("size",
               "crop of " + std::to_string(c.jpeg.size()) + " bytes (1.." + std::to_string(max_crop_bytes) + ")");
  // SOI and the next marker's FF: served as image/jpeg, so it must look like one.
  if (c.jpeg.size() < 3 || static_cast<uint8_t>(c.jpeg[0]) != 0xFF || static_cast<uint8_t>(c.jpeg[1]) != 0xD8
      || static_cast<uint8_t>(c.jpeg[2]) != 0xFF)
    return bad("format", "crop does not start like a JPEG");
  return std::nullopt;
}

std::optional<invalid> validate(const live_frame& f) {
  if (auto e = check_time(f.time_ms, "time")) return e;
  if (f.seq > max_id)
    return bad("id", "frame number " + std::to_string(f.seq) + " is outside 0.." + std::to_string(max_id));
  if (f.width < 1 || f.height < 1 || f.width > max_image_side || f.height > max_image_side)
    return bad("size", "frame of " + std::to_string(f.width) + "x" + std::to_string(f.height) + " px");
  if (f.boxes.size() > max_live_boxes) return bad("size", std::to_string(f.boxes.size()) + " boxes");
  for (size_t i = 0; i < f.boxes.size(); ++i) {
    const std::string where = "box " + std::to_string(i) + ":";
    if (auto e = check_id(f.boxes[i].track_id, where + " track id")) return e;
    if (auto e = check_box(f.boxes[i].bbox, where)) return e;
    if (!std::isfinite(f.boxes[i].score)) return bad("score", where + " score is not finite");
    if (f.boxes[i].person)
      if (auto e = check_id(*f.boxes[i].person, where + " person id", false)) return e;
  }
  if (f.jpeg.size() < 4 || f.jpeg.size() > max_live_jpeg_bytes)
    return bad(
      "size",
      "picture of " + std::to_string(f.jpeg.size()) + " bytes (4.." + std::to_string(max_live_jpeg_bytes) + ")");
  // SOI, the next marker's FF, and EOI at the end: served as image/jpeg.
  auto byte = [&f](size_t i) { return static_cast<uint8_t>(f.jpeg[i]); };
  const size_t n = f.jpeg.size();
  if (byte(0) != 0xFF || byte(1) != 0xD8 || byte(2) != 0xFF || byte(n - 2) != 0xFF || byte(n - 1) != 0xD9)
    return bad("format", "picture is not a whole JPEG");
  return std::nullopt;
}

std::optional<invalid> validate(const message& m) {
  if (m.sender.empty() || m.sender.size() > max_sender_bytes)
    return bad(
      "sender",
      "sender id of " + std::to_string(m.sender.size()) + " bytes (1.." + std::to_string(max_sender_bytes) + ")");
  return std::visit([](const auto& body) { return check_body(body); }, m.body);
}

std::optional<kind> peek_kind(const uint8_t* data, size_t size) {
  try {
    std::string err;
    std::vector<uint8_t> copy;
    if (!inflate(data, size, copy, err)) return std::nullopt;
    if (!copy.empty()) {
      data = copy.data();
      size = copy.size();
    } else if (data && !aligned(data) && size < FLATBUFFERS_MAX_BUFFER_SIZE) {
      copy.assign(data, data + size);
      data = copy.data();
    }
    const fb::Envelope* env = open(data, size, err);
    if (!env) return std::nullopt;
    return static_cast<kind>(static_cast<uint8_t>(env->payload_type()) - 1);
  } catch (...) {
    return std::nullopt;
  }
}

} // namespace weaver::codec
