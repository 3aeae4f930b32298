#include "accel/xrt_card.hpp"

#include "accel/batch_queue.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <experimental/xrt_system.h>
#include <experimental/xrt_xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>
#include <nlohmann/json.hpp>

#include "accel/hls_program.hpp"
#include "accel/xclbin_writer.hpp"
#include "accel/xrt_program.hpp"
#include "accel/xrt_protocol.hpp"

namespace weaver {

namespace fs = std::filesystem;
namespace xp = xrt_protocol;

// ------------------------------------------------------------ environment

namespace {

bool fail(std::string* why, const std::string& msg) {
  if (why) *why = msg;
  return false;
}

// The folder XRT's libraries were loaded from: where the shims are too.
std::string xrt_library_folder() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&xrtDeviceOpen), &info) == 0 || !info.dli_fname) return {};
  return fs::path(info.dli_fname).parent_path().string();
}

// A folder only we can write, so nobody can plant a shim for us to load.
bool private_folder(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return false;
  return S_ISDIR(st.st_mode) && st.st_uid == ::getuid() && (st.st_mode & 022) == 0;
}

// $TMPDIR/weaver-xrt-<uid>/lib -> `libdir`; a fresh mkdtemp folder when the
// usual one is not ours.
bool make_xrt_root(const std::string& libdir, std::string* root, std::string* why) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp && *tmp ? tmp : "/tmp";
  std::string dir = base + "/weaver-xrt-" + std::to_string(::getuid());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(why, "cannot create " + dir + ": " + std::strerror(errno));
  if (!private_folder(dir)) {
    std::string templ = base + "/weaver-xrt-XXXXXX";
    if (!::mkdtemp(templ.data())) return fail(why, "cannot create a folder in " + base + ": " + std::strerror(errno));
    dir = templ;
  }
  std::string link = dir + "/lib";
  std::error_code ec;
  if (fs::read_symlink(link, ec) != fs::path(libdir)) {
    fs::remove(link, ec);
    // Another process may win the race with the same target: fine.
    if (::symlink(libdir.c_str(), link.c_str()) != 0 && fs::read_symlink(link, ec) != fs::path(libdir))
      return fail(why, "cannot link " + link + " -> " + libdir + ": " + std::strerror(errno));
  }
  *root = dir;
  return true;
}

std::mutex env_mtx;
bool env_ready = false;
std::string env_mode;

std::string mode_name(const std::string& emulation) {
  return emulation.empty() ? "real hardware" : "the " + emulation + " shim";
}

} // namespace

bool prepare_xrt_environment(const std::string& emulation, std::string* why) {
  std::lock_guard<std::mutex> lock(env_mtx);
  if (!emulation.empty() && emulation != "noop")
    return fail(why, "unknown XRT emulation '" + emulation + "' (valid: \"\" for hardware, noop)");
  if (env_ready) {
    if (env_mode == emulation) return true;
    return fail(why, "XRT is set up for " + mode_name(env_mode) + " in this process and loads one shim per "
                     "process: cannot also use " + mode_name(emulation));
  }
  const char* mode = std::getenv("XCL_EMULATION_MODE");
  std::string have = mode ? mode : "";
  if (!have.empty() && have != emulation)
    return fail(why, "XCL_EMULATION_MODE=" + have + " in the environment, but the card wants " + mode_name(emulation));
  const std::string shim = emulation == "noop" ? "libxrt_noop.so.2" : "libxrt_core.so.2";
  const char* xilinx_xrt = std::getenv("XILINX_XRT");
  std::string root = xilinx_xrt ? xilinx_xrt : "";
  if (root.empty()) {
    std::string libdir = xrt_library_folder();
    if (libdir.empty()) return fail(why, "cannot locate libxrt_coreutil.so (is libxrt1 installed?)");
    if (!fs::exists(libdir + "/" + shim))
      return fail(why, shim + " not found in " + libdir + " (Debian: apt-get install libxrt1)");
    if (!make_xrt_root(libdir, &root, why)) return false;
    ::setenv("XILINX_XRT", root.c_str(), 1);
  } else if (!fs::exists(root + "/lib/" + shim)) {
    return fail(why, "XILINX_XRT=" + root + " has no lib/" + shim);
  }
  if (!emulation.empty()) ::setenv("XCL_EMULATION_MODE", emulation.c_str(), 1);
  env_ready = true;
  env_mode = emulation;
  return true;
}

// ------------------------------------------------------------ device info

namespace {

// Device memory as XRT reports it (board.memory.memories[].range_bytes of
// the enabled, non-streaming banks); 0 when it does not (the noop shim).
uint64_t reported_memory(const xrt::device& d) {
  try {
    auto j = nlohmann::json::parse(d.get_info<xrt::info::device::memory>());
    uint64_t total = 0;
    for (const auto& m : j.at("board").at("memory").at("memories")) {
      auto text = [&](const char* k) {
        return m.contains(k) ? (m[k].is_string() ? m[k].get<std::string>() : m[k].dump()) : std::string();
      };
      if (text("enabled") != "true" || text("type").find("STREAMING") != std::string::npos) continue;
      total += std::stoull(text("range_bytes"), nullptr, 0);
    }
    return total;
  } catch (const std::exception&) {
    return 0;
  }
}

// The same from the xclbin's memory topology: what the kernel can reach.
uint64_t xclbin_memory(const std::string& path) {
  try {
    uint64_t total = 0;
    for (const auto& m : xrt::xclbin(path).get_mems())
      if (m.get_used() && m.get_type() != xrt::xclbin::mem::memory_type::streaming
          && m.get_type() != xrt::xclbin::mem::memory_type::streaming_connection)
        total += m.get_size_kb() * 1024;
    return total;
  } catch (const std::exception&) {
    return 0;
  }
}

std::string bdf_of(const xrt::device& d) {
  try {
    return d.get_info<xrt::info::device::bdf>();
  } catch (const std::exception&) {
    return {}; // the noop shim answers no queries
  }
}

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

} // namespace

std::vector<card_info> enumerate_xrt_devices(std::string* why) {
  std::vector<card_info> out;
  {
    std::lock_guard<std::mutex> lock(env_mtx);
    if (env_ready && !env_mode.empty()) {
      fail(why, "XRT runs on the " + env_mode + " shim in this process: no devices to list");
      return out;
    }
  }
  // Asking XRT would commit the process to its hardware shim (see
  // prepare_xrt_environment); without the driver there is nothing to find.
  if (!fs::exists("/sys/bus/pci/drivers/xocl")) {
    fail(why, "no Alveo card: the xocl driver is not loaded (/sys/bus/pci/drivers/xocl)");
    return out;
  }
  if (!prepare_xrt_environment("", why)) return out;
  try {
    unsigned n = xrt::system::enumerate_devices();
    if (n == 0) {
      fail(why, "XRT finds no devices (no Alveo card, or the xocl driver is not loaded)");
      return out;
    }
    for (unsigned i = 0; i < n; ++i) {
      xrt::device d(i);
      card_info c;
      c.name = "xrt" + std::to_string(i);
      c.kind = "xrt";
      c.device = bdf_of(d);
      if (c.device.empty()) c.device = std::to_string(i);
      c.memory_bytes = reported_memory(d);
      try {
        c.details = d.get_info<xrt::info::device::name>();
      } catch (const std::exception&) {}
      out.push_back(std::move(c));
    }
  } catch (const std::exception& e) {
    fail(why, std::string("XRT: ") + e.what());
  }
  return out;
}

// ------------------------------------------------------------ the card

namespace {

/// Why a whole batch failed (the card's fault, not a job's).
struct card_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

} // namespace

struct xrt_card::impl {
  /// One compiled network on the card: its program and weights uploaded
  /// once, input and output buffers for max_batch images.
  struct network {
    std::shared_ptr<const engine::model> model;
    std::unique_ptr<xrt_program> program;
    xrt::bo weights, program_bo, input, output;
    std::unique_ptr<xrt_kernel_emulator> emulator; // noop: made on the first run
    // int8 models (protocol version 2): the weaver_dnn kernel's layer
    // stream; its C-simulation is the noop emulation. Null for float32.
    std::unique_ptr<hls_network> int8;
    std::vector<std::string> int8_tensors; // host_tensors' names, decode's order
    int threads = 1;
    uint64_t last_used = 0;
  };
  using network_key = std::pair<const engine::model*, std::string>; // model, tensor names
  static constexpr size_t max_networks = 8; // input sizes live at once; least recently used goes

  xrt_card_options o;
  card_info info;

  // XRT state: the worker's batches and probe() take turns.
  std::mutex xrt_mtx;
  xrt::device device;
  xrt::uuid uuid;
  xrt::kernel kernel;
  std::map<network_key, network> networks;
  uint64_t use_clock = 0;
  std::string down; // why the card needs a probe, empty when up

  std::atomic<int> emulation_delay_ms{0};

  mutable std::mutex stats_mtx;
  xrt_card_stats stats;
  std::vector<std::string> trace;

  batch_queue queue;
  std::thread worker;

  std::string where() const { return "xrt card " + o.name; }

  void note(const std::string& line) {
    if (!o.trace) return;
    std::lock_guard<std::mutex> lock(stats_mtx);
    trace.push_back(line);
  }
  template <class F>
  void count(F f) {
    std::lock_guard<std::mutex> lock(stats_mtx);
    f(stats);
  }

  void open();
  void describe();
  xrt::bo alloc(const char* what, size_t bytes, int arg);
  void sync(xrt::bo& bo, const char* what, xclBOSyncDirection dir, size_t bytes);
  network& network_for(network_stage& det, cv::Size frame);
  void run(network& n, const std::vector<card_job*>& jobs, std::vector<inference_result*>& results);
  batch_result process(std::vector<card_job>& batch);
  void work();
};

void xrt_card::impl::open() {
  // The checks XRT makes too, first, so that messages name the file and
  // the kernel instead of XRT's internals.
  if (o.xclbin.empty()) throw std::runtime_error(where() + ": no xclbin given");
  xclbin_summary sum;
  try {
    sum = read_xclbin(o.xclbin);
  } catch (const std::exception& e) {
    throw std::runtime_error(where() + ": " + e.what());
  }
  const auto* k = sum.find(o.kernel);
  if (!k)
    throw std::runtime_error(where() + ": kernel '" + o.kernel + "' is not in xclbin " + o.xclbin
                             + " (it has: " + sum.kernel_names() + ")");
  if (k->max_batch > 0 && o.max_batch > k->max_batch)
    throw std::runtime_error(where() + ": max_batch " + std::to_string(o.max_batch) + " exceeds kernel '" + o.kernel
                             + "' limit of " + std::to_string(k->max_batch) + " in " + o.xclbin);
  std::string step = "open device " + o.device;
  networks.clear(); // buffers belong to the device being replaced
  try {
    kernel = xrt::kernel(); // release the CU before re-opening it
    device = all_digits(o.device) ? xrt::device(static_cast<unsigned>(std::stoul(o.device))) : xrt::device(o.device);
    step = "load xclbin " + o.xclbin + " on device " + o.device;
    uuid = device.load_xclbin(o.xclbin);
    step = "open kernel '" + o.kernel + "' of xclbin " + o.xclbin;
    kernel = xrt::kernel(device, uuid, o.kernel);
  } catch (const std::exception& e) {
    throw std::runtime_error(where() + ": cannot " + step + ": " + e.what());
  }
}

// card_info, once: info() hands out a reference that probe() must not touch.
void xrt_card::impl::describe() {
  info.name = o.name;
  info.kind = "xrt";
  info.device = bdf_of(device);
  if (info.device.empty()) info.device = o.device;
  if (!o.emulation.empty()) info.device += " (" + o.emulation + ")";
  info.capacity = 1;
  info.max_batch = o.max_batch;
  info.memory_bytes = reported_memory(device);
  if (info.memory_bytes == 0) info.memory_bytes = xclbin_memory(o.xclbin);
  info.details = "xclbin " + o.xclbin + " (" + read_xclbin(o.xclbin).uuid + "), kernel " + o.kernel
    + (o.emulation.empty() ? "" : ", emulation " + o.emulation);
}

xrt::bo xrt_card::impl::alloc(const char* what, size_t bytes, int arg) {
  auto bank = kernel.group_id(arg);
  xrt::bo bo(device, bytes, bank);
  note(std::string("alloc ") + what + " " + std::to_string(bytes) + " B bank " + std::to_string(bank));
  count([](xrt_card_stats& s) { ++s.buffers; });
  return bo;
}

void xrt_card::impl::sync(xrt::bo& bo, const char* what, xclBOSyncDirection dir, size_t bytes) {
  bo.sync(dir, bytes, 0);
  bool to = dir == XCL_BO_SYNC_BO_TO_DEVICE;
  note(std::string("sync ") + what + (to ? " to_device " : " from_device ") + std::to_string(bytes) + " B");
  count([&](xrt_card_stats& s) {
    (to ? s.syncs_to_device : s.syncs_from_device) += 1;
    (to ? s.bytes_to_device : s.bytes_from_device) += bytes;
  });
}

// The network for this detector at this frame size: built, allocated and
// uploaded on first use, kept for the next frames.
xrt_card::impl::network& xrt_card::impl::network_for(network_stage& det, cv::Size frame) {
  auto model = det.compiled(frame);
  std::vector<xrt_tensor> tensors;
  std::string names;
  for (const auto& t : det.host_tensors(frame)) {
    tensors.push_back({t.name, t.output});
    names += t.name + '\n';
  }
  network_key key{model.get(), names};
  auto it = networks.find(key);
  if (it != networks.end()) {
    it->second.last_used = ++use_clock;
    return it->second;
  }
  std::unique_ptr<xrt_program> program;
  std::unique_ptr<hls_network> int8;
  if (model->int8())
    int8 = std::make_unique<hls_network>(model); // model_error: the job's fault
  else
    program = std::make_unique<xrt_program>(model, tensors);
  if (networks.size() >= max_networks) {
    auto lru = networks.begin();
    for (auto i = networks.begin(); i != networks.end(); ++i)
      if (i->second.last_used < lru->second.last_used) lru = i;
    networks.erase(lru);
  }
  if (int8) try {
      network n;
      n.model = model;
      n.threads = det.threads();
      const auto& prog = int8->program();
      n.weights = alloc("weights", xp::align_up(std::max<size_t>(int8->weights().size(), 1)), xp::arg_weights);
      n.program_bo = alloc("program", xp::align_up(prog.size()), xp::arg_program);
      n.input = alloc("input", o.max_batch * size_t{int8->input_stride()}, xp::arg_input);
      n.output = alloc("output", hls::status_bytes + o.max_batch * size_t{int8->output_stride()}, xp::arg_output);
      auto* wm = n.weights.map<uint8_t*>();
      std::memset(wm, 0, n.weights.size());
      std::memcpy(wm, int8->weights().data(), int8->weights().size());
      auto* pm = n.program_bo.map<uint8_t*>();
      std::memset(pm, 0, n.program_bo.size());
      std::memcpy(pm, prog.data(), prog.size());
      sync(n.weights, "weights", XCL_BO_SYNC_BO_TO_DEVICE, n.weights.size());
      sync(n.program_bo, "program", XCL_BO_SYNC_BO_TO_DEVICE, n.program_bo.size());
      for (const auto& t : tensors) n.int8_tensors.push_back(t.name);
      n.int8 = std::move(int8);
      n.last_used = ++use_clock;
      count([](xrt_card_stats& s) { ++s.networks; });
      return networks.emplace(key, std::move(n)).first->second;
    } catch (const std::exception& e) {
      throw card_failure(where() + ": cannot upload the int8 network: " + e.what());
    }
  try {
    const auto& l = program->layout();
    network n;
    n.model = model;
    n.threads = det.threads();
    n.weights = alloc("weights", l.weights_bytes, xp::arg_weights);
    n.program_bo = alloc("program", xp::align_up(l.program_bytes), xp::arg_program);
    n.input = alloc("input", o.max_batch * l.input_stride, xp::arg_input);
    n.output = alloc("output", o.max_batch * l.output_stride, xp::arg_output);
    program->write_weights(n.weights.map<uint8_t*>());
    auto* pm = n.program_bo.map<uint8_t*>();
    std::memcpy(pm, program->program().data(), l.program_bytes);
    std::memset(pm + l.program_bytes, 0, n.program_bo.size() - l.program_bytes);
    sync(n.weights, "weights", XCL_BO_SYNC_BO_TO_DEVICE, n.weights.size());
    sync(n.program_bo, "program", XCL_BO_SYNC_BO_TO_DEVICE, n.program_bo.size());
    n.program = std::move(program);
    n.last_used = ++use_clock;
    count([](xrt_card_stats& s) { ++s.networks; });
    return networks.emplace(key, std::move(n)).first->second;
  } catch (const std::exception& e) {
    throw card_failure(where() + ": cannot upload the network: " + e.what());
  }
}

// One kernel run over up to max_batch jobs of the same network.
void xrt_card::impl::run(network& n, const std::vector<card_job*>& jobs, std::vector<inference_result*>& results) {
  // Float32 (version 1): the host writes f32 images, reads f32 slots back.
  // int8 (version 2): the host quantizes each image into the input buffer
  // and finishes from the kernel's codes (accel/hls_program.hpp).
  const size_t input_stride = n.int8 ? n.int8->input_stride() : n.program->layout().input_stride;
  const size_t output_stride = n.int8 ? n.int8->output_stride() : n.program->layout().output_stride;
  const size_t output_head = n.int8 ? hls::status_bytes : 0;
  const auto batch = static_cast<uint32_t>(jobs.size());
  auto* in = n.input.map<uint8_t*>();
  for (size_t k = 0; k < jobs.size(); ++k) {
    auto& det = *jobs[k]->job.work->network();
    if (n.int8) {
      det.fill_input(jobs[k]->job.input->image, n.int8->input());
      n.int8->quantize(n.int8->input(), in + k * input_stride);
    } else {
      det.fill_input(jobs[k]->job.input->image, reinterpret_cast<float*>(in + k * input_stride));
    }
  }
  auto device_time = std::chrono::steady_clock::duration::zero();
  try {
    sync(n.input, "input", XCL_BO_SYNC_BO_TO_DEVICE, batch * input_stride);
    xrt::run r(kernel);
    r.set_arg(xp::arg_input, n.input);
    r.set_arg(xp::arg_weights, n.weights);
    r.set_arg(xp::arg_program, n.program_bo);
    r.set_arg(xp::arg_output, n.output);
    r.set_arg(xp::arg_batch, batch);
    const auto start = std::chrono::steady_clock::now();
    r.start();
    note("run batch " + std::to_string(batch));
    count([&](xrt_card_stats& s) {
      ++s.runs;
      s.images += batch;
    });
    auto state = r.wait(std::chrono::milliseconds(o.timeout_ms));
    if (state == ERT_CMD_STATE_TIMEOUT) {
      try {
        r.abort(); // the CU may still own the buffers: the card stays down until a probe
      } catch (const std::exception&) {}
      count([](xrt_card_stats& s) { ++s.timeouts; });
      throw card_failure(where() + ": kernel '" + o.kernel + "' did not finish within " + std::to_string(o.timeout_ms)
                         + " ms (timeout_ms), batch of " + std::to_string(batch));
    }
    if (state != ERT_CMD_STATE_COMPLETED)
      throw card_failure(where() + ": kernel '" + o.kernel + "' ended in state " + std::to_string(state));
    device_time = std::chrono::steady_clock::now() - start;
    note("wait completed");
    sync(n.output, "output", XCL_BO_SYNC_BO_FROM_DEVICE, output_head + batch * output_stride);
  } catch (const card_failure&) {
    throw;
  } catch (const std::exception& e) {
    throw card_failure(where() + ": " + e.what());
  }

  if (o.emulation == "noop") {
    // The noop shim computes nothing: the host C-simulation stands in for
    // the kernel, from what the device buffers hold (program, weights and
    // input as synced) into the output buffer.
    try {
      if (!n.emulator && !n.int8)
        n.emulator = std::make_unique<xrt_kernel_emulator>(n.program_bo.map<uint8_t*>(), n.program_bo.size(),
                                                           n.weights.map<uint8_t*>(), n.weights.size(), n.threads);
      const auto t = std::chrono::steady_clock::now();
      if (int d = emulation_delay_ms.load(); d > 0) std::this_thread::sleep_for(std::chrono::milliseconds(d));
      if (n.int8) // the kernel source itself, compiled as C-simulation, on the device buffers
        hls_run(n.program_bo.map<const uint8_t*>(), n.weights.map<const uint8_t*>(), in, n.output.map<uint8_t*>(),
                batch);
      else
        n.emulator->run(in, n.output.map<uint8_t*>(), batch);
      device_time += std::chrono::steady_clock::now() - t;
    } catch (const std::exception& e) {
      throw card_failure(where() + ": emulated kernel: " + e.what());
    }
    note("emulate batch " + std::to_string(batch));
    count([](xrt_card_stats& s) { ++s.emulated_runs; });
    // Simulated kernel time is device time (building the simulation once is
    // not): it counts against the timeout as a slow kernel on a card would.
    if (device_time > std::chrono::milliseconds(o.timeout_ms)) {
      count([](xrt_card_stats& s) { ++s.timeouts; });
      throw card_failure(where() + ": kernel '" + o.kernel + "' (noop emulation) did not finish within "
                         + std::to_string(o.timeout_ms) + " ms (timeout_ms), batch of " + std::to_string(batch));
    }
  }

  if (n.int8) { // the kernel's status page (version 2): a refused program fails the batch
    int32_t status = 0, layer = 0;
    std::memcpy(&status, n.output.map<const uint8_t*>(), 4);
    std::memcpy(&layer, n.output.map<const uint8_t*>() + 4, 4);
    if (status != hls::status_ok)
      throw card_failure(where() + ": kernel '" + o.kernel + "' refused the int8 program: "
                         + hls_status_text(status, layer) + " (status " + std::to_string(status) + ")");
  }

  // Decode each image's block; errors here are the job's own.
  const auto* out = n.output.map<const uint8_t*>();
  for (size_t k = 0; k < jobs.size(); ++k) {
    auto& res = *results[k];
    const auto& f = *jobs[k]->job.input;
    try {
      auto& det = *jobs[k]->job.work->network();
      std::vector<const float*> tensors;
      if (n.int8) {
        n.int8->finish(in + k * input_stride, out + output_head + k * output_stride);
        for (const auto& name : n.int8_tensors) {
          tensors.push_back(n.int8->value(name));
          if (!tensors.back()) throw std::runtime_error("int8 network has no tensor '" + name + "'");
        }
      } else {
        for (const auto& s : n.program->layout().outputs)
          tensors.push_back(reinterpret_cast<const float*>(out + k * output_stride + s.offset));
      }
      res.batch.detections = det.finish(f.image, tensors);
      res.ok = true;
    } catch (const std::exception& e) {
      res.error = where() + ": " + e.what();
    }
  }
}

batch_result xrt_card::impl::process(std::vector<card_job>& batch) {
  batch_result r;
  r.card = o.name;
  const auto t0 = std::chrono::steady_clock::now();
  r.results.resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& res = r.results[i];
    res.ticket = batch[i].ticket;
    res.card = o.name;
    if (const auto& f = batch[i].job.input) {
      res.batch.camera_id = f->camera_id;
      res.batch.seq = f->seq;
      res.batch.capture_ms = f->capture_ms;
      res.batch.width = f->image.cols;
      res.batch.height = f->image.rows;
    }
  }
  std::lock_guard<std::mutex> lock(xrt_mtx);
  try {
    if (!down.empty()) throw card_failure(where() + " is down until probed: " + down);
    // Jobs of the same network share runs, in submission order.
    std::vector<std::pair<network*, std::vector<size_t>>> groups;
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& job = batch[i].job;
      auto& res = r.results[i];
      auto* det = job.work ? job.work->network() : nullptr;
      if (!det) {
        res.error = where() + ": xrt card runs DNN detectors only";
        continue;
      }
      if (!job.input || job.input->image.empty() || job.input->image.type() != CV_8UC3) {
        res.error = where() + ": expects a BGR8 frame";
        continue;
      }
      network* n = nullptr;
      try {
        n = &network_for(*det, job.input->image.size());
      } catch (const card_failure&) {
        throw;
      } catch (const std::exception& e) {
        res.error = where() + ": " + e.what();
        continue;
      }
      auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& x) { return x.first == n; });
      if (g == groups.end()) g = groups.insert(groups.end(), {n, {}});
      g->second.push_back(i);
    }
    for (auto& [n, idx] : groups)
      for (size_t from = 0; from < idx.size(); from += static_cast<size_t>(o.max_batch)) {
        std::vector<card_job*> jobs;
        std::vector<inference_result*> results;
        for (size_t k = from; k < std::min(idx.size(), from + static_cast<size_t>(o.max_batch)); ++k) {
          jobs.push_back(&batch[idx[k]]);
          results.push_back(&r.results[idx[k]]);
        }
        run(*n, jobs, results);
      }
    r.ok = true;
  } catch (const card_failure& e) {
    r.ok = false;
    r.error = e.what();
    if (down.empty()) down = e.what();
    networks.clear(); // the device may still be using them
  }
  r.service_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& res : r.results) res.service_s = r.service_s;
  count([&](xrt_card_stats& s) {
    ++s.batches;
    if (!r.ok) ++s.failed_batches;
  });
  return r;
}

void xrt_card::impl::work() {
  batch_queue::item p;
  while (queue.pop(p)) {
    auto r = process(p.batch);
    p.done(std::move(r));
  }
}

xrt_card::xrt_card(xrt_card_options o) : p_(std::make_unique<impl>()) {
  auto& s = *p_;
  s.o = std::move(o);
  if (s.o.max_batch < 1) throw std::invalid_argument(s.where() + ": max_batch must be >= 1");
  if (s.o.timeout_ms < 1) throw std::invalid_argument(s.where() + ": timeout_ms must be >= 1");
  s.emulation_delay_ms = s.o.emulation_delay_ms;
  std::string why;
  if (!prepare_xrt_environment(s.o.emulation, &why)) throw std::runtime_error(s.where() + ": " + why);
  s.open();
  s.describe();
  s.worker = std::thread([this] { p_->work(); });
}

xrt_card::~xrt_card() {
  p_->queue.close(true); // the worker finishes what is queued: every `done` runs once
  if (p_->worker.joinable()) p_->worker.join();
}

const card_info& xrt_card::info() const { return p_->info; }

void xrt_card::submit(std::vector<card_job> batch, completion done) {
  p_->queue.push(std::move(batch), std::move(done));
}

bool xrt_card::probe(std::string* why) {
  std::lock_guard<std::mutex> lock(p_->xrt_mtx);
  try {
    p_->open();
    p_->down.clear();
    return true;
  } catch (const std::exception& e) {
    return fail(why, e.what());
  }
}

xrt_card_stats xrt_card::stats() const {
  std::lock_guard<std::mutex> lock(p_->stats_mtx);
  return p_->stats;
}

std::vector<std::string> xrt_card::trace() const {
  std::lock_guard<std::mutex> lock(p_->stats_mtx);
  return p_->trace;
}

void xrt_card::set_emulation_delay(std::chrono::milliseconds d) {
  p_->emulation_delay_ms = static_cast<int>(d.count());
}

} // namespace weaver
