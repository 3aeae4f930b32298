#include "actors/sent_bytes.hpp"

#include <map>
#include <mutex>

namespace weaver {

namespace {

std::mutex remote_mtx;
std::map<std::string, int> remote_links; // link -> bridges serving it

} // namespace

void set_remote_link(const std::string& link, bool remote) {
  std::lock_guard<std::mutex> lock(remote_mtx);
  auto& n = remote_links[link];
  n += remote ? 1 : -1;
  if (n <= 0) remote_links.erase(link);
}

bool remote_link(const std::string& link) {
  std::lock_guard<std::mutex> lock(remote_mtx);
  return remote_links.count(link) > 0;
}

} // namespace weaver
