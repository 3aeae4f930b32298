// The xrt card on XRT's noop shim: the whole host path (device, xclbin,
// kernel, buffer objects, syncs, runs) through the real XRT library, with
// the kernel's numbers from the host C-simulation. No FPGA needed; the
// xclbin is written by the test.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "accel/detect/appearance.hpp"
#include "accel/detect/detector.hpp"
#include "accel/detect/dnn_detector.hpp"
#include "accel/engine/int8_model.hpp"
#include "accel/xclbin_writer.hpp"
#include "accel/xrt_card.hpp"
#include "accel/xrt_program.hpp"
#include "accel/xrt_protocol.hpp"
#include "actors/camera/video_source.hpp"
#include "detections_agree.hpp"
#include "sample_frames.hpp"

using namespace weaver;
namespace fs = std::filesystem;

namespace {

const std::string model_file = std::string(WEAVER_SOURCE_DIR) + "/tools/data/models/nanodet.json";

// One folder per test process for the xclbins the tests write, removed at exit.
fs::path scratch() {
  struct folder {
    fs::path path = fs::temp_directory_path() / ("weaver_xrt_test_" + std::to_string(::getpid()));
    folder() { fs::create_directories(path); }
    ~folder() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static folder dir;
  return dir.path;
}

std::string xclbin(const std::string& name, xclbin_options o = {}) {
  auto path = (scratch() / name).string();
  write_xclbin(path, o);
  return path;
}

dnn_options nanodet() {
  REQUIRE_MESSAGE(fs::exists(model_file), "run tools/setup.sh to fetch the NanoDet model");
  dnn_options o;
  o.kind = "nanodet";
  o.model = model_file;
  return o;
}

xrt_card_options noop_card(const std::string& name, const std::string& path) {
  xrt_card_options o;
  o.name = name;
  o.device = "0";
  o.xclbin = path;
  o.emulation = "noop";
  // The emulated kernel runs the whole network on the host: a batch of two
  // NanoDet frames took over the default 1 s on a loaded 2-core machine and
  // failed a test about equal detections. A deadline, not a timing: the
  // timeout's own test sets its own.
  o.timeout_ms = 60000;
  return o;
}

card_job job_of(uint64_t ticket, const cv::Mat& image, std::shared_ptr<detector> engine, uint32_t camera = 1) {
  auto f = std::make_shared<frame>();
  f->camera_id = camera;
  f->seq = ticket;
  f->image = image;
  card_job j;
  j.ticket = ticket;
  j.job.input = f;
  j.job.work = std::move(engine);
  return j;
}

batch_result run_batch(xrt_card& c, std::vector<card_job> batch) {
  std::promise<batch_result> p;
  auto fut = p.get_future();
  c.submit(std::move(batch), [&p](batch_result r) { p.set_value(std::move(r)); });
  return fut.get();
}

// What the cpu card computes for a job: detection plus the hand-crafted
// appearance feature per box.
std::vector<detection> on_cpu(detector& d, const cv::Mat& image) {
  auto dets = d.detect(image);
  for (auto& x : dets) x.feature = appearance_descriptor(image, x.bbox);
  return dets;
}

void check_equal(const std::vector<detection>& a, const std::vector<detection>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].bbox.x == b[i].bbox.x);
    CHECK(a[i].bbox.y == b[i].bbox.y);
    CHECK(a[i].bbox.w == b[i].bbox.w);
    CHECK(a[i].bbox.h == b[i].bbox.h);
    CHECK(a[i].score == b[i].score);
    CHECK(a[i].class_id == b[i].class_id);
    CHECK(a[i].embedding == b[i].embedding);
    CHECK(a[i].feature == b[i].feature);
  }
}

} // namespace

TEST_SUITE("xrt_card") {
  TEST_CASE("xclbin writer: reproducible files with the four sections XRT needs, checked on reading") {
    xclbin_options o;
    o.max_batch = 4;
    o.compute_units = 2;
    CHECK(build_xclbin(o) == build_xclbin(o));
    auto path = xclbin("writer.xclbin", o);
    auto s = read_xclbin(path);
    CHECK(s.sections == std::vector<std::string>{"MEM_TOPOLOGY", "IP_LAYOUT", "CONNECTIVITY", "EMBEDDED_METADATA"});
    REQUIRE(s.kernels.size() == 1);
    CHECK(s.kernels[0].name == "weaver_dnn");
    CHECK(s.kernels[0].max_batch == 4);
    CHECK(s.platform == o.platform);
    o.kernel = "other";
    CHECK(read_xclbin(xclbin("other.xclbin", o)).uuid != s.uuid);

    o.kernel = "no spaces";
    CHECK_THROWS_AS(build_xclbin(o), std::invalid_argument);
    auto junk = (scratch() / "junk.xclbin").string();
    std::ofstream(junk) << "not an xclbin";
    CHECK_THROWS_WITH_AS(read_xclbin(junk), doctest::Contains(junk.c_str()), std::runtime_error);
    auto bytes = build_xclbin({});
    auto cut = (scratch() / "cut.xclbin").string();
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
    CHECK_THROWS_WITH_AS(read_xclbin(cut), doctest::Contains("truncated"), std::runtime_error);
  }

  TEST_CASE("program and weights buffers carry the network: rebuilt from them alone it computes what the engine does") {
    dnn_detector det(nanodet());
    const cv::Size frame(256, 192);
    auto model = det.compiled(frame);
    std::vector<xrt_tensor> needed;
    for (const auto& t : det.host_tensors(frame)) needed.push_back({t.name, t.output});
    REQUIRE(needed.size() >= 3); // NanoDet: cls and reg per level, then the feature map
    CHECK(needed.back().graph_output == -1);

    // An int8 model is refused, not run as float.
    CHECK_THROWS_WITH_AS(xrt_program(engine::model::with_table(*model, std::make_shared<engine::int8_table>()), needed),
                         doctest::Contains("float32 models only"), engine::model_error);

    xrt_program prog(model, needed);
    const auto& l = prog.layout();
    CHECK(l.input_stride % xrt_protocol::alignment == 0);
    CHECK(l.output_stride % xrt_protocol::alignment == 0);
    CHECK(l.weights_bytes % xrt_protocol::alignment == 0);
    CHECK(l.input_bytes == 4u * 3u * static_cast<size_t>(l.input_shape[1] * l.input_shape[2]));
    REQUIRE(l.outputs.size() == needed.size());
    for (const auto& s : l.outputs) CHECK(s.offset % xrt_protocol::alignment == 0);

    std::vector<uint8_t> weights(l.weights_bytes);
    prog.write_weights(weights.data());
    xrt_kernel_emulator emu(prog.program().data(), prog.program().size(), weights.data(), weights.size());
    CHECK(emu.model().ir().nodes.size() == model->ir().nodes.size());

    // Two images in one run, against a session of the original model.
    auto imgs = sample_frames(2, 25);
    std::vector<uint8_t> in(2 * l.input_stride), out(2 * l.output_stride);
    engine::session ref(model);
    for (int b = 0; b < 2; ++b) {
      cv::Mat small;
      cv::resize(imgs[static_cast<size_t>(b)], small, frame);
      det.fill_input(small, reinterpret_cast<float*>(in.data() + b * l.input_stride));
    }
    emu.run(in.data(), out.data(), 2);
    for (int b = 0; b < 2; ++b) {
      std::memcpy(ref.input(), in.data() + b * l.input_stride, l.input_bytes);
      ref.run();
      for (size_t k = 0; k < needed.size(); ++k) {
        const float* want = needed[k].graph_output >= 0 ? ref.output(static_cast<size_t>(needed[k].graph_output))
                                                        : ref.value(needed[k].name);
        REQUIRE(want);
        CHECK(std::memcmp(out.data() + b * l.output_stride + l.outputs[k].offset, want, l.outputs[k].bytes) == 0);
      }
    }

    // A wrong pairing or a damaged program fails loudly, not with garbage.
    weights[weights.size() / 2] ^= 1;
    CHECK_THROWS_WITH_AS(
      xrt_kernel_emulator(prog.program().data(), prog.program().size(), weights.data(), weights.size()),
      doctest::Contains("checksum"), std::runtime_error);
    weights[weights.size() / 2] ^= 1;
    CHECK_THROWS_WITH_AS(
      xrt_kernel_emulator(prog.program().data(), prog.program().size() / 2, weights.data(), weights.size()),
      doctest::Contains("not a weaver.xrt.Program"), std::runtime_error);
  }

  TEST_CASE("noop environment: the card sets XCL_EMULATION_MODE and a XILINX_XRT whose lib holds the noop shim") {
    std::string why;
    REQUIRE_MESSAGE(prepare_xrt_environment("noop", &why), why);
    REQUIRE(std::getenv("XCL_EMULATION_MODE"));
    CHECK(std::string(std::getenv("XCL_EMULATION_MODE")) == "noop");
    REQUIRE(std::getenv("XILINX_XRT"));
    CHECK(fs::exists(std::string(std::getenv("XILINX_XRT")) + "/lib/libxrt_noop.so.2"));
    // One shim per process: real hardware cannot join, nor can an unknown mode.
    CHECK_FALSE(prepare_xrt_environment("", &why));
    CHECK(why.find("one shim per process") != std::string::npos);
    CHECK_FALSE(prepare_xrt_environment("hw_emu", &why));
    CHECK(why.find("hw_emu") != std::string::npos);
    // `weaver cards` in such a process lists nothing and says why.
    why.clear();
    CHECK(enumerate_xrt_devices(&why).empty());
    CHECK(why.find("noop") != std::string::npos);
  }

  TEST_CASE("xrt card on noop: opens device 0, loads the xclbin, opens the kernel, describes itself") {
    xclbin_options xo;
    xo.memory_bytes = 2ull << 30;
    auto path = xclbin("info.xclbin", xo);
    auto o = noop_card("xrt-info", path);
    o.max_batch = 4;
    xrt_card c(o);
    const auto& i = c.info();
    CHECK(c.name() == "xrt-info");
    CHECK(i.kind == "xrt");
    CHECK(i.device == "0 (noop)");
    CHECK(i.capacity == 1);
    CHECK(i.max_batch == 4);
    CHECK(i.memory_bytes == (2ull << 30)); // the noop shim reports none: the xclbin's bank
    CHECK(i.details.find(path) != std::string::npos);
    CHECK(i.details.find("weaver_dnn") != std::string::npos);
    std::string why;
    CHECK(c.probe(&why));
  }

  TEST_CASE("xrt card: a missing xclbin, an unknown kernel or too large a batch fail naming the file or kernel") {
    auto missing = (scratch() / "missing.xclbin").string();
    CHECK_THROWS_WITH_AS(xrt_card{noop_card("xrt-m", missing)},
                         doctest::Contains(("xrt card xrt-m: xclbin " + missing + ": cannot open").c_str()),
                         std::runtime_error);
    auto path = xclbin("kernel.xclbin");
    auto o = noop_card("xrt-k", path);
    o.kernel = "yolo_dnn";
    CHECK_THROWS_WITH_AS(
      xrt_card{o}, doctest::Contains(("kernel 'yolo_dnn' is not in xclbin " + path + " (it has: weaver_dnn)").c_str()),
      std::runtime_error);
    xclbin_options small;
    small.max_batch = 2;
    auto o2 = noop_card("xrt-b", xclbin("batch2.xclbin", small));
    o2.max_batch = 3;
    CHECK_THROWS_WITH_AS(xrt_card{o2}, doctest::Contains("limit of 2"), std::runtime_error);
    auto o3 = noop_card("xrt-bdf", path);
    o3.device = "0000:3b:00.1"; // the noop shim has no PCIe devices
    CHECK_THROWS_WITH_AS(xrt_card{o3}, doctest::Contains("cannot open device 0000:3b:00.1"), std::runtime_error);
  }

  TEST_CASE("xrt card: the host protocol — buffers per the layout, weights and program once, a sync each way per run") {
    auto o = noop_card("xrt-proto", xclbin("proto.xclbin"));
    o.max_batch = 2;
    o.trace = true;
    xrt_card c(o);
    auto imgs = sample_frames(3, 10);
    std::vector<cv::Mat> small(3);
    for (size_t i = 0; i < 3; ++i) cv::resize(imgs[i], small[i], cv::Size(256, 192));
    auto det = std::make_shared<dnn_detector>(nanodet());

    // The layout the card must have used, from the same model.
    std::vector<xrt_tensor> needed;
    for (const auto& t : det->host_tensors(small[0].size())) needed.push_back({t.name, t.output});
    xrt_program prog(det->compiled(small[0].size()), needed);
    const auto& l = prog.layout();

    auto r1 = run_batch(c, {job_of(1, small[0], det), job_of(2, small[1], det)});
    REQUIRE_MESSAGE(r1.ok, r1.error);
    auto r2 = run_batch(c, {job_of(3, small[2], det)});
    REQUIRE_MESSAGE(r2.ok, r2.error);
    CHECK(r1.card == "xrt-proto");
    REQUIRE(r1.results.size() == 2);
    CHECK(r1.results[0].ticket == 1);
    CHECK(r1.results[1].ticket == 2);
    CHECK(r2.results[0].ticket == 3);
    CHECK(r2.results[0].batch.width == 256);

    auto s = [](size_t n) { return std::to_string(n) + " B"; };
    const std::vector<std::string> want = {
      "alloc weights " + s(l.weights_bytes) + " bank 0",
      "alloc program " + s(xrt_protocol::align_up(l.program_bytes)) + " bank 0",
      "alloc input " + s(2 * l.input_stride) + " bank 0",
      "alloc output " + s(2 * l.output_stride) + " bank 0",
      "sync weights to_device " + s(l.weights_bytes),
      "sync program to_device " + s(xrt_protocol::align_up(l.program_bytes)),
      "sync input to_device " + s(2 * l.input_stride),
      "run batch 2",
      "wait completed",
      "sync output from_device " + s(2 * l.output_stride),
      "emulate batch 2",
      "sync input to_device " + s(l.input_stride),
      "run batch 1",
      "wait completed",
      "sync output from_device " + s(l.output_stride),
      "emulate batch 1",
    };
    CHECK(c.trace() == want);
    auto st = c.stats();
    CHECK(st.batches == 2);
    CHECK(st.failed_batches == 0);
    CHECK(st.runs == 2);
    CHECK(st.images == 3);
    CHECK(st.networks == 1);
    CHECK(st.buffers == 4);
    CHECK(st.syncs_to_device == 4);
    CHECK(st.syncs_from_device == 2);
    CHECK(st.bytes_from_device == 3 * l.output_stride);
    CHECK(st.emulated_runs == 2);
  }

  TEST_CASE("xrt card on noop: detections equal a direct dnn_detector's exactly; non-DNN jobs fail alone") {
    auto o = noop_card("xrt-eq", xclbin("equal.xclbin"));
    o.max_batch = 3;
    xrt_card c(o);
    auto on_card = std::make_shared<dnn_detector>(nanodet());
    dnn_detector direct(nanodet());
    auto imgs = sample_frames(4, 30);
    size_t total = 0;
    for (size_t i = 0; i + 1 < imgs.size(); i += 2) {
      auto r = run_batch(c, {job_of(i, imgs[i], on_card), job_of(i + 1, imgs[i + 1], on_card)});
      REQUIRE_MESSAGE(r.ok, r.error);
      for (size_t k = 0; k < 2; ++k) {
        REQUIRE_MESSAGE(r.results[k].ok, r.results[k].error);
        auto want = on_cpu(direct, imgs[i + k]);
        check_equal(r.results[k].batch.detections, want);
        total += want.size();
      }
    }
    CHECK(total > 10); // vtest.avi has people in every frame

    // Another camera at another size (its own network) and a motion detector
    // in the same batch: the DNN jobs run, the motion job alone fails.
    cv::Mat crop = imgs[0](cv::Rect(256, 0, 256, 576)).clone();
    auto other_camera = std::make_shared<dnn_detector>(nanodet());
    std::shared_ptr<detector> motion = make_detector("motion");
    auto r =
      run_batch(c, {job_of(10, imgs[1], on_card), job_of(11, crop, other_camera, 2), job_of(12, imgs[2], motion, 3)});
    REQUIRE_MESSAGE(r.ok, r.error);
    REQUIRE(r.results.size() == 3);
    CHECK(r.results[0].ok);
    CHECK(r.results[1].ok);
    CHECK_FALSE(r.results[2].ok);
    CHECK(r.results[2].error.find("xrt card runs DNN detectors only") != std::string::npos);
    CHECK(r.results[1].batch.camera_id == 2);
    check_equal(r.results[0].batch.detections, on_cpu(direct, imgs[1]));
    dnn_detector direct_crop(nanodet());
    check_equal(r.results[1].batch.detections, on_cpu(direct_crop, crop));
    CHECK(c.stats().networks == 2);
  }

  TEST_CASE(
    "xrt card on noop with an int8 model: the weaver_dnn kernel's C-simulation finds what the int8 cpu path finds") {
    // The int8 numbers: calibrated on frames 0 and 40, checked on 440-560.
    dnn_detector f32(nanodet());
    auto frames = sample_frames(15, 40);
    auto m = f32.compiled(frames[0].size());
    size_t next = 0;
    auto table = engine::calibrate(m, [&](float* in) {
      if (next == 2) return false;
      f32.fill_input(frames[next++], in);
      return true;
    });
    table.source = model_file;
    const auto int8_file = (scratch() / "nanodet.int8.json").string();
    engine::save_int8(table, int8_file);
    auto o8 = nanodet();
    o8.precision = "int8";
    o8.int8_model = int8_file;
    o8.int8_exact = true; // what the config forces with an xrt card in the pool: the kernel's codes

    auto o = noop_card("xrt-int8", xclbin("int8.xclbin"));
    o.max_batch = 2;
    o.timeout_ms = 600000; // the C-simulation takes seconds per frame
    xrt_card c(o);
    auto on_card = std::make_shared<dnn_detector>(o8);
    dnn_detector direct(o8);
    // Agreement as tests/unit/detections_agree.hpp says why.
    size_t total = 0, matched = 0;
    for (size_t i = 11; i + 1 < frames.size(); i += 2) {
      auto r = run_batch(c, {job_of(i, frames[i], on_card), job_of(i + 1, frames[i + 1], on_card)});
      REQUIRE_MESSAGE(r.ok, r.error);
      for (size_t k = 0; k < 2; ++k) {
        REQUIRE_MESSAGE(r.results[k].ok, r.results[k].error);
        CAPTURE(i + k);
        check_detections_agree(on_cpu(direct, frames[i + k]), r.results[k].batch.detections, matched, total);
      }
    }
    MESSAGE(matched << " of " << total << " int8 cpu detections found by the kernel");
    CHECK(total >= 10);
    CHECK(c.stats().emulated_runs == 2);

    // A float32 model on the same card still runs the float program.
    auto r = run_batch(c, {job_of(1, frames[3], std::make_shared<dnn_detector>(nanodet()))});
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.results[0].ok);
  }

  TEST_CASE("xrt card: a kernel slower than timeout_ms fails the batch naming card and timeout; probe brings it back") {
    // The noop shim completes every run at once (its exec_wait ignores
    // timeouts), so what is slow here is the emulated kernel, through a test
    // hook: this exercises the card's timeout handling (error, card down,
    // probe), with the emulated time counted as device time.
    auto o = noop_card("xrt-slow", xclbin("slow.xclbin"));
    o.timeout_ms = 300;
    o.emulation_delay_ms = 1000;
    xrt_card c(o);
    auto det = std::make_shared<dnn_detector>(nanodet());
    cv::Mat img;
    cv::resize(sample_frames(1, 1)[0], img, cv::Size(128, 96));

    auto r = run_batch(c, {job_of(1, img, det)});
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("xrt card xrt-slow") != std::string::npos);
    CHECK(r.error.find("did not finish within 300 ms") != std::string::npos);
    CHECK(c.stats().timeouts == 1);

    // Down until probed: the next batch fails at once, without a run.
    auto runs = c.stats().runs;
    auto r2 = run_batch(c, {job_of(2, img, det)});
    CHECK_FALSE(r2.ok);
    CHECK(r2.error.find("down until probed") != std::string::npos);
    CHECK(c.stats().runs == runs);

    c.set_emulation_delay(std::chrono::milliseconds(0));
    std::string why;
    REQUIRE_MESSAGE(c.probe(&why), why);
    auto r3 = run_batch(c, {job_of(3, img, det)});
    REQUIRE_MESSAGE(r3.ok, r3.error);
    CHECK(r3.results[0].ok);
  }

} // TEST_SUITE
