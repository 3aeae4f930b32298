#include "actors/sent_bytes.hpp"

#include <map>
#include <mutex>
#include <utility>
#include <vector>

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

void count_sent_tracks(const run_stats_ptr& stats, const std::string& link, track_batch& tb) {
  std::vector<std::pair<size_t, std::vector<float>>> kept; // event index, its feature
  for (size_t i = 0; i < tb.events.size(); ++i) {
    auto& e = tb.events[i];
    if (e.state == track_state::ended || e.feature.empty()) continue;
    kept.emplace_back(i, std::move(e.feature));
    e.feature.clear();
  }
  count_sent(stats, link, tb);
  for (auto& [i, f] : kept) tb.events[i].feature = std::move(f);
}

} // namespace weaver
