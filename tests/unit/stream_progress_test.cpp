#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "actors/stream_progress.hpp"

using namespace weaver;

TEST_SUITE("stream_progress") {
  TEST_CASE("a file camera's replay is covered up to the last processed frame, not beyond") {
    stream_progress p;
    CHECK_FALSE(p.covered(1, 0, 0));
    p.advance(1, 0, 0);
    p.advance(1, 100, 1);
    CHECK(p.covered(1, 0, 0));
    CHECK(p.covered(1, 100, 1));
    CHECK_FALSE(p.covered(1, 200, 2));
    CHECK_FALSE(p.covered(2, 0, 0)); // cameras are independent
    // Two frames in one millisecond (a live camera): the seq decides.
    p.advance(3, 500, 7);
    CHECK_FALSE(p.covered(3, 500, 8));
    CHECK(p.covered(3, 500, 6));
  }

  TEST_CASE("a restarted live camera (seq from 0, later time) is new") {
    stream_progress p;
    p.advance(1, 1'000'000, 900);
    CHECK_FALSE(p.covered(1, 1'060'000, 0));
  }

  TEST_CASE("an end of stream covers its stream, and a later stream reopens the camera") {
    stream_progress p;
    p.advance(1, 100, 1);
    CHECK_FALSE(p.ended(1));
    // The tracker's flush comes at the last time with the next seq: not covered.
    CHECK_FALSE(p.covered(1, 100, 2));
    p.advance(1, 100, 2);
    p.end(1);
    CHECK(p.ended(1));
    CHECK(p.covered(1, 100, 2));
    CHECK(p.covered(1, 100, 999)); // anything of the ended stream
    CHECK(p.covered(1, 0, 0));
    CHECK_FALSE(p.covered(1, 101, 0)); // a new stream after it
    p.advance(1, 101, 0);
    CHECK_FALSE(p.ended(1));
  }

  TEST_CASE("snapshot and restore keep every camera's position") {
    stream_progress p;
    p.advance(1, 100, 1);
    p.advance(7, -5, 3);
    p.end(7);
    stream_progress q;
    q.advance(9, 1, 1); // replaced, not merged
    q.restore(p.snapshot());
    CHECK(q.snapshot() == p.snapshot());
    CHECK(q.covered(1, 100, 1));
    CHECK_FALSE(q.covered(1, 100, 2));
    CHECK(q.ended(7));
    CHECK_FALSE(q.covered(9, 1, 1));
    CHECK_THROWS(q.restore("{not json"));
    CHECK(q.covered(1, 100, 1)); // a failed restore leaves it as it was
  }

  TEST_CASE("the cameras a stage's snapshot ended are read from it") {
    stream_progress p;
    p.advance(1, 100, 1);
    p.end(1);
    p.advance(2, 50, 4);
    p.advance(3, 70, 2);
    p.end(3);
    CHECK(p.ended_cameras() == std::set<uint32_t>{1, 3});
    nlohmann::json j{{"engine", "{}"}, {"progress", p.snapshot()}};
    CHECK(ended_in_snapshot(j.dump()) == std::set<uint32_t>{1, 3});
    // What the stage would not restore either: nothing is taken as ended.
    CHECK(ended_in_snapshot("{not json").empty());
    CHECK(ended_in_snapshot("[1,2]").empty());
    CHECK(ended_in_snapshot(R"({"progress":[[1,0,0,true]]})").empty());
    CHECK(ended_in_snapshot(R"({"progress":"[[1,0]]"})").empty());
    CHECK(ended_in_snapshot(R"({"engine":"x"})").empty());
  }
}
