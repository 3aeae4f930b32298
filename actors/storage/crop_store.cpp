#include "actors/storage/crop_store.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace weaver {

namespace fs = std::filesystem;

crop_store::crop_store(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) throw std::invalid_argument("crop_store: no folder");
}

std::string crop_store::path(uint32_t camera, uint64_t track) const {
  return dir_ + "/" + std::to_string(camera) + "/" + std::to_string(track) + ".jpg";
}

void crop_store::put(uint32_t camera, uint64_t track, const std::string& jpeg) {
  if (jpeg.empty() || jpeg.size() > max_bytes)
    throw std::runtime_error("crop " + path(camera, track) + ": " + std::to_string(jpeg.size()) + " bytes");
  std::error_code ec;
  fs::create_directories(dir_ + "/" + std::to_string(camera), ec);
  const auto to = path(camera, track), tmp = to + ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    out.write(jpeg.data(), static_cast<std::streamsize>(jpeg.size()));
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  fs::rename(tmp, to, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw std::runtime_error("cannot write " + to);
  }
}

std::optional<std::string> crop_store::get(uint32_t camera, uint64_t track) const {
  const auto p = path(camera, track);
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec || size == 0 || size > max_bytes) return std::nullopt;
  std::ifstream in{p, std::ios::binary};
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) return std::nullopt;
  return bytes;
}

size_t crop_store::delete_older_than(std::chrono::system_clock::time_point cutoff) {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return 0;
  // file_clock and system_clock differ in epoch: compare through "now".
  const auto file_cutoff = fs::file_time_type::clock::now()
    - std::chrono::duration_cast<fs::file_time_type::duration>(std::chrono::system_clock::now() - cutoff);
  std::vector<fs::path> old; // collected first: no removal while iterating
  for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code e2;
    if (!it->is_regular_file(e2)) continue;
    auto t = it->last_write_time(e2);
    if (!e2 && t < file_cutoff) old.push_back(it->path());
  }
  size_t n = 0;
  for (auto& p : old) n += fs::remove(p, ec) ? 1 : 0;
  return n;
}

void crop_store::clear() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

} // namespace weaver
