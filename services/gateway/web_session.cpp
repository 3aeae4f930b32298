#include "services/gateway/web_session.hpp"

#include <stdexcept>

#include <sys/random.h>

namespace weaver::gateway {

session_store::session_store(std::chrono::seconds ttl, size_t max_sessions)
  : ttl_(ttl), max_(max_sessions == 0 ? 1 : max_sessions) {}

std::string random_hex_id() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    auto n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) throw std::runtime_error("getrandom failed: no session id");
    got += static_cast<size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

void session_store::drop_expired(clock::time_point now) {
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = it->second.expires <= now ? sessions_.erase(it) : std::next(it);
}

std::string session_store::open(const std::string& token_name, clock::time_point now) {
  auto id = random_hex_id();
  std::lock_guard<std::mutex> lock{mutex_};
  drop_expired(now);
  while (sessions_.size() >= max_) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
      if (it->second.expires < oldest->second.expires) oldest = it;
    sessions_.erase(oldest);
  }
  sessions_[id] = session{token_name, now + ttl_};
  return id;
}

std::optional<std::string> session_store::find(const std::string& id, clock::time_point now) {
  // Ids are 256 random bits: a lookup's timing cannot be walked towards one.
  if (id.size() != 64) return std::nullopt;
  std::lock_guard<std::mutex> lock{mutex_};
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second.token_name;
}

bool session_store::close(const std::string& id) {
  std::lock_guard<std::mutex> lock{mutex_};
  return sessions_.erase(id) > 0;
}

size_t session_store::size() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return sessions_.size();
}

std::string cookie_value(const std::string& header, const std::string& name) {
  // "a=1; b=2": pairs split by ';', optional spaces around them.
  size_t at = 0;
  while (at < header.size()) {
    auto end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    auto pair = header.substr(at, end - at);
    auto first = pair.find_first_not_of(' ');
    if (first != std::string::npos) {
      pair = pair.substr(first);
      auto eq = pair.find('=');
      if (eq != std::string::npos && pair.compare(0, eq, name) == 0 && eq == name.size()) {
        auto v = pair.substr(eq + 1);
        while (!v.empty() && v.back() == ' ') v.pop_back();
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        return v;
      }
    }
    at = end + 1;
  }
  return "";
}

} // namespace weaver::gateway
