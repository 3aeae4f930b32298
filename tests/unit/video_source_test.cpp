#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "actors/camera/video_source.hpp"

using namespace weaver;
namespace fs = std::filesystem;

TEST_SUITE("video_source") {
  TEST_CASE("source strings are classified") {
    auto file = source_spec::parse("/data/a.avi");
    CHECK(file.kind == source_kind::file);
    CHECK(file.device_index == -1);
    CHECK(source_spec::parse("relative/b.mp4").kind == source_kind::file);
    auto rtsp = source_spec::parse("rtsp://user:pw@10.0.0.5:554/stream1");
    CHECK(rtsp.kind == source_kind::network);
    CHECK(rtsp.location == "rtsp://user:pw@10.0.0.5:554/stream1");
    CHECK(source_spec::parse("HTTP://cam/mjpg").kind == source_kind::network);
    CHECK(source_spec::parse("https://cam/live.m3u8").kind == source_kind::network);
    auto dev = source_spec::parse("/dev/video2");
    CHECK(dev.kind == source_kind::device);
    CHECK(dev.device_index == 2);
    CHECK(source_spec::parse("/dev/video").kind == source_kind::file);
    CHECK(source_spec::parse("/dev/videox").kind == source_kind::file);
    CHECK(std::string(to_string(source_kind::network)) == "network");
  }

  TEST_CASE("check explains bad sources") {
    auto missing = video_source::check("/nonexistent/x.avi");
    REQUIRE(missing);
    CHECK(*missing == "no such file: /nonexistent/x.avi");
    auto dev = video_source::check("/dev/video97");
    REQUIRE(dev);
    CHECK(dev->find("not a V4L2 device: /dev/video97") == 0);
    auto dir = video_source::check("/tmp");
    REQUIRE(dir);
    CHECK(dir->find("not a regular file") != std::string::npos);
    auto scheme = video_source::check("foo://cam/x");
    REQUIRE(scheme);
    CHECK(scheme->find("unsupported URL scheme 'foo'") != std::string::npos);
    auto nohost = video_source::check("rtsp:///x");
    REQUIRE(nohost);
    CHECK(nohost->find("no host") != std::string::npos);
    CHECK(video_source::check(""));
    CHECK_FALSE(video_source::check("rtsp://127.0.0.1:9/none")); // not contacted
  }

  TEST_CASE("a missing file fails to open with a clear error") {
    video_source src("/nonexistent/x.avi");
    std::string error;
    CHECK_FALSE(src.open(&error));
    CHECK(error == "no such file: /nonexistent/x.avi");
    cv::Mat m;
    CHECK_FALSE(src.read(m));
    CHECK(src.is_file());
  }

  TEST_CASE("a file that is not a video fails to open with a clear error") {
    auto path = fs::temp_directory_path() / "weaver_video_source_not_video.avi";
    {
      std::FILE* f = std::fopen(path.c_str(), "w");
      REQUIRE(f);
      std::fputs("hello", f);
      std::fclose(f);
    }
    video_source src(path.string());
    std::string error;
    CHECK_FALSE(src.open(&error));
    CHECK(error.find("cannot decode " + path.string()) == 0);
    fs::remove(path);
  }

  TEST_CASE("an unreachable stream fails quickly without crashing") {
    source_options opts;
    opts.open_timeout_ms = 3000;
    opts.read_timeout_ms = 3000;
    video_source src("rtsp://127.0.0.1:9/none", opts);
    CHECK_FALSE(src.is_file());
    std::string error;
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(src.open(&error));
    auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("rtsp://127.0.0.1:9/none failed after " << s << " s: " << error);
    CHECK(error.find("cannot open rtsp://127.0.0.1:9/none") == 0);
    CHECK(s < 30); // loose: a hang would be minutes; only guards against that
    cv::Mat m;
    CHECK_FALSE(src.read(m));
  }

  TEST_CASE("a server that accepts but never answers times out") {
    // The kernel completes the TCP handshake on a listening socket, so FFmpeg
    // connects and then waits for an RTSP reply that never comes.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    auto url = "rtsp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/silent";
    source_options opts;
    opts.open_timeout_ms = 1500;
    opts.read_timeout_ms = 1500;
    video_source src(url, opts);
    std::string error;
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(src.open(&error));
    auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::close(fd);
    MESSAGE(url << " failed after " << s << " s: " << error);
    CHECK(error.find("cannot open " + url) == 0);
    CHECK(s < 60); // loose: without the timeout this hangs indefinitely
  }

  TEST_CASE("a short clip decodes every frame") {
    auto dir = fs::temp_directory_path() / ("weaver_video_source_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto path = (dir / "clip.avi").string();
    const cv::Size size(160, 120);
    {
      cv::VideoWriter w(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0, size);
      REQUIRE(w.isOpened());
      for (int i = 0; i < 20; ++i) {
        cv::Mat f(size, CV_8UC3, cv::Scalar(40, 80, 120));
        cv::rectangle(f, cv::Rect(i * 5, 30, 20, 40), cv::Scalar(255, 255, 255), cv::FILLED);
        w.write(f);
      }
    }
    video_source src(path);
    std::string error;
    REQUIRE_MESSAGE(src.open(&error), error);
    CHECK(src.is_open());
    CHECK(src.width() == 160);
    CHECK(src.height() == 120);
    CHECK(src.fps() == doctest::Approx(10.0));
    CHECK(src.describe() == "file " + path + " (160x120 @ 10 fps)");
    int n = 0;
    cv::Mat m;
    while (src.read(m)) {
      CHECK(m.size() == size);
      CHECK(m.type() == CV_8UC3);
      ++n;
    }
    CHECK(n == 20);
    CHECK_FALSE(src.read(m)); // stays at end
    // Reopening starts over (what a looping file camera does).
    REQUIRE(src.open(&error));
    CHECK(src.read(m));
    src.close();
    CHECK_FALSE(src.is_open());
    fs::remove_all(dir);
  }

  TEST_CASE("a file's source bytes: its packets per frame, its whole size when read to the end") {
    auto dir = fs::temp_directory_path() / ("weaver_source_bytes_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto path = (dir / "clip.avi").string();
    const cv::Size size(160, 120);
    {
      cv::VideoWriter w(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0, size);
      REQUIRE(w.isOpened());
      cv::Mat f(size, CV_8UC3);
      for (int i = 0; i < 20; ++i) {
        cv::randu(f, 0, 256); // noise: frames of clearly different sizes
        w.write(f);
      }
    }
    const uint64_t file = fs::file_size(path);
    video_source src(path);
    std::string error;
    REQUIRE_MESSAGE(src.open(&error), error);
    CHECK(std::string(src.source_bytes_basis()) == "packets");
    cv::Mat m;
    uint64_t first_five = 0;
    for (int i = 0; i < 5; ++i) {
      REQUIRE(src.read(m));
      const uint64_t n = src.take_source_bytes();
      CHECK(n > 160 * 120 / 4); // a noise JPEG is large...
      CHECK(n < 160 * 120 * 3); // ... but smaller than its pixels
      first_five += n;
    }
    CHECK(src.take_source_bytes() == 0); // taken
    CHECK(first_five < file / 3); // a quarter of the frames: about a quarter of the file
    uint64_t total = first_five;
    while (src.read(m)) total += src.take_source_bytes();
    total += src.take_source_bytes(); // the end of the file: headers and index
    CHECK(total == file);
    // Reopened, it counts again from the start.
    REQUIRE(src.open(&error));
    REQUIRE(src.read(m));
    CHECK(src.take_source_bytes() > 0);
    fs::remove_all(dir);
  }

  TEST_CASE("the sample video opens at 768x576") {
    const char* sample = std::getenv("WEAVER_SAMPLE_VIDEO");
    if (!sample || !*sample) {
      MESSAGE("skipped: set WEAVER_SAMPLE_VIDEO to tools/data/vtest.avi");
      return;
    }
    video_source src(sample);
    std::string error;
    REQUIRE_MESSAGE(src.open(&error), error);
    CHECK(src.width() == 768);
    CHECK(src.height() == 576);
    cv::Mat m;
    REQUIRE(src.read(m));
    CHECK(m.size() == cv::Size(768, 576));
    CHECK(src.frame_count() == 795);
  }

  TEST_CASE("backoff doubles up to its cap and resets") {
    backoff b(500, 30000);
    CHECK(b.next() == 500);
    CHECK(b.next() == 1000);
    CHECK(b.next() == 2000);
    CHECK(b.next() == 4000);
    CHECK(b.next() == 8000);
    CHECK(b.next() == 16000);
    CHECK(b.next() == 30000);
    CHECK(b.next() == 30000);
    b.reset();
    CHECK(b.next() == 500);
    backoff odd(3, 10);
    CHECK(odd.next() == 3);
    CHECK(odd.next() == 6);
    CHECK(odd.next() == 10);
    backoff bad(0, -5); // nonsense config still yields positive delays
    CHECK(bad.next() == 1);
    CHECK(bad.next() == 1);
  }

  TEST_CASE("passwords are masked wherever a source is shown") {
    CHECK(shown_source("rtsp://admin:secret@10.0.0.5:554/stream1") == "rtsp://admin:***@10.0.0.5:554/stream1");
    CHECK(shown_source("RTSP://admin:s3:cr@t@cam.local/live") == "RTSP://admin:***@cam.local/live");
    CHECK(shown_source("http://u:p@cam/mjpg?resolution=640") == "http://u:***@cam/mjpg?resolution=640");
    CHECK(shown_source("rtsp://cam/x?user=admin&password=pw&channel=1")
          == "rtsp://cam/x?user=admin&password=***&channel=1");
    CHECK(shown_source("https://cam/live.m3u8?token=abc#t=1") == "https://cam/live.m3u8?token=***#t=1");
    CHECK(shown_source("rtsp://u:pw@cam/s?authKey=zz") == "rtsp://u:***@cam/s?authKey=***");
    // Nothing secret: unchanged (a user without a password is no secret).
    CHECK(shown_source("rtsp://admin@cam/stream") == "rtsp://admin@cam/stream");
    CHECK(shown_source("rtsp://cam/stream@2") == "rtsp://cam/stream@2");
    CHECK(shown_source("/data/a:b@c.avi") == "/data/a:b@c.avi");
    CHECK(shown_source("/dev/video0") == "/dev/video0");
    CHECK(shown_source("") == "");
    CHECK(shown_source("rtsp://cam/x?password=") == "rtsp://cam/x?password=");
  }

  TEST_CASE("errors and descriptions of a network source never show its password") {
    // check(): a URL without a host.
    auto bad = video_source::check("rtsp://user:topsecret@");
    REQUIRE(bad);
    CHECK(bad->find("topsecret") == std::string::npos);
    CHECK(bad->find("user:***@") != std::string::npos);
    auto scheme = video_source::check("ftp://user:topsecret@host/x");
    REQUIRE(scheme);
    CHECK(scheme->find("topsecret") == std::string::npos);
    // open(): a closed port on loopback refuses at once.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    int port = ntohs(a.sin_port);
    ::close(fd); // nothing listens there now
    source_options o;
    o.open_timeout_ms = 1000;
    video_source src{"rtsp://user:topsecret@127.0.0.1:" + std::to_string(port) + "/s?pwd=topsecret", o};
    std::string err;
    CHECK_FALSE(src.open(&err));
    CHECK(err.find("topsecret") == std::string::npos);
    CHECK(err.find("rtsp://user:***@127.0.0.1") != std::string::npos);
    CHECK(src.describe().find("topsecret") == std::string::npos);
    CHECK(src.shown().find("pwd=***") != std::string::npos);
  }

} // TEST_SUITE
