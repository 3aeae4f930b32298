// Browser sessions of the gateway (services/gateway/web_session.hpp): ids,
// expiry, the cap, logout, and reading the cookie header.
#include <doctest/doctest.h>

#include <set>

#include "services/gateway/web_session.hpp"

using namespace weaver::gateway;
using namespace std::chrono_literals;

TEST_CASE("session ids are 64 hex characters and never repeat") {
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    auto id = random_hex_id();
    CHECK(id.size() == 64);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    ids.insert(id);
  }
  CHECK(ids.size() == 200);
}

TEST_CASE("a session names its token until it expires or is closed") {
  session_store s{60s, 10};
  auto t = session_store::clock::now();
  auto id = s.open("dashboard", t);
  CHECK(s.find(id, t + 59s) == std::optional<std::string>{"dashboard"});
  CHECK(!s.find(id, t + 60s)); // expired, and forgotten
  CHECK(s.size() == 0);
  auto id2 = s.open("dashboard", t);
  CHECK(s.close(id2));
  CHECK(!s.close(id2));
  CHECK(!s.find(id2, t));
  CHECK(!s.find("", t));
  CHECK(!s.find(std::string(64, 'a'), t));
}

TEST_CASE("at most max sessions: a login beyond drops the one closest to expiry") {
  session_store s{60s, 3};
  auto t = session_store::clock::now();
  auto a = s.open("a", t);
  auto b = s.open("b", t + 1s);
  auto c = s.open("c", t + 2s);
  auto d = s.open("d", t + 3s);
  CHECK(s.size() == 3);
  CHECK(!s.find(a, t + 3s));
  CHECK(s.find(b, t + 3s));
  CHECK(s.find(c, t + 3s));
  CHECK(s.find(d, t + 3s));
}

TEST_CASE("cookie_value reads one cookie of a Cookie header") {
  CHECK(cookie_value("weaver_session=abc", "weaver_session") == "abc");
  CHECK(cookie_value("a=1; weaver_session=abc; b=2", "weaver_session") == "abc");
  CHECK(cookie_value("a=1;weaver_session=\"abc\"", "weaver_session") == "abc");
  CHECK(cookie_value("xweaver_session=abc", "weaver_session") == "");
  CHECK(cookie_value("weaver_sessionx=abc", "weaver_session") == "");
  CHECK(cookie_value("weaver_session", "weaver_session") == "");
  CHECK(cookie_value("", "weaver_session") == "");
  CHECK(cookie_value(";;; =; weaver_session=", "weaver_session") == "");
}
