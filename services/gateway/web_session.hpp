// Browser sessions of the gateway. A browser cannot keep a bearer token
// safely (any script on the page could read it) and EventSource cannot send
// an Authorization header at all, so POST /login trades a gateway token for
// a random session id that lives only in an HttpOnly, SameSite=Strict
// cookie: scripts never see it, other sites' pages never send it. The
// session remembers whose token it was (its name), never the token; the
// token's scopes are looked up on every request, so a session is never
// worth more than its token. Pure: no HTTP, no CAF.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace weaver::gateway {

/// The cookie that carries a session id.
inline constexpr const char* session_cookie = "weaver_session";

class session_store {
public:
  using clock = std::chrono::steady_clock;

  /// Sessions expire `ttl` after login; at most `max_sessions` are kept
  /// (a login beyond drops the one closest to expiry).
  session_store(std::chrono::seconds ttl, size_t max_sessions);

  /// A new session for the token named `token_name`: its id, 64 hex
  /// characters from the kernel's random source.
  std::string open(const std::string& token_name, clock::time_point now = clock::now());

  /// The token name of a live session, or nothing (unknown, expired).
  std::optional<std::string> find(const std::string& id, clock::time_point now = clock::now());

  /// Ends a session; false when there was none.
  bool close(const std::string& id);

  size_t size() const;
  std::chrono::seconds ttl() const { return ttl_; }

private:
  struct session {
    std::string token_name;
    clock::time_point expires;
  };
  void drop_expired(clock::time_point now);

  std::chrono::seconds ttl_;
  size_t max_;
  mutable std::mutex mutex_;
  std::map<std::string, session> sessions_;
};

/// The value of cookie `name` in a Cookie header ("a=1; b=2"), or "".
std::string cookie_value(const std::string& cookie_header, const std::string& name);

/// 32 bytes from getrandom(2) as 64 lowercase hex characters. Throws
/// std::runtime_error when the kernel cannot supply them.
std::string random_hex_id();

} // namespace weaver::gateway
