// One count per fact: a link's bytes are counted once, by whoever encodes
// what is sent, and the summary's totals are the counters /metrics exports.
#include <doctest/doctest.h>

#include "actors/sent_bytes.hpp"
#include "base/metrics.hpp"

using namespace weaver;

TEST_CASE("sent bytes: a stage counts an in-process link, a remote link's bridge counts its own") {
  const std::string link = "test-stage->test-next";
  auto& counter = metrics::global().link_bytes(link);
  track_batch tb;
  tb.camera_id = 3;
  tb.events.resize(2);
  auto stats = std::make_shared<run_stats>();
  const double before = counter.Value();
  count_sent(stats, link, tb);
  const double one = counter.Value() - before;
  CHECK(one == static_cast<double>(codec::encode(tb, link, 0).size()));
  CHECK(stats->bytes_sent == static_cast<uint64_t>(one));
  set_remote_link(link, true);
  CHECK(remote_link(link));
  count_sent(stats, link, tb); // not encoded again: the bridge counts the envelope it sends
  CHECK(counter.Value() - before == one);
  set_remote_link(link, false);
  CHECK(!remote_link(link));
  count_sent(stats, link, tb);
  CHECK(counter.Value() - before == 2 * one);
}

TEST_CASE("counter totals: a family summed over its series, as exported") {
  auto& m = metrics::global();
  const double before = m.counter_total("weaver_frames_total");
  m.frames_in(90001).Increment(2);
  m.frames_in(90002).Increment(3);
  CHECK(m.counter_total("weaver_frames_total") - before == 5);
  CHECK(m.counter_total("weaver_no_such_family_total") == 0);
}
