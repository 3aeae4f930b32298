// Every query, asked as the gateway asks (answer_query, JSON), on both
// backends, equals the synthetic history's known answers (computed from the
// walks, without SQL).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "actors/query/query_actor.hpp"
#include "actors/query/seed_queries.hpp"
#include "actors/storage/store.hpp"
#include "base/iso8601.hpp"
#include "test_databases.hpp"
#include "tools/eval/synthetic_history.hpp"

using namespace weaver;
using nlohmann::json;

namespace {

constexpr timestamp_ms day0 = 1'795'219'200'000; // 2026-11-21T00:00:00Z

history_spec spec() {
  history_spec s;
  s.people = 1500;
  s.days = 2;
  s.start_ms = day0;
  s.transit_max_ms = 300'000;
  return s;
}

json ask(store& st, const std::string& name, std::vector<std::pair<std::string, std::string>> params) {
  query_request req{1, name, std::move(params)};
  auto resp = answer_query(st.db(), req, query_settings{});
  INFO(name, ": ", resp.error);
  REQUIRE(resp.ok);
  return json::parse(resp.json);
}

std::string iso(timestamp_ms t) { return format_iso8601(t); }

} // namespace

TEST_SUITE("queries") {
  TEST_CASE("synthetic history: the generator keeps its spec") {
    history_spec s = spec();
    s.people = 500;
    synthetic_history h{s};
    CHECK(h.rows().size() > 500);
    for (const auto& r : h.rows()) {
      CHECK(r.exit_ms - r.enter_ms >= s.dwell_min_ms);
      CHECK(r.exit_ms - r.enter_ms <= s.dwell_max_ms);
      CHECK(r.person_id >= 1);
      CHECK(r.person_id <= 500);
    }
    // A line graph 1 -> 2 -> 3: nobody walks 1 -> 3 directly or backwards.
    history_spec line = s;
    line.cameras = {1, 2, 3};
    line.edges = {{1, 2}, {2, 3}};
    synthetic_history l{line};
    CHECK(l.transitions(2, 1, INT64_MIN / 2, INT64_MAX / 2, -1) == 0);
    CHECK(l.transitions(1, 2, INT64_MIN / 2, INT64_MAX / 2, -1) > 0);
    CHECK(l.paths(INT64_MIN / 2, INT64_MAX / 2).count({3, 2}) == 0);
  }

  TEST_CASE("every query equals the synthetic truth on both backends") {
    const auto s = spec();
    synthetic_history h{s};
    for (auto d : test_backends()) {
      CAPTURE(sql::dialect_name(d));
      store st{fresh_database(d)};
      presence_batch b;
      b.rows = h.rows();
      st.write(b);
      REQUIRE(st.presence_count() == h.rows().size());
      int64_t nonzero = 0;

      { // transitions
        nonzero = 0;
        for (auto [from, to] : std::vector<std::pair<uint32_t, uint32_t>>{{1, 2}, {2, 1}, {3, 4}, {4, 4}})
          for (int64_t max_transit : {60'000, 180'000, -1})
            for (auto [t0, t1] :
                 std::vector<std::pair<timestamp_ms, timestamp_ms>>{{s.start_ms, s.start_ms + ms_per_day},
                                                                    {s.start_ms + 3'600'000, s.start_ms + 7'200'000},
                                                                    {INT64_MIN / 2, INT64_MAX / 2}}) {
              CAPTURE(from);
              CAPTURE(to);
              CAPTURE(max_transit);
              CAPTURE(t0);
              auto want = h.transitions(from, to, t0, t1, max_transit);
              nonzero += want > 0;
              CHECK(count_transitions(st.db(), from, to, t0, t1, max_transit).people == want);
            }
        // Through the JSON interface too, with the window as ISO-8601.
        auto j = ask(st, "transitions",
                     {{"from", "1"},
                      {"to", "2"},
                      {"t0", iso(day0)},
                      {"t1", iso(day0 + ms_per_day)},
                      {"max_transit_s", "180"},
                      {"limit", "10000"}});
        CHECK(j["people"] == h.transitions(1, 2, day0, day0 + ms_per_day, 180'000));
        CHECK(j["total"] == j["people"]);
        CHECK(nonzero > 20);
      }
      { // every camera
        nonzero = 0;
        for (auto day : {s.start_ms, s.start_ms + ms_per_day})
          for (auto set : std::vector<std::vector<uint32_t>>{{1, 2}, {1, 2, 3}, {1, 2, 3, 4}, {2}}) {
            auto want = h.every_camera(set, day);
            nonzero += want > 0;
            CHECK(people_on_every_camera(st.db(), set, day).people == want);
          }
        auto j = ask(st, "every_camera", {{"cameras", "1,2,3"}, {"day", "2026-11-22"}});
        CHECK(j["people"] == h.every_camera({1, 2, 3}, day0 + ms_per_day));
        CHECK(nonzero > 6);
      }
      { // occupancy per camera
        nonzero = 0;
        for (uint32_t cam : {1u, 3u}) {
          const timestamp_ms t0 = day0 + 5 * 3'600'000, t1 = t0 + 2 * 3'600'000;
          auto want = h.occupancy(cam, t0, t1, 600'000);
          auto j = ask(st, "occupancy",
                       {{"camera", std::to_string(cam)}, {"t0", iso(t0)}, {"t1", iso(t1)}, {"step_s", "600"}});
          REQUIRE(j["series"].size() == want.size());
          int64_t peak = 0;
          for (size_t i = 0; i < want.size(); ++i) {
            CAPTURE(i);
            CHECK(j["series"][i]["people"] == want[i]);
            CHECK(j["series"][i]["t"] == iso(t0 + static_cast<int64_t>(i) * 600'000));
            peak = std::max(peak, want[i]);
          }
          CHECK(j["peak"] == peak);
          CHECK(peak > 0);
        }
      }
      { // dwell
        nonzero = 0;
        auto want = h.stays(2, day0, day0 + ms_per_day);
        REQUIRE(want.size() > 100);
        auto j =
          ask(st, "dwell", {{"camera", "2"}, {"t0", iso(day0)}, {"t1", iso(day0 + ms_per_day)}, {"bucket_s", "120"}});
        CHECK(j["count"] == want.size());
        CHECK(j["max_s"].get<double>() == doctest::Approx(static_cast<double>(want.back()) / 1000.0));
        double sum = 0;
        for (auto w : want) sum += static_cast<double>(w);
        CHECK(j["mean_s"].get<double>() == doctest::Approx(sum / static_cast<double>(want.size()) / 1000.0));
        int64_t in_buckets = 0;
        for (auto& bk : j["buckets"]) {
          int64_t n = 0;
          for (auto w : want)
            if (w >= bk["from_s"].get<double>() * 1000 && w < bk["to_s"].get<double>() * 1000) ++n;
          CHECK(bk["count"] == n);
          in_buckets += n;
        }
        CHECK(in_buckets == static_cast<int64_t>(want.size()));
      }
      { // top paths
        nonzero = 0;
        auto truth = h.paths(day0, day0 + ms_per_day);
        std::vector<std::pair<std::vector<uint32_t>, int64_t>> ranked;
        for (auto& [p, n] : truth)
          if (p.size() >= 2) ranked.push_back({p, n});
        std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.second > b.second; });
        auto j = ask(st, "paths", {{"t0", iso(day0)}, {"t1", iso(day0 + ms_per_day)}, {"top", "5"}});
        REQUIRE(j["paths"].size() == 5);
        for (size_t i = 0; i < 5; ++i) {
          CAPTURE(i);
          CHECK(j["paths"][i]["cameras"] == json(ranked[i].first));
          CHECK(j["paths"][i]["people"] == ranked[i].second);
        }
        int64_t people = 0;
        for (auto& [p, n] : truth) people += n;
        CHECK(j["people"] == people);
      }
      { // funnel
        nonzero = 0;
        for (int64_t max_step : {int64_t{-1}, int64_t{120'000}}) {
          std::vector<uint32_t> steps{1, 2, 3};
          auto want = h.funnel(steps, day0, day0 + ms_per_day, max_step);
          std::vector<std::pair<std::string, std::string>> p{
            {"steps", "1,2,3"}, {"t0", iso(day0)}, {"t1", iso(day0 + ms_per_day)}};
          if (max_step >= 0) p.push_back({"max_step_s", std::to_string(max_step / 1000)});
          auto j = ask(st, "funnel", p);
          REQUIRE(j["steps"].size() == 3);
          for (size_t k = 0; k < 3; ++k) {
            CAPTURE(k);
            CHECK(j["steps"][k]["camera"] == steps[k]);
            CHECK(j["steps"][k]["people"] == want[k]);
          }
          CHECK(want[0] > want[1]);
          CHECK(want[2] > 0);
        }
      }
      { // trajectory
        nonzero = 0;
        for (uint64_t person : {1ull, 77ull, 1500ull}) {
          auto want = h.person_rows(person);
          auto j = ask(st, "trajectory", {{"person", std::to_string(person)}});
          REQUIRE(j["presences"].size() == want.size());
          for (size_t i = 0; i < want.size(); ++i) {
            CHECK(j["presences"][i]["camera"] == want[i].camera_id);
            CHECK(j["presences"][i]["enter"] == iso(want[i].enter_ms));
            CHECK(j["presences"][i]["exit"] == iso(want[i].exit_ms));
          }
        }
      }
      { // unique visitors per day and per hour
        nonzero = 0;
        auto days = ask(st, "visitors", {{"t0", iso(day0)}, {"t1", iso(day0 + 2 * ms_per_day)}});
        auto want = h.visitors(day0, day0 + 2 * ms_per_day, ms_per_day, 0);
        REQUIRE(days["buckets"].size() == 2);
        CHECK(days["buckets"][0]["people"] == want[0]);
        CHECK(days["buckets"][1]["people"] == want[1]);
        CHECK(days["buckets"][1]["t"] == "2026-11-22T00:00:00.000Z");
        CHECK(days["people"] == 1500);
        // By hour on camera 4, from a t0 inside an hour (floored).
        auto hours = ask(st, "visitors",
                         {{"t0", iso(day0 + 30 * 60'000)},
                          {"t1", iso(day0 + ms_per_day)},
                          {"bucket", "hour"},
                          {"camera", "4"},
                          {"limit", "100"}});
        auto want_h = h.visitors(day0, day0 + ms_per_day, 3'600'000, 4);
        std::vector<int64_t> got(want_h.size(), 0);
        for (auto& bk : hours["buckets"]) {
          auto t = parse_iso8601(bk["t"].get<std::string>());
          REQUIRE(t);
          got[static_cast<size_t>((*t - day0) / 3'600'000)] = bk["people"].get<int64_t>();
        }
        CHECK(got == want_h);
      }
    }
  }

  TEST_CASE("pagination pages through a list without gaps or overlaps") {
    history_spec s = spec();
    s.people = 300;
    synthetic_history h{s};
    store st{fresh_database(sql::dialect::sqlite)};
    presence_batch b;
    b.rows = h.rows();
    st.write(b);
    auto all = ask(st, "transitions", {{"from", "1"}, {"to", "2"}, {"max_transit_s", "-1"}, {"limit", "10000"}});
    REQUIRE(all["people"].get<int64_t>() > 10);
    std::vector<uint64_t> paged;
    json next = 0;
    int pages = 0;
    while (!next.is_null()) {
      auto j = ask(st, "transitions",
                   {{"from", "1"},
                    {"to", "2"},
                    {"max_transit_s", "-1"},
                    {"limit", "7"},
                    {"offset", std::to_string(next.get<int64_t>())}});
      CHECK(j["total"] == all["people"]);
      CHECK(j["person_ids"].size() <= 7);
      for (auto& id : j["person_ids"]) paged.push_back(id.get<uint64_t>());
      next = j["next_offset"];
      ++pages;
    }
    CHECK(paged == all["person_ids"].get<std::vector<uint64_t>>());
    CHECK(pages == (all["people"].get<int>() + 6) / 7);
  }

  TEST_CASE("bad parameters are refused, naming the parameter") {
    store st{fresh_database(sql::dialect::sqlite)};
    auto bad = [&](const std::string& name, std::vector<std::pair<std::string, std::string>> params,
                   const std::string& param) {
      auto resp = answer_query(st.db(), query_request{1, name, std::move(params)}, query_settings{});
      CAPTURE(name);
      CAPTURE(resp.error);
      CHECK_FALSE(resp.ok);
      CHECK(resp.bad_request);
      CHECK(resp.error.rfind(param + ":", 0) == 0);
    };
    bad("transitions", {{"to", "2"}}, "from");
    bad("transitions", {{"from", "x"}, {"to", "2"}}, "from");
    bad("transitions", {{"from", "1"}, {"to", "2"}, {"t0", "yesterday"}}, "t0");
    bad("transitions", {{"from", "1"}, {"to", "2"}, {"limit", "0"}}, "limit");
    bad("transitions", {{"from", "1"}, {"to", "2"}, {"offset", "-3"}}, "offset");
    bad("every_camera", {{"day", "2026-11-21"}}, "cameras");
    bad("every_camera", {{"cameras", "1,b"}, {"day", "2026-11-21"}}, "cameras");
    bad("every_camera", {{"cameras", "1,2"}, {"day", "someday"}}, "day");
    bad("occupancy", {{"t0", "2026-11-21"}, {"t1", "2026-11-22"}}, "camera");
    bad("occupancy", {{"camera", "1"}, {"zone", "z"}, {"t0", "2026-11-21"}, {"t1", "2026-11-22"}}, "zone");
    bad("occupancy", {{"camera", "1"}, {"t0", "2026-11-22"}, {"t1", "2026-11-21"}}, "t1");
    bad("occupancy", {{"camera", "1"}, {"t0", "2026-11-21"}, {"t1", "2026-11-22"}, {"step_s", "1"}}, "step_s");
    bad("visitors", {{"t0", "2026-11-21"}, {"t1", "2026-11-22"}, {"bucket", "week"}}, "bucket");
    bad("events", {{"kind", "fire"}}, "kind");
    bad("nonsense", {}, "query");
    // Internal failures are not the client's fault.
    st.db().exec("DROP TABLE people_present", "test");
    auto resp = answer_query(st.db(), query_request{1, "transitions", {{"from", "1"}, {"to", "2"}}}, query_settings{});
    CHECK_FALSE(resp.ok);
    CHECK_FALSE(resp.bad_request);
  }

} // TEST_SUITE
