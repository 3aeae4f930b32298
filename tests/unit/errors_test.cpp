// Weaver's error category: told apart from CAF's system errors, rendered by name.
#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>

#include "base/errors.hpp"

using namespace weaver;

TEST_CASE("weaver errors: own category, compared by code, rendered with context") {
  auto e = make_error(errc::frame_dropped, "stale");
  CHECK(e.category() == error_category);
  CHECK(e == errc::frame_dropped);
  CHECK(e != errc::card_failed);
  CHECK(e != caf::sec::request_timeout); // a domain failure is no system error
  CHECK(caf::make_error(caf::sec::request_timeout) != errc::frame_dropped);
  caf::actor_system_config cfg;
  add_error_category(cfg);
  caf::actor_system sys{cfg};
  auto text = sys.render(e);
  CHECK(text.find("weaver") != std::string::npos);
  CHECK(text.find("frame_dropped") != std::string::npos);
  CHECK(text.find("stale") != std::string::npos);
}
