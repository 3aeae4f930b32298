#include "actors/reid/reid_recording.hpp"

#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "schemas/codec.hpp"

namespace weaver {

namespace {

// The first line of a recording: what it is and its record format.
const std::string header = "weaver reid input 1\n";
constexpr uint32_t max_record = 1u << 28; // larger is a broken file, not a batch

} // namespace

reid_recorder::reid_recorder(const std::string& path) : out_(path, std::ios::binary), path_(path) {
  if (!out_ || !(out_ << header)) throw std::runtime_error("cannot write " + path);
  out_.flush();
}

void reid_recorder::put(const std::vector<uint8_t>& bytes) {
  // Little-endian length, then the envelope.
  const auto n = static_cast<uint32_t>(bytes.size());
  char len[4] = {char(n & 0xff), char((n >> 8) & 0xff), char((n >> 16) & 0xff), char((n >> 24) & 0xff)};
  out_.write(len, 4);
  out_.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  // Flushed each time: a run that is killed still leaves what it recorded.
  out_.flush();
  if (!out_) throw std::runtime_error("cannot write " + path_);
}

void reid_recorder::write(const track_batch& b) {
  std::lock_guard<std::mutex> lock{mtx_};
  put(codec::encode(b, "record", seq_++));
}

void reid_recorder::write(const end_of_stream& e) {
  std::lock_guard<std::mutex> lock{mtx_};
  put(codec::encode(e, "record", seq_++));
}

std::string reid_recording_path(const std::string& tracks_dir) {
  return (std::filesystem::path(tracks_dir) / "reid-input.rec").string();
}

std::vector<reid_input> read_reid_recording(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string first(header.size(), '\0');
  if (!in.read(first.data(), static_cast<std::streamsize>(first.size())) || first != header)
    throw std::runtime_error(path + ": not a re-id recording (no '" + header.substr(0, header.size() - 1) + "' line)");
  std::vector<reid_input> out;
  std::vector<uint8_t> buf;
  for (uint64_t record = 0;; ++record) {
    unsigned char len[4];
    if (!in.read(reinterpret_cast<char*>(len), 4)) {
      if (in.gcount() == 0) break; // the end, between records
      throw std::runtime_error(path + ": record " + std::to_string(record) + " is cut short");
    }
    const uint32_t n = uint32_t(len[0]) | uint32_t(len[1]) << 8 | uint32_t(len[2]) << 16 | uint32_t(len[3]) << 24;
    if (n > max_record) throw std::runtime_error(path + ": record " + std::to_string(record) + " is too large");
    buf.resize(n);
    if (!in.read(reinterpret_cast<char*>(buf.data()), n))
      throw std::runtime_error(path + ": record " + std::to_string(record) + " is cut short");
    std::string why;
    auto m = codec::decode(buf.data(), buf.size(), &why);
    if (!m) throw std::runtime_error(path + ": record " + std::to_string(record) + ": " + why);
    if (auto* tb = std::get_if<track_batch>(&m->body))
      out.emplace_back(std::move(*tb));
    else if (auto* e = std::get_if<end_of_stream>(&m->body))
      out.emplace_back(*e);
    else
      throw std::runtime_error(path + ": record " + std::to_string(record) + ": a " + codec::to_string(m->k)
                               + " message, not re-id input");
  }
  return out;
}

} // namespace weaver
