// Writes an xclbin for the weaver_dnn kernel without Vitis: the metadata XRT
// needs to open the kernel (on the noop shim; a real card also needs the
// bitstream, which only v++ makes). Debian's xclbinutil is broken, hence
// this tool; accel/xclbin_writer.hpp does the work.
//   weaver_xclbin -o weaver.xclbin [--kernel weaver_dnn] [--batch 8] [--cus 1]
//                 [--memory-mb 4096] [--platform NAME]
//   weaver_xclbin --info FILE      prints uuid, platform, sections, kernels
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "accel/xclbin_writer.hpp"

using namespace weaver;

namespace {

[[noreturn]] void usage() {
  std::cerr << "usage: weaver_xclbin -o FILE [--kernel NAME] [--batch N] [--cus N] [--memory-mb N]\n"
               "                     [--platform NAME]\n"
               "       weaver_xclbin --info FILE\n";
  std::exit(2);
}

long number(const std::string& flag, const std::string& v, long lo, long hi) {
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < lo || n > hi) {
    std::cerr << "weaver_xclbin: " << flag << " wants a number in " << lo << ".." << hi << ", not '" << v << "'\n";
    std::exit(2);
  }
  return n;
}

int info(const std::string& path) {
  auto s = read_xclbin(path);
  std::cout << "uuid      " << s.uuid << "\nplatform  " << s.platform << "\nsections ";
  for (const auto& x : s.sections) std::cout << " " << x;
  std::cout << "\n";
  for (const auto& k : s.kernels)
    std::cout << "kernel    " << k.name
              << (k.max_batch > 0 ? " (max batch " + std::to_string(k.max_batch) + ")" : std::string()) << "\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  xclbin_options o;
  std::string out, show;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help" || i + 1 >= argc) usage();
    std::string v = argv[++i];
    if (a == "-o" || a == "--output")
      out = v;
    else if (a == "--info")
      show = v;
    else if (a == "--kernel")
      o.kernel = v;
    else if (a == "--batch")
      o.max_batch = static_cast<int>(number(a, v, 1, 1 << 16));
    else if (a == "--cus")
      o.compute_units = static_cast<int>(number(a, v, 1, 32));
    else if (a == "--memory-mb")
      o.memory_bytes = static_cast<uint64_t>(number(a, v, 1, 1 << 24)) << 20;
    else if (a == "--platform")
      o.platform = v;
    else
      usage();
  }
  if (out.empty() == show.empty()) usage();
  try {
    if (!show.empty()) return info(show);
    write_xclbin(out, o);
    std::cout << "wrote " << out << ": kernel " << o.kernel << ", " << o.compute_units << " CU(s), max batch "
              << o.max_batch << ", uuid " << read_xclbin(out).uuid << "\n";
  } catch (const std::exception& e) {
    std::cerr << "weaver_xclbin: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
