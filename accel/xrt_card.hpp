// An Alveo card through XRT's native C++ API: device, xclbin, the
// weaver_dnn kernel and its four buffer objects (input, weights, program,
// output; accel/xrt_protocol.md). The card works at tensor level: the host
// resizes and normalises frames into the input buffer, the kernel runs the
// compiled network, and the host finishes from the tensors it reads back
// (the workload's network_stage: decoding, appearance), as the cpu card's
// run would. With emulation "noop" XRT runs its whole host path on
// the noop shim (no card needed) and a host C-simulation of the kernel
// fills the output buffer, so detections equal the cpu card's.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "accel/card.hpp"

namespace weaver {

struct xrt_card_options {
  std::string name = "xrt0";
  std::string device = "0"; // device index ("0") or PCIe BDF ("0000:3b:00.1")
  std::string xclbin; // the xclbin holding the kernel
  std::string kernel = "weaver_dnn";
  int max_batch = 1; // jobs per batch, <= the kernel's own limit when the xclbin states one
  int timeout_ms = 1000; // one kernel run, start to completion
  std::string emulation; // "": real hardware; "noop": XRT's noop shim + host C-simulation
  // --- test hooks
  int emulation_delay_ms = 0; // noop: the emulated kernel takes this much longer
  bool trace = false; // record the host protocol, see trace()
};

/// What the card did, for tests and metrics: the host side of the protocol.
struct xrt_card_stats {
  uint64_t batches = 0; // submitted batches finished (ok or not)
  uint64_t failed_batches = 0; // batches failed as a whole (timeout, XRT error)
  uint64_t runs = 0; // kernel runs started
  uint64_t images = 0; // images through the kernel
  uint64_t timeouts = 0;
  uint64_t networks = 0; // program + weights uploads (one per model and input size)
  uint64_t buffers = 0; // buffer objects allocated
  uint64_t syncs_to_device = 0, bytes_to_device = 0;
  uint64_t syncs_from_device = 0, bytes_from_device = 0;
  uint64_t emulated_runs = 0; // noop: runs whose output the host simulation computed
};

class xrt_card : public card {
public:
  /// Sets up XRT's environment (see prepare_xrt_environment), opens the
  /// device, loads the xclbin and opens the kernel. Throws
  /// std::runtime_error naming the card and the device, file or kernel.
  explicit xrt_card(xrt_card_options o);
  ~xrt_card() override;
  xrt_card(const xrt_card&) = delete;
  xrt_card& operator=(const xrt_card&) = delete;

  const card_info& info() const override;
  /// Runs batches in order on one worker thread. Jobs whose engine is not
  /// a dnn_detector fail alone ("xrt card runs DNN detectors only"); a
  /// timeout or an XRT error fails the batch, and every later one until
  /// probe() succeeds (the kernel may still own the buffers).
  void submit(std::vector<card_job> batch, completion done) override;
  /// Re-opens the device, reloads the xclbin and the kernel, drops all
  /// buffers; true when that worked.
  bool probe(std::string* why) override;

  xrt_card_stats stats() const;
  /// With options.trace: one line per protocol step ("alloc input 131072 B
  /// bank 0", "sync input to_device 65536 B", "run batch 2", ...).
  std::vector<std::string> trace() const;
  /// Test hook: changes options.emulation_delay_ms for later runs.
  void set_emulation_delay(std::chrono::milliseconds d);

private:
  struct impl;
  std::unique_ptr<impl> p_;
};

/// XRT reads XCL_EMULATION_MODE and XILINX_XRT (it loads
/// $XILINX_XRT/lib/libxrt_{core,noop}.so.2) once, on its first call, and
/// Debian installs no XILINX_XRT tree. This sets both before that call:
/// XILINX_XRT, when unset, becomes a private folder whose `lib` links to the
/// folder of libxrt_coreutil; with "noop" XCL_EMULATION_MODE=noop. One mode
/// per process: false with `why` when another was set up already, the
/// environment asks for a different one, or the shim library is missing.
bool prepare_xrt_environment(const std::string& emulation, std::string* why);

/// The XRT devices of this machine (kind "xrt", device = BDF, details = the
/// platform), for `weaver cards`. Empty with `why` when there are none, XRT
/// cannot load, or this process already runs XRT on the noop shim. Without
/// the xocl driver it answers without loading XRT, so the process stays
/// free to use noop cards; otherwise it commits the process to hardware.
std::vector<card_info> enumerate_xrt_devices(std::string* why);

} // namespace weaver
