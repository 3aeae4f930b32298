// Writes and reads xclbin containers (XRT's axlf format, <xrt/xclbin.h>)
// for the weaver_dnn kernel. Debian's xclbinutil is broken, and without an
// FPGA there is no bitstream to package anyway: what XRT needs to open the
// kernel on the noop shim is metadata only (IP_LAYOUT, MEM_TOPOLOGY,
// CONNECTIVITY and the EMBEDDED_METADATA XML listing the arguments). Tests
// and tools/weaver_xclbin write one; nothing binary is kept in git.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weaver {

struct xclbin_options {
  std::string kernel = "weaver_dnn";
  int compute_units = 1; // instances <kernel>_1 .. _N
  int max_batch = 8; // images per run the kernel accepts
  uint64_t memory_bytes = 4ull << 30; // the one DDR bank every argument uses
  std::string platform = "xilinx_weaver_noop_1_0"; // VBNV in the header
};

/// The xclbin's bytes. The uuid is a hash of the content, so equal options
/// give byte-identical files. Throws std::invalid_argument on bad options.
std::vector<char> build_xclbin(const xclbin_options& o);

/// build_xclbin into `path`; throws std::runtime_error naming the path.
void write_xclbin(const std::string& path, const xclbin_options& o);

/// What the host can learn from an xclbin without XRT: checked before the
/// device sees it, so a wrong file fails with a message naming the file.
struct xclbin_summary {
  std::string uuid; // 8-4-4-4-12 hex
  std::string platform;
  std::vector<std::string> sections; // kinds present, e.g. IP_LAYOUT
  struct kernel {
    std::string name;
    int max_batch = 0; // 0: not ours / not stated
  };
  std::vector<kernel> kernels; // from EMBEDDED_METADATA
  const kernel* find(const std::string& name) const;
  std::string kernel_names() const; // "a, b" for messages
};

/// Reads and checks an xclbin file; throws std::runtime_error naming `path`
/// when it is missing, truncated or not an xclbin.
xclbin_summary read_xclbin(const std::string& path);

} // namespace weaver
