// The REST gateway over real HTTP on loopback, in front of a fake query
// actor: auth, parameter errors, error mapping (400/500/504), pagination
// passed through, health routes without a token, and alert delivery over
// Server-Sent Events (new events, Last-Event-ID, since_id, stream limit).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "services/http.hpp"

#include <nlohmann/json.hpp>

#include "base/base64.hpp"
#include "base/metrics.hpp"
#include "services/gateway/gateway.hpp"

#include <opencv2/imgcodecs.hpp>

using namespace weaver;
using json = nlohmann::json;

namespace {

// What the fake query actor answers from: a list of events that tests
// append to, and the last request it saw.
struct fake_store {
  std::mutex mutex;
  std::vector<json> events;
  query_request last;
  void add_event(int64_t id) {
    std::lock_guard<std::mutex> lock{mutex};
    events.push_back({{"id", id},
                      {"kind", "loitering"},
                      {"camera", 2},
                      {"zone", "display"},
                      {"person", 7},
                      {"track", nullptr},
                      {"time", "2026-11-21T09:00:00.000Z"},
                      {"detail", {{"seconds", 42}}}});
  }
};

struct fake_state {
  static inline const char* name = "fake_query";
  std::vector<caf::typed_response_promise<query_response>> never; // "paths" hangs
};

std::string param(const query_request& r, const std::string& k, const std::string& fallback = "") {
  for (auto& [key, v] : r.params)
    if (key == k) return v;
  return fallback;
}

// Paginates `items` the way the query actor does.
json page(const std::vector<json>& items, const query_request& r, const std::string& field) {
  size_t limit = std::stoul(param(r, "limit", "100")), offset = std::stoul(param(r, "offset", "0"));
  json list = json::array();
  for (size_t i = offset; i < items.size() && i < offset + limit; ++i) list.push_back(items[i]);
  json j{{field, list}, {"total", items.size()}, {"offset", offset}, {"limit", limit}};
  j["next_offset"] = offset + limit < items.size() ? json(offset + limit) : json(nullptr);
  return j;
}

query_actor::behavior_type fake_query(query_actor::stateful_pointer<fake_state> self,
                                      std::shared_ptr<fake_store> store) {
  return {[=](const query_request& r) -> caf::result<query_response> {
            {
              std::lock_guard<std::mutex> lock{store->mutex};
              store->last = r;
            }
            query_response resp;
            resp.id = r.id;
            resp.ok = true;
            if (r.name == "evidence") { // track 5 of camera 3 has a crop
              bool found = param(r, "camera") == "3" && param(r, "track") == "5";
              json j{{"camera", 3}, {"track", 5}, {"jpeg", nullptr}};
              if (found) j["jpeg"] = to_base64(std::vector<int8_t>{-1, -40, -1, -32, 1, 2, 3});
              resp.ok = true;
              resp.json = j.dump();
              return resp;
            }
            if (r.name == "paths") {
              auto rp = self->make_response_promise<query_response>();
              self->state.never.push_back(rp);
              return rp;
            }
            if (r.name == "occupancy") {
              resp.ok = false;
              resp.error = "store: disk I/O error";
              return resp;
            }
            if (r.name == "visitors") { // a failure the way a broken remote reply arrives
              return caf::make_error(caf::sec::unexpected_response, "->query: bad reply: malformed envelope");
            }
            if (r.name == "funnel") { // an answer that is not JSON
              resp.json = "{\"people\": [1, 2";
              return resp;
            }
            if (r.name == "dwell") {
              resp.ok = false;
              resp.bad_request = true;
              resp.error = "zone: no zone 'attic'";
              return resp;
            }
            if (r.name == "transitions") {
              std::vector<json> people;
              for (int i = 1; i <= 5; ++i) people.push_back({{"person", i}});
              auto j = page(people, r, "people");
              json params = json::object();
              for (auto& [k, v] : r.params) params[k] = v;
              j["params"] = params;
              resp.json = j.dump();
              return resp;
            }
            if (r.name == "events") {
              std::lock_guard<std::mutex> lock{store->mutex};
              int64_t since = std::stoll(param(r, "since_id", "0"));
              std::vector<json> newer;
              int64_t last = 0;
              for (auto& e : store->events) {
                last = std::max(last, e["id"].get<int64_t>());
                if (e["id"].get<int64_t>() > since) newer.push_back(e);
              }
              auto j = page(newer, r, "events");
              j["last_id"] = last;
              j["newest_id"] = last;
              resp.json = j.dump();
              return resp;
            }
            resp.json = json{{"query", r.name}}.dump();
            return resp;
          },
          [](flush_atom) { return caf::ok_atom::value; }, [](tick_atom) {}};
}

const std::string reader = "Bearer reader-token-0123456789";
const std::string watcher = "Bearer watcher-token-0123456789";

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<fake_store> store = std::make_shared<fake_store>();
  std::shared_ptr<health_registry> health = std::make_shared<health_registry>();
  std::shared_ptr<metrics_sources> sources = std::make_shared<metrics_sources>();
  std::unique_ptr<gateway_server> gw;
  query_actor query;

  explicit fixture(int max_streams = 2, int per_client = 64, std::vector<std::string> cors = {},
                   std::shared_ptr<live_view> live = nullptr, int login_burst = 20,
                   std::chrono::milliseconds keepalive = std::chrono::milliseconds{200},
                   std::shared_ptr<zone_registry> zones = nullptr, bool zones_kept = false) {
    query = sys.spawn(fake_query, store);
    gateway_settings s;
    s.tokens = {{"reader", "reader-token-0123456789", {"query"}},
                {"watcher", "watcher-token-0123456789", {"alerts"}},
                {"editor", "editor-token-0123456789", {"query", "zones"}}};
    s.poll = std::chrono::milliseconds{20};
    s.keepalive = keepalive;
    s.timeout = std::chrono::milliseconds{300};
    s.threads = 6;
    s.max_streams = max_streams;
    s.max_connections_per_client = per_client;
    s.request_timeout = std::chrono::milliseconds{300};
    s.cors_origins = std::move(cors);
    s.login_burst = login_burst;
    s.cameras = {{3, {{"door", {{0, 0}, {20, 0}, {20, 10}}}}, {{"in", {1, 1}, {9, 9}}}}};
    s.zones_kept = zones_kept;
    health->add("main_loop", probe_kind::liveness, [] { return check_result{true, "turning"}; });
    sources->add(metrics::global().registry_ptr());
    gw = std::make_unique<gateway_server>(sys, query, s, health, sources, std::move(live), std::move(zones));
    gw->start();
  }
  ~fixture() {
    gw->stop();
    caf::anon_send_exit(query, caf::exit_reason::user_shutdown);
  }

  httplib::Client client() {
    httplib::Client c{"127.0.0.1", gw->port()};
    c.set_read_timeout(5, 0);
    return c;
  }

  httplib::Result get(const std::string& target, const std::string& auth = "") {
    auto c = client();
    httplib::Headers h;
    if (!auth.empty()) h.emplace("Authorization", auth);
    return c.Get(target.c_str(), h);
  }
};

std::string error_of(const httplib::Result& r) {
  auto j = json::parse(r->body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "<no error: " + r->body + ">";
}

// Reads an alert stream on its own thread, collecting the event ids.
struct stream_reader {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<int64_t> ids;
  std::string text;
  int status = 0;
  std::string content_type;
  bool connected = false;
  std::atomic<bool> quit{false};
  std::thread thread;

  stream_reader(int port, std::string target, httplib::Headers headers) {
    thread = std::thread{[this, port, target, headers] {
      httplib::Client c{"127.0.0.1", port};
      c.set_read_timeout(5, 0);
      c.Get(
        target.c_str(), headers,
        [this](const httplib::Response& r) {
          std::lock_guard<std::mutex> lock{mutex};
          status = r.status;
          content_type = r.get_header_value("Content-Type");
          cv.notify_all();
          return true;
        },
        [this](const char* d, size_t n) {
          std::lock_guard<std::mutex> lock{mutex};
          text.append(d, n);
          connected = true;
          ids.clear();
          for (size_t at = 0; (at = text.find("id: ", at)) != std::string::npos; at += 4)
            ids.push_back(std::stoll(text.substr(at + 4)));
          cv.notify_all();
          return !quit.load();
        });
      std::lock_guard<std::mutex> lock{mutex};
      if (status == 0) status = -1;
      cv.notify_all();
    }};
  }
  ~stream_reader() {
    quit = true;
    if (thread.joinable()) thread.join();
  }
  template <class Pred>
  // A deadline for what must come, not a timing: 5 s was once too short for
  // three events on a machine with a load average of 30.
  bool wait(Pred pred) {
    std::unique_lock<std::mutex> lock{mutex};
    return cv.wait_for(lock, std::chrono::seconds{30}, [&] { return pred(); });
  }
  bool wait_ids(size_t n) {
    return wait([&] { return ids.size() >= n; });
  }
  bool wait_connected() {
    return wait([&] { return connected || status == -1; }) && connected;
  }
};

// Opens a stream once the gateway admits it. A stream closed normally frees
// its slot only when the server's next write to it fails (up to a second
// later), so a stream opened right after another was closed may be refused
// with 503 for a moment; a client retries, as Retry-After says.
std::unique_ptr<stream_reader> open_admitted(int port, const std::string& target, const httplib::Headers& h) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (true) {
    auto s = std::make_unique<stream_reader>(port, target, h);
    bool answered = s->wait([&] { return s->status != 0; });
    if (!answered || s->status != 503 || std::chrono::steady_clock::now() > until) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
}

// Camera 3's frame `seq`, captured at `capture_ms`: a w x h picture of one colour.
std::shared_ptr<frame> camera3_frame(uint64_t seq, int64_t capture_ms, int w, int h, const cv::Scalar& colour) {
  auto fr = std::make_shared<frame>();
  fr->camera_id = 3;
  fr->seq = seq;
  fr->capture_ms = capture_ms;
  fr->image = cv::Mat(h, w, CV_8UC3, colour);
  return fr;
}

} // namespace

TEST_CASE("gateway: bearer tokens and scopes") {
  fixture f;
  auto none = f.get("/v1/cameras");
  REQUIRE(none);
  CHECK(none->status == 401);
  CHECK(none->get_header_value("WWW-Authenticate").rfind("Bearer", 0) == 0);
  CHECK(error_of(none).find("missing bearer token") != std::string::npos);
  CHECK(f.get("/v1/cameras", "Bearer nope-nope-nope-nope")->status == 401);
  auto forbidden = f.get("/v1/cameras", watcher);
  CHECK(forbidden->status == 403);
  CHECK(error_of(forbidden).find("lacks scope 'query'") != std::string::npos);
  CHECK(f.get("/v1/alerts/stream", reader)->status == 403);
  auto ok = f.get("/v1/cameras", reader);
  CHECK(ok->status == 200);
  CHECK(ok->get_header_value("Content-Type") == "application/json");
  CHECK(json::parse(ok->body)["query"] == "cameras");
  // Auth comes before parameter checks: no token, bad parameter -> 401.
  CHECK(f.get("/v1/transitions?t0=x")->status == 401);
}

TEST_CASE("gateway: health routes need no token") {
  fixture f;
  auto h = f.get("/healthz");
  CHECK(h->status == 200);
  CHECK(json::parse(h->body)["status"] == "ok");
  CHECK(f.get("/readyz")->status == 200);
  f.get("/v1/cameras", reader);
  auto m = f.get("/metrics");
  CHECK(m->status == 200);
  CHECK(m->body.find("weaver_gateway_requests_total{") != std::string::npos);
  CHECK(m->body.find("route=\"/v1/cameras\"") != std::string::npos);
  CHECK(m->body.find("weaver_gateway_request_seconds") != std::string::npos);
}

TEST_CASE("gateway: bad requests name the parameter") {
  fixture f;
  auto bad = f.get("/v1/transitions?from=1&to=2&t0=garbage", reader);
  CHECK(bad->status == 400);
  CHECK(error_of(bad).rfind("t0: expected an ISO-8601 time, got 'garbage'", 0) == 0);
  auto unknown = f.get("/v1/transitions?from=1&to=2&colour=red", reader);
  CHECK(unknown->status == 400);
  CHECK(error_of(unknown).rfind("unknown parameter 'colour'", 0) == 0);
  auto missing = f.get("/v1/transitions?from=1", reader);
  CHECK(missing->status == 400);
  CHECK(error_of(missing).rfind("to: required", 0) == 0);
  // The query actor's own bad_request is a 400 with its message.
  auto dwell = f.get("/v1/dwell?zone=attic&t0=2026-11-21&t1=2026-11-22", reader);
  CHECK(dwell->status == 400);
  CHECK(error_of(dwell) == "zone: no zone 'attic'");
  auto nf = f.get("/v1/nothing", reader);
  CHECK(nf->status == 404);
  CHECK(error_of(nf).find("no route GET /v1/nothing") != std::string::npos);
}

TEST_CASE("gateway: store failures are 500, a silent query service 504") {
  fixture f;
  auto fail = f.get("/v1/occupancy?camera=1&t0=2026-11-21&t1=2026-11-22", reader);
  CHECK(fail->status == 500);
  CHECK(error_of(fail) == "store: disk I/O error");
  auto slow = f.get("/v1/paths?t0=2026-11-21&t1=2026-11-22", reader);
  CHECK(slow->status == 504);
  CHECK(error_of(slow).find("no answer within 300 ms") != std::string::npos);
}

TEST_CASE("gateway: parameters and pagination pass through") {
  fixture f;
  auto p1 = f.get("/v1/transitions?from=1&to=2&t0=2026-11-21T09:00:00%2B01:00&limit=2", reader);
  REQUIRE(p1->status == 200);
  auto j1 = json::parse(p1->body);
  CHECK(j1["params"]["from"] == "1");
  CHECK(j1["params"]["t0"] == "2026-11-21T09:00:00+01:00");
  CHECK(j1["total"] == 5);
  CHECK(j1["people"].size() == 2);
  REQUIRE(j1["next_offset"] == 2);
  std::vector<int> seen;
  for (auto& p : j1["people"]) seen.push_back(p["person"]);
  auto next = j1["next_offset"].get<int>();
  while (true) {
    auto p = f.get("/v1/transitions?from=1&to=2&limit=2&offset=" + std::to_string(next), reader);
    REQUIRE(p->status == 200);
    auto j = json::parse(p->body);
    CHECK(j["total"] == 5);
    for (auto& x : j["people"]) seen.push_back(x["person"]);
    if (j["next_offset"].is_null()) break;
    next = j["next_offset"].get<int>();
  }
  CHECK(seen == std::vector<int>{1, 2, 3, 4, 5});
  // Path parameters become the query's parameters.
  auto t = f.get("/v1/people/17/trajectory", reader);
  CHECK(t->status == 200);
  std::lock_guard<std::mutex> lock{f.store->mutex};
  CHECK(f.store->last.name == "trajectory");
  CHECK(f.store->last.params == std::vector<std::pair<std::string, std::string>>{{"person", "17"}});
}

TEST_CASE("gateway: alert stream delivers new events") {
  fixture f;
  f.store->add_event(1);
  f.store->add_event(2);
  httplib::Headers h{{"Authorization", watcher}};
  {
    // Without since_id / Last-Event-ID: only events after connecting.
    stream_reader s{f.gw->port(), "/v1/alerts/stream", h};
    REQUIRE(s.wait_connected());
    CHECK(s.status == 200);
    CHECK(s.content_type == "text/event-stream");
    std::this_thread::sleep_for(std::chrono::milliseconds{100}); // a few polls
    f.store->add_event(3);
    REQUIRE(s.wait_ids(1));
    std::lock_guard<std::mutex> lock{s.mutex};
    CHECK(s.ids == std::vector<int64_t>{3});
    CHECK(s.text.find("id: 3\nevent: alert\ndata: {") != std::string::npos);
    auto data = s.text.substr(s.text.find("data: ") + 6);
    auto e = json::parse(data.substr(0, data.find('\n')));
    CHECK(e["kind"] == "loitering");
    CHECK(e["person"] == 7);
  }
  {
    // Resuming after Last-Event-ID: 1 delivers 2 and 3, then keep-alives.
    auto hh = h;
    hh.emplace("Last-Event-ID", "1");
    auto sp = open_admitted(f.gw->port(), "/v1/alerts/stream", hh);
    auto& s = *sp;
    REQUIRE(s.wait_ids(2));
    CHECK(s.wait([&] { return s.text.find(": keep-alive") != std::string::npos; }));
    std::lock_guard<std::mutex> lock{s.mutex};
    CHECK(s.ids == std::vector<int64_t>{2, 3});
  }
  {
    // Both earlier streams are closed; their slots may not be free yet.
    auto sp = open_admitted(f.gw->port(), "/v1/alerts/stream?since_id=0", h);
    auto& s = *sp;
    REQUIRE(s.status == 200);
    REQUIRE(s.wait_ids(3));
    std::lock_guard<std::mutex> lock{s.mutex};
    CHECK(s.ids == std::vector<int64_t>{1, 2, 3});
  }
  auto bad = f.get("/v1/alerts/stream?since_id=abc", watcher);
  CHECK(bad->status == 400);
  CHECK(error_of(bad).rfind("since_id:", 0) == 0);
  auto c = f.client();
  auto bad_header = c.Get("/v1/alerts/stream", {{"Authorization", watcher}, {"Last-Event-ID", "x"}});
  CHECK(bad_header->status == 400);
  CHECK(error_of(bad_header).rfind("Last-Event-ID:", 0) == 0);
}

TEST_CASE("gateway: a closed alert stream frees its slot long before the next keep-alive") {
  // One slot, keep-alives a minute apart: a browser that closes or reloads
  // the page must not lock the feed out for a minute.
  fixture f{1, 64, {}, nullptr, 20, std::chrono::milliseconds{60000}};
  httplib::Headers h{{"Authorization", watcher}};
  {
    stream_reader s{f.gw->port(), "/v1/alerts/stream", h};
    REQUIRE(s.wait_connected());
    CHECK(f.get("/v1/alerts/stream", watcher)->status == 503); // the slot is taken
  } // the client closes
  // Admitted again once the server has seen the close (open_admitted waits
  // up to 30 s, half the keep-alive period).
  auto again = open_admitted(f.gw->port(), "/v1/alerts/stream", h);
  CHECK(again->status == 200);
  REQUIRE(again->wait_connected());
  // The probes are comment lines: no event, no id.
  CHECK(again->wait([&] { return again->text.find(":\n") != std::string::npos; }));
  std::lock_guard<std::mutex> lock{again->mutex};
  CHECK(again->ids.empty());
}

TEST_CASE("gateway: open alert streams are bounded; stop ends them") {
  fixture f{1};
  httplib::Headers h{{"Authorization", watcher}};
  stream_reader s{f.gw->port(), "/v1/alerts/stream", h};
  REQUIRE(s.wait_connected());
  auto busy = f.get("/v1/alerts/stream", watcher);
  CHECK(busy->status == 503);
  CHECK(busy->get_header_value("Retry-After") == "5");
  // Queries still get a thread.
  CHECK(f.get("/v1/cameras", reader)->status == 200);
  f.gw->stop(); // returns although a stream is open
  CHECK(f.gw->port() == 0);
}

namespace {

// A raw TCP client: connects to the gateway and sends what it is told.
struct raw_client {
  int fd = -1;
  explicit raw_client(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{10, 0}; // patience only: a broken server fails the read, not hangs the test
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~raw_client() {
    if (fd >= 0) ::close(fd);
  }
  void send(const std::string& s) { (void)!::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }
  // Everything until the server closes (or the patience runs out).
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (;;) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }
};

bool no_library_text(const std::string& body) {
  for (const char* t : {"json.exception", "system_error", "caf::", "unexpected_response", "[json"})
    if (body.find(t) != std::string::npos) return false;
  return true;
}

} // namespace

TEST_CASE("gateway: bytes that are not UTF-8 are a 400, and the gateway lives on") {
  fixture f;
  // The 404 path used to dump invalid UTF-8 into JSON outside httplib's
  // exception handling: the process aborted.
  auto bad_path = f.get("/%ff");
  REQUIRE(bad_path);
  CHECK(bad_path->status == 400);
  CHECK(error_of(bad_path).find("path is not valid UTF-8") != std::string::npos);
  auto bad_value = f.get("/v1/transitions?from=%ff&to=2", reader);
  REQUIRE(bad_value);
  CHECK(bad_value->status == 400);
  CHECK(no_library_text(bad_value->body));
  auto bad_key = f.get("/v1/transitions?%fe=1&from=1&to=2", reader);
  CHECK(bad_key->status == 400);
  auto bad_segment = f.get("/v1/people/%ff%fe/trajectory", reader);
  REQUIRE(bad_segment);
  CHECK(bad_segment->status == 400);
  CHECK(no_library_text(bad_segment->body));
  CHECK(f.get("/v1/%c0%af", reader)->status == 400); // an overlong '/'
  CHECK(f.get("/v1/people/%ed%a0%80/trajectory", reader)->status == 400); // a surrogate
  auto c = f.client();
  auto bad_header = c.Get("/v1/alerts/stream", {{"Authorization", watcher}, {"Last-Event-ID", "\xff"}});
  REQUIRE(bad_header);
  CHECK(bad_header->status == 400);
  // Well-formed non-ASCII is fine: an unknown zone is the query's answer.
  auto zone = f.get("/v1/dwell?zone=caf%C3%A9&t0=2026-11-21&t1=2026-11-22", reader);
  CHECK(zone->status == 400);
  CHECK(error_of(zone) == "zone: no zone 'attic'");
  // Still serving.
  CHECK(f.get("/v1/cameras", reader)->status == 200);
  CHECK(f.get("/healthz")->status == 200);
}

TEST_CASE("gateway: a broken answer from the query service is a 502 without CAF's text") {
  fixture f;
  auto failed = f.get("/v1/visitors?t0=2026-11-21&t1=2026-11-22", reader);
  REQUIRE(failed);
  CHECK(failed->status == 502);
  CHECK(error_of(failed) == "query visitors: the query service failed");
  CHECK(no_library_text(failed->body));
  auto garbled = f.get("/v1/funnel?steps=1,2&t0=2026-11-21&t1=2026-11-22", reader);
  REQUIRE(garbled);
  CHECK(garbled->status == 502);
  CHECK(error_of(garbled).find("not JSON") != std::string::npos);
}

TEST_CASE("gateway: slow and idle clients do not hold the workers") {
  fixture f; // 6 workers
  // More idle connections than workers, and more clients that send a
  // request head slowly, a byte at a time, and never finish it.
  std::vector<std::unique_ptr<raw_client>> idle, slow;
  for (int i = 0; i < 10; ++i) idle.push_back(std::make_unique<raw_client>(f.gw->port()));
  for (int i = 0; i < 10; ++i) {
    slow.push_back(std::make_unique<raw_client>(f.gw->port()));
    slow.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  }
  std::atomic<bool> quit{false};
  std::thread trickle{[&] {
    while (!quit) {
      for (size_t i = 1; i < slow.size(); ++i) slow[i]->send("X"); // the first one just stalls
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
  }};
  for (int i = 0; i < 20; ++i) {
    auto r = f.get("/v1/cameras", reader);
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  quit = true;
  trickle.join();
  // A head that is not complete within request_timeout is answered 408
  // and closed; an idle connection stays open until idle_timeout.
  auto answer = slow.front()->read_all();
  CHECK(answer.rfind("HTTP/1.1 408", 0) == 0);
  CHECK(answer.find("\"error\"") != std::string::npos);
}

TEST_CASE("gateway: connections from one address are capped; beyond the cap a 503") {
  fixture f{2, 4};
  std::vector<std::unique_ptr<raw_client>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<raw_client>(f.gw->port()));
  // Each of them is admitted before the next one counts.
  for (int i = 0; i < 1000 && metrics::global().gateway_connections().Value() < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  raw_client extra{f.gw->port()};
  auto refused = extra.read_all();
  CHECK(refused.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(refused.find("too many connections from this address") != std::string::npos);
  // One of the four asks and is answered; after they close, new ones get in.
  held[0]->send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(held[0]->read_all().rfind("HTTP/1.1 200", 0) == 0);
  held.clear();
  bool served = false;
  for (int i = 0; i < 200 && !served; ++i) {
    auto r = f.get("/healthz");
    served = r && r->status == 200;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  CHECK(served);
}

namespace {

httplib::Result post_json(fixture& f, const std::string& path, const std::string& body, httplib::Headers h = {}) {
  auto c = f.client();
  return c.Post(path.c_str(), h, body, "application/json");
}

// The weaver_session=<id> part of a Set-Cookie header.
std::string session_of(const httplib::Result& r) {
  auto v = r->get_header_value("Set-Cookie");
  auto end = v.find(';');
  return v.substr(0, end);
}

} // namespace

TEST_CASE("gateway: POST /login sets an HttpOnly SameSite=Strict cookie accepted like the token") {
  fixture f;
  auto bad = post_json(f, "/login", R"({"token": "nope-nope-nope-nope"})");
  CHECK(bad->status == 401);
  CHECK(!bad->has_header("Set-Cookie"));
  CHECK(post_json(f, "/login", R"({"tok": 1})")->status == 400);
  CHECK(post_json(f, "/login", "{not json")->status == 400);
  {
    auto c = f.client();
    CHECK(c.Post("/login", "token=reader-token-0123456789", "application/x-www-form-urlencoded")->status == 415);
  }
  // From a page of another site: refused (a browser always sends Origin on POST).
  CHECK(post_json(f, "/login", R"({"token": "reader-token-0123456789"})", {{"Origin", "https://evil.example"}})->status
        == 403);

  auto ok = post_json(f, "/login", R"({"token": "reader-token-0123456789"})");
  REQUIRE(ok->status == 200);
  auto set = ok->get_header_value("Set-Cookie");
  CHECK(set.find("weaver_session=") == 0);
  CHECK(set.find("HttpOnly") != std::string::npos);
  CHECK(set.find("SameSite=Strict") != std::string::npos);
  CHECK(set.find("Path=/") != std::string::npos);
  CHECK(set.find("reader-token") == std::string::npos); // never the token
  CHECK(ok->body.find("reader-token") == std::string::npos);
  auto who = json::parse(ok->body);
  CHECK(who["name"] == "reader");
  CHECK(who["scopes"] == json::array({"query"}));
  auto cookie = session_of(ok);

  auto c = f.client();
  auto q = c.Get("/v1/cameras", {{"Cookie", "theme=dark; " + cookie}});
  CHECK(q->status == 200);
  CHECK(json::parse(q->body)["query"] == "cameras");
  CHECK(c.Get("/session", {{"Cookie", cookie}})->status == 200);
  // The session has its token's scopes, no more.
  CHECK(c.Get("/v1/alerts/stream", {{"Cookie", cookie}})->status == 403);
  // An Authorization header wins over the cookie.
  CHECK(c.Get("/v1/cameras", {{"Cookie", cookie}, {"Authorization", "Bearer nope-nope-nope-nope"}})->status == 401);
  // A forged or stale id is a 401.
  CHECK(c.Get("/v1/cameras", {{"Cookie", "weaver_session=" + std::string(64, 'f')}})->status == 401);
  CHECK(c.Get("/session")->status == 401);

  // Logout ends it: the same cookie no longer works, and the cookie is cleared.
  auto out = c.Post("/logout", {{"Cookie", cookie}}, "", "application/json");
  CHECK(out->status == 200);
  CHECK(json::parse(out->body)["ended"] == true);
  CHECK(out->get_header_value("Set-Cookie").find("Max-Age=0") != std::string::npos);
  auto after = c.Get("/v1/cameras", {{"Cookie", cookie}});
  CHECK(after->status == 401);
  CHECK(error_of(after).find("log in again") != std::string::npos);
}

TEST_CASE("gateway: the alert stream takes the session cookie (EventSource sends no headers)") {
  fixture f;
  auto ok = post_json(f, "/login", R"({"token": "watcher-token-0123456789"})");
  REQUIRE(ok->status == 200);
  f.store->add_event(1);
  stream_reader r{f.gw->port(), "/v1/alerts/stream?since_id=0", {{"Cookie", session_of(ok)}}};
  CHECK(r.wait_ids(1));
  CHECK(r.status == 200);
}

TEST_CASE("gateway: known paths with another method are 405 with Allow") {
  fixture f;
  auto c = f.client();
  auto p = c.Post("/v1/cameras", "", "application/json");
  CHECK(p->status == 405);
  CHECK(p->get_header_value("Allow").find("GET") != std::string::npos);
  CHECK(c.Delete("/v1/people/7/trajectory")->status == 405);
  CHECK(c.Put("/healthz", "", "text/plain")->status == 405);
  auto g = c.Get("/login");
  CHECK(g->status == 405);
  CHECK(g->get_header_value("Allow").find("POST") != std::string::npos);
  CHECK(c.Post("/", "", "text/plain")->status == 405);
  CHECK(c.Post("/nothing", "", "text/plain")->status == 404);
  // Without gateway.cors_origins an OPTIONS gets no CORS headers.
  httplib::Request req;
  req.method = "OPTIONS";
  req.path = "/v1/cameras";
  req.headers = {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "GET"}};
  auto o = c.send(req);
  CHECK(o->status == 204);
  CHECK(!o->has_header("Access-Control-Allow-Origin"));
  CHECK(!o->has_header("Access-Control-Allow-Methods"));
  CHECK(!c.Get("/v1/cameras", {{"Origin", "https://app.example"}, {"Authorization", reader}})
           ->has_header("Access-Control-Allow-Origin"));
}

TEST_CASE("gateway: a zone edit says kept only when tracker.zones_file took it") {
  auto registry = std::make_shared<zone_registry>(std::map<uint32_t, zone_shapes>{{3, {}}});
  registry->note_frame(3, 40, 30);
  bool writable = true;
  registry->keep_with([&](uint32_t, const zone_shapes&) { return writable; });
  fixture f{2, 64, {}, nullptr, 20, std::chrono::milliseconds{200}, registry, true};
  auto c = f.client();
  const std::string body = R"({"zones": [{"name": "till", "polygon": [[10, 10], [40, 10], [40, 30]]}]})";
  auto put = [&] {
    return c.Put("/v1/cameras/3/zones", {{"Authorization", "Bearer editor-token-0123456789"}}, body,
                 "application/json");
  };
  auto ok = put();
  REQUIRE(ok->status == 200);
  CHECK(json::parse(ok->body)["kept"] == true);
  CHECK_FALSE(json::parse(ok->body).contains("keep_error"));
  // The file could not be written: in use, but the answer does not say kept
  // (it once did, whatever the write gave).
  writable = false;
  auto failed = put();
  REQUIRE(failed->status == 200);
  CHECK(json::parse(failed->body)["kept"] == false);
  CHECK(json::parse(failed->body)["keep_error"].get<std::string>().find("zones_file") != std::string::npos);
  CHECK(registry->get(3)->zones.at(0).name == "till");
}

TEST_CASE("gateway: a camera's zones: GET them, PUT new ones (scope zones, validated), and they are in use") {
  const std::string editor = "Bearer editor-token-0123456789";
  // Camera 3 as the fixture configures it; its tracker here noted 40 x 30 frames.
  auto registry = std::make_shared<zone_registry>(
    std::map<uint32_t, zone_shapes>{{3, {{{"door", {{0, 0}, {20, 0}, {20, 10}}}}, {{"in", {1, 1}, {9, 9}}}}}, {4, {}}});
  registry->note_frame(3, 40, 30);
  std::vector<std::string> heard; // what the store would be told
  registry->on_set([&](uint32_t camera, const zone_shapes& z) {
    heard.push_back(std::to_string(camera) + ":" + std::to_string(z.zones.size()));
  });
  fixture f{2, 64, {}, nullptr, 20, std::chrono::milliseconds{200}, registry};
  auto c = f.client();
  auto put = [&](const std::string& target, const std::string& body, const std::string& auth,
                 httplib::Headers extra = {}) {
    if (!auth.empty()) extra.emplace("Authorization", auth);
    return c.Put(target.c_str(), extra, body, "application/json");
  };

  auto g = f.get("/v1/cameras/3/zones", reader);
  REQUIRE(g->status == 200);
  auto now = json::parse(g->body);
  CHECK(now["camera"] == 3);
  CHECK(now["editable"] == true);
  CHECK(now["kept"] == false); // no tracker.zones_file: until restart
  CHECK(now["width"] == 40);
  CHECK(now["zones"][0]["name"] == "door");
  CHECK(now["lines"][0]["from"] == json::array({1, 1}));
  CHECK(f.get("/v1/cameras/3/zones")->status == 401);
  CHECK(f.get("/v1/cameras/9/zones", reader)->status == 404);
  CHECK(f.get("/v1/cameras/x/zones", reader)->status == 400);
  CHECK(f.get("/v1/cameras/4/zones", reader)->status == 200);
  auto unsized = json::parse(f.get("/v1/cameras/4/zones", reader)->body);
  CHECK(unsized["width"].is_null());

  const std::string body =
    R"({"zones": [{"name": "till", "polygon": [[10, 10], [40, 10], [40, 30], [10, 30]]}], "lines": []})";
  // Who may write: a token with scope zones.
  CHECK(put("/v1/cameras/3/zones", body, "")->status == 401);
  auto ro = put("/v1/cameras/3/zones", body, reader);
  CHECK(ro->status == 403);
  CHECK(error_of(ro).find("lacks scope 'zones'") != std::string::npos);
  CHECK(put("/v1/cameras/3/zones", body, "Bearer nope-nope-nope-nope")->status == 401);
  // What may be written: JSON, checked against the frame; refused bodies change nothing.
  CHECK(c.Put("/v1/cameras/3/zones", {{"Authorization", editor}}, body, "text/plain")->status == 415);
  CHECK(put("/v1/cameras/3/zones", body, editor, {{"Origin", "https://evil.example"}})->status == 403);
  auto junk = put("/v1/cameras/3/zones", R"({"zones": [)", editor);
  CHECK(junk->status == 400);
  CHECK(error_of(junk) == "body: not JSON");
  auto outside =
    put("/v1/cameras/3/zones", R"({"zones": [{"name": "a", "polygon": [[0, 0], [41, 0], [0, 9]]}]})", editor);
  CHECK(outside->status == 400);
  CHECK(error_of(outside) == "zones[0].polygon[1]: [41, 0] is outside the frame (0...40 x 0...30)");
  CHECK(put("/v1/cameras/3/zones", R"({"zones": [{"name": "a;drop", "polygon": [[0, 0], [9, 0], [0, 9]]}]})", editor)
          ->status
        == 400);
  CHECK(put("/v1/cameras/3/zones", std::string(70 * 1024, '['), editor)->status == 413); // over the payload bound
  CHECK(put("/v1/cameras/3/zones?x=1", body, editor)->status == 400);
  CHECK(put("/v1/cameras/9/zones", body, editor)->status == 404);
  auto unknown_size = put("/v1/cameras/4/zones", body, editor);
  CHECK(unknown_size->status == 409);
  CHECK(error_of(unknown_size).find("frame size is not known") != std::string::npos);
  CHECK(registry->version() == 0);
  CHECK(heard.empty());

  auto ok = put("/v1/cameras/3/zones", body, editor);
  REQUIRE(ok->status == 200);
  CHECK(json::parse(ok->body)["zones"][0]["name"] == "till");
  CHECK(json::parse(ok->body)["lines"].empty());
  // In use: the registry the tracker reads, the store's listener, the
  // gateway's own answers (the zones route and the live overlay's source).
  CHECK(registry->version() == 1);
  CHECK(registry->get(3)->zones.at(0).name == "till");
  CHECK(heard == std::vector<std::string>{"3:1"});
  auto again = json::parse(f.get("/v1/cameras/3/zones", reader)->body);
  CHECK(again["zones"].size() == 1);
  CHECK(again["zones"][0]["polygon"][2] == json::array({40, 30}));

  // Other methods: 405 naming the allowed ones.
  auto del = c.Delete("/v1/cameras/3/zones", {{"Authorization", editor}});
  CHECK(del->status == 405);
  CHECK(del->get_header_value("Allow") == "GET, HEAD, PUT, OPTIONS");
  CHECK(c.Post("/v1/cameras/3/zones", body, "application/json")->status == 405);
  CHECK(c.Patch("/v1/cameras/3/zones", body, "application/json")->status == 405);
  // Pictures stay read only.
  CHECK(c.Put("/v1/cameras/3/live", body, "application/json")->status == 405);
}

TEST_CASE("gateway: where the tracker runs in another process, zones are shown but a PUT is a 409") {
  fixture f; // no zone registry: as a query,gateway node
  auto g = f.get("/v1/cameras/3/zones", reader);
  REQUIRE(g->status == 200);
  auto j = json::parse(g->body);
  CHECK(j["editable"] == false);
  CHECK(j["zones"][0]["name"] == "door"); // as configured
  CHECK(j["why_not_editable"].get<std::string>().find("another process") != std::string::npos);
  auto c = f.client();
  auto p = c.Put("/v1/cameras/3/zones", {{"Authorization", "Bearer editor-token-0123456789"}}, R"({"zones": []})",
                 "application/json");
  CHECK(p->status == 409);
  CHECK(error_of(p).find("restart that tracker") != std::string::npos);
}

TEST_CASE("gateway: CORS for the configured origins only, never with credentials") {
  fixture f{2, 64, {"https://app.example"}};
  auto c = f.client();
  httplib::Request req;
  req.method = "OPTIONS";
  req.path = "/v1/cameras";
  req.headers = {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "GET"}};
  auto o = c.send(req);
  CHECK(o->status == 204);
  CHECK(o->get_header_value("Access-Control-Allow-Headers").find("Authorization") != std::string::npos);
  auto g = c.Get("/v1/cameras", {{"Origin", "https://app.example"}, {"Authorization", reader}});
  CHECK(g->status == 200);
  CHECK(g->get_header_value("Access-Control-Allow-Origin") == "https://app.example");
  CHECK(!g->has_header("Access-Control-Allow-Credentials"));
  auto other = c.Get("/v1/cameras", {{"Origin", "https://other.example"}, {"Authorization", reader}});
  CHECK(!other->has_header("Access-Control-Allow-Origin"));
  CHECK(other->get_header_value("Vary") == "Origin");
}

TEST_CASE("gateway: the console's files and the spec are served, locked down and revalidated") {
  fixture f;
  auto c = f.client();
  auto index = c.Get("/");
  REQUIRE(index->status == 200);
  CHECK(index->get_header_value("Content-Type").rfind("text/html", 0) == 0);
  CHECK(index->body.find("/app.js") != std::string::npos);
  CHECK(index->get_header_value("Content-Security-Policy").find("script-src 'self'") != std::string::npos);
  CHECK(index->get_header_value("X-Content-Type-Options") == "nosniff");
  auto etag = index->get_header_value("ETag");
  REQUIRE(!etag.empty());
  CHECK(c.Get("/", {{"If-None-Match", etag}})->status == 304);
  CHECK(c.Get("/app.js")->get_header_value("Content-Type").rfind("text/javascript", 0) == 0);
  CHECK(c.Get("/docs")->status == 200);
  auto yaml = c.Get("/openapi.yaml");
  CHECK(yaml->status == 200);
  CHECK(yaml->body.find("/v1/transitions:") != std::string::npos);
  auto j = json::parse(c.Get("/openapi.json")->body);
  CHECK(j["openapi"].get<std::string>().rfind("3.", 0) == 0);
  CHECK(j["paths"].contains("/v1/transitions"));
  CHECK(j["components"]["schemas"]["Page"]["required"].size() == 4);
  // Nothing outside the table, whatever the path.
  CHECK(c.Get("/../gateway.cpp")->status == 404);
  CHECK(c.Get("/app.js/..%2f..%2fgateway.cpp")->status == 404);
  CHECK(c.Get("/index.html")->status == 404);
}

TEST_CASE("gateway: POST /login is rate-limited per client address (429 with Retry-After)") {
  fixture f{2, 64, {}, nullptr, 2};
  CHECK(post_json(f, "/login", R"({"token": "nope-nope-nope-nope"})")->status == 401);
  CHECK(post_json(f, "/login", R"({"token": "nope-nope-nope-nope-2"})")->status == 401);
  auto limited = post_json(f, "/login", R"({"token": "nope-nope-nope-nope-3"})");
  CHECK(limited->status == 429);
  CHECK(std::stoi(limited->get_header_value("Retry-After")) >= 1);
  CHECK(error_of(limited).find("too many sign-in attempts") == 0);
  // A good token is refused too while the limit holds: guessing stops here.
  CHECK(post_json(f, "/login", R"({"token": "reader-token-0123456789"})")->status == 429);
  // Bearer requests are not sign-ins: unaffected.
  CHECK(f.get("/v1/cameras", "Bearer reader-token-0123456789")->status == 200);
}

TEST_CASE("gateway: camera snapshots are authenticated, validated, and show the frame of the boxes") {
  auto live = std::make_shared<live_view>();
  fixture f{2, 64, {}, live};
  const std::string auth = "Bearer reader-token-0123456789";
  CHECK(f.get("/v1/cameras/3/live")->status == 401);
  CHECK(f.get("/v1/cameras/3/snapshot.jpg")->status == 401);
  CHECK(f.get("/v1/cameras/3/snapshot.jpg", "Bearer watcher-token-0123456789")->status == 403);
  auto none = f.get("/v1/cameras/3/live", auth);
  CHECK(none->status == 404);
  CHECK(error_of(none).find("no live frames") != std::string::npos);
  for (auto bad : {"/v1/cameras/x/live", "/v1/cameras/99999999999/live", "/v1/cameras/-1/snapshot.jpg",
                   "/v1/cameras/3/live?seq=1", "/v1/cameras/3/snapshot.jpg?seq=abc", "/v1/cameras/3/snapshot.jpg?x=1"})
    CHECK_MESSAGE(f.get(bad, auth)->status == 400, bad);
  {
    auto c = f.client();
    CHECK(c.Post("/v1/cameras/3/snapshot.jpg", "", "application/json")->status == 405);
  }

  auto fr = camera3_frame(12, 1'763'715'600'000, 160, 120, cv::Scalar(10, 200, 30));
  live->offer_frame(fr);
  track_batch b;
  b.camera_id = 3;
  track_event e;
  e.camera_id = 3;
  e.track_id = 41;
  e.frame_seq = 12;
  e.bbox = {10, 20, 30, 60};
  b.events.push_back(e);
  e.track_id = 42; // re-id in this process names it provisionally
  e.bbox = {80, 20, 30, 60};
  b.events.push_back(e);
  live->offer_tracks(b);
  live->offer_people(3, {{42, 17}});

  auto r = f.get("/v1/cameras/3/live", auth);
  REQUIRE(r->status == 200);
  auto j = json::parse(r->body);
  CHECK(j["seq"] == 12);
  CHECK(j["width"] == 160);
  CHECK(j["height"] == 120);
  REQUIRE(j["boxes"].size() == 2);
  CHECK(j["boxes"][0]["track"] == 41);
  CHECK(j["boxes"][0]["h"] == 60);
  CHECK_FALSE(j["boxes"][0].contains("person")); // no guess: no key, not 0
  CHECK(j["boxes"][1]["track"] == 42);
  CHECK(j["boxes"][1]["person"] == 17);
  CHECK(j["zones"][0]["name"] == "door");
  CHECK(j["zones"][0]["polygon"].size() == 3);
  CHECK(j["lines"][0]["name"] == "in");
  auto img = f.get(j["snapshot"].get<std::string>(), auth);
  REQUIRE(img->status == 200);
  CHECK(img->get_header_value("Content-Type") == "image/jpeg");
  CHECK(img->get_header_value("X-Frame-Seq") == "12");
  auto decoded = cv::imdecode(std::vector<uchar>(img->body.begin(), img->body.end()), cv::IMREAD_COLOR);
  CHECK(decoded.cols == 160);
  CHECK(f.get("/v1/cameras/4/snapshot.jpg", auth)->status == 404);
}

TEST_CASE("gateway: without a query role (an edge pod's live pictures) it serves frames and 503s queries") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto live = std::make_shared<live_view>();
  auto fr = camera3_frame(5, 1'763'715'600'000, 80, 60, cv::Scalar(90, 90, 90));
  live->offer_frame(fr);
  gateway_settings s;
  s.tokens = {{"reader", "reader-token-0123456789", {"query", "alerts"}}};
  s.timeout = std::chrono::milliseconds{300};
  gateway_server gw{sys, query_actor{}, s, std::make_shared<health_registry>(), std::make_shared<metrics_sources>(),
                    live};
  gw.start();
  httplib::Client c{"127.0.0.1", gw.port()};
  c.set_read_timeout(5, 0);
  httplib::Headers auth{{"Authorization", "Bearer reader-token-0123456789"}};
  auto img = c.Get("/v1/cameras/3/snapshot.jpg", auth);
  REQUIRE(img);
  CHECK(img->status == 200);
  CHECK(c.Get("/v1/cameras/3/live", auth)->status == 200);
  for (auto q : {"/v1/transitions?from=1&to=2", "/v1/evidence/3/5.jpg", "/v1/cameras"}) {
    auto r = c.Get(q, auth);
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 503, q);
    CHECK(error_of(r).find("no query role") != std::string::npos);
  }
  gw.stop();
}

TEST_CASE("gateway: a camera's MJPEG stream sends each new picture once, as JPEG parts, within max_streams") {
  auto live = std::make_shared<live_view>();
  fixture f{1, 64, {}, live}; // one stream at a time
  const std::string auth = "Bearer reader-token-0123456789";
  CHECK(f.get("/v1/cameras/3/stream.mjpg")->status == 401);
  CHECK(f.get("/v1/cameras/3/stream.mjpg", auth)->status == 404); // no frame yet
  CHECK(f.get("/v1/cameras/x/stream.mjpg", auth)->status == 400);
  std::atomic<bool> feeding{true};
  auto offer = [&](uint64_t seq) {
    auto fr = camera3_frame(seq, 1'763'715'600'000 + static_cast<int64_t>(seq) * 100, 80, 60,
                            cv::Scalar(double(seq % 200), 90, 90));
    live->offer_frame(fr);
  };
  offer(1);
  std::thread feeder{[&] {
    for (uint64_t seq = 2; feeding; ++seq) { // 10 frames a second, more than snapshot_fps (2)
      offer(seq);
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
  }};
  std::string ctype, body;
  int status = 0, second = 0;
  auto count = [](const std::string& s, const std::string& p) {
    size_t n = 0;
    for (auto at = s.find(p); at != std::string::npos; at = s.find(p, at + 1)) ++n;
    return n;
  };
  auto c = f.client();
  c.Get(
    "/v1/cameras/3/stream.mjpg", {{"Authorization", auth}},
    [&](const httplib::Response& r) {
      status = r.status;
      ctype = r.get_header_value("Content-Type");
      return true;
    },
    [&](const char* data, size_t n) {
      if (body.empty()) second = f.get("/v1/cameras/3/stream.mjpg", auth)->status; // while this one is open
      body.append(data, n);
      return count(body, "--weaver-frame\r\n") < 4;
    });
  feeding = false;
  feeder.join();
  CHECK(status == 200);
  CHECK(ctype == "multipart/x-mixed-replace; boundary=weaver-frame");
  CHECK(second == 503);
  // Three whole parts: each a JPEG of the camera's frame, each a newer frame.
  std::vector<uint64_t> seqs;
  size_t at = 0;
  for (int i = 0; i < 3; ++i) {
    at = body.find("--weaver-frame\r\n", at);
    REQUIRE(at != std::string::npos);
    auto end_head = body.find("\r\n\r\n", at);
    REQUIRE(end_head != std::string::npos);
    auto head = body.substr(at, end_head - at);
    CHECK(head.find("Content-Type: image/jpeg") != std::string::npos);
    auto len_at = head.find("Content-Length: ");
    auto seq_at = head.find("X-Frame-Seq: ");
    REQUIRE(len_at != std::string::npos);
    REQUIRE(seq_at != std::string::npos);
    size_t len = std::stoul(head.substr(len_at + 16));
    seqs.push_back(std::stoull(head.substr(seq_at + 13)));
    auto jpeg = body.substr(end_head + 4, len);
    REQUIRE(jpeg.size() == len);
    auto img = cv::imdecode(std::vector<uchar>(jpeg.begin(), jpeg.end()), cv::IMREAD_COLOR);
    CHECK(img.cols == 80);
    CHECK(img.rows == 60);
    CHECK(body.compare(end_head + 4 + len, 2, "\r\n") == 0);
    at = end_head + 4 + len;
  }
  CHECK(seqs[0] < seqs[1]);
  CHECK(seqs[1] < seqs[2]);
}

TEST_CASE("gateway: evidence crops are authenticated, validated, and served as JPEG from the query role") {
  fixture f;
  const std::string auth = "Bearer reader-token-0123456789";
  CHECK(f.get("/v1/evidence/3/5.jpg")->status == 401);
  auto r = f.get("/v1/evidence/3/5.jpg", auth);
  REQUIRE(r->status == 200);
  CHECK(r->get_header_value("Content-Type") == "image/jpeg");
  CHECK(r->body == std::string("\xff\xd8\xff\xe0\x01\x02\x03", 7));
  CHECK(f.get("/v1/evidence/3/6.jpg", auth)->status == 404);
  for (auto bad : {"/v1/evidence/x/5.jpg", "/v1/evidence/3/-5.jpg", "/v1/evidence/3/5a.jpg",
                   "/v1/evidence/3/1234567890123456789012.jpg", "/v1/evidence/3/5.jpg?x=1"})
    CHECK_MESSAGE(f.get(bad, auth)->status == 400, bad);
}

TEST_CASE("gateway: a stopped camera's last picture is served marked stale; its stream is refused") {
  auto live = std::make_shared<live_view>();
  fixture f{2, 64, {}, live};
  const std::string auth = "Bearer reader-token-0123456789";
  auto fr = camera3_frame(5, 1'763'715'600'000, 160, 120, cv::Scalar(10, 200, 30));
  // Its last frame arrived a minute ago (the default bound is 10 s).
  live->offer_frame(fr, live_view::wall_clock_ms() - 60'000);
  auto r = f.get("/v1/cameras/3/live", auth);
  REQUIRE(r->status == 200);
  auto j = json::parse(r->body);
  CHECK(j["seq"] == 5);
  CHECK(j["stale"] == true);
  CHECK(j["age_ms"].get<int64_t>() >= 60'000);
  CHECK(j["stale_after_ms"] == 10'000);
  auto img = f.get("/v1/cameras/3/snapshot.jpg", auth);
  REQUIRE(img->status == 200); // what the camera saw last, still
  CHECK(img->get_header_value("Content-Type") == "image/jpeg");
  CHECK(img->get_header_value("X-Frame-Stale") == "true");
  CHECK(std::stoll(img->get_header_value("X-Frame-Age-Ms")) >= 60'000);
  auto stream = f.get("/v1/cameras/3/stream.mjpg", auth);
  REQUIRE(stream);
  CHECK(stream->status == 503);
  CHECK(stream->has_header("Retry-After"));
  CHECK(error_of(stream).find("camera 3 is down") != std::string::npos);
}

TEST_CASE("gateway: an open MJPEG stream ends when its camera goes stale") {
  auto live = std::make_shared<live_view>();
  fixture f{2, 64, {}, live};
  const std::string auth = "Bearer reader-token-0123456789";
  auto fr = camera3_frame(1, 1'763'715'600'000, 80, 60, cv::Scalar(20, 90, 90));
  // The camera's last frame, 7 s before the default bound of 10 s runs out:
  // fresh when the stream opens, stale a few seconds later, and no other.
  live->offer_frame(fr, live_view::wall_clock_ms() - 7'000);
  int status = 0;
  std::string body;
  auto c = f.client(); // reads time out after 5 s: a stream that went on would fail
  auto r = c.Get(
    "/v1/cameras/3/stream.mjpg", {{"Authorization", auth}},
    [&](const httplib::Response& res) {
      status = res.status;
      return true;
    },
    [&](const char* data, size_t n) {
      body.append(data, n);
      return true;
    });
  CHECK(status == 200);
  REQUIRE(r); // the server ended it, properly, before the client's timeout
  CHECK(body.find("X-Frame-Seq: 1") != std::string::npos); // its last picture, once
  // One part, then the closing boundary.
  CHECK(body.find("--weaver-frame\r\n", body.find("--weaver-frame\r\n") + 1) == std::string::npos);
  CHECK(body.size() >= 18);
  CHECK(body.compare(body.size() - 18, 18, "--weaver-frame--\r\n") == 0);
  // And a new one is refused now.
  CHECK(f.get("/v1/cameras/3/stream.mjpg", auth)->status == 503);
}
