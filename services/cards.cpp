#include "services/cards.hpp"

#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "accel/cpu_card.hpp"
#include "accel/sim_card.hpp"
#include "accel/xrt_card.hpp"

namespace weaver {

namespace {

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

nlohmann::json describe(const card_info& i, const std::string& status, const std::string& source) {
  return {{"name", i.name},
          {"kind", i.kind},
          {"device", i.device},
          {"status", status},
          {"capacity", i.capacity},
          {"max_batch", i.max_batch},
          {"memory_bytes", i.memory_bytes},
          {"details", i.details},
          {"source", source}};
}

std::shared_ptr<card> make_xrt(const card_config& c) {
  xrt_card_options o;
  o.name = c.name;
  o.device = c.device;
  o.xclbin = c.xclbin;
  o.kernel = c.kernel;
  o.max_batch = c.batch;
  o.timeout_ms = static_cast<int>(c.timeout_ms);
  o.emulation = c.emulation;
  return std::make_shared<xrt_card>(o);
}

} // namespace

std::vector<std::shared_ptr<card>> make_cards(const config& cfg) {
  std::vector<std::shared_ptr<card>> out;
  if (cfg.cards_all) {
    out.push_back(std::make_shared<cpu_card>("cpu0", hardware_threads()));
    // Every XRT device found, when an xclbin for them is configured.
    if (cfg.xrt_defaults.xclbin.empty()) return out;
    std::string why;
    int i = 0;
    for (auto& d : enumerate_xrt_devices(&why)) {
      auto c = cfg.xrt_defaults;
      c.name = "xrt" + std::to_string(i++);
      c.device = d.device;
      out.push_back(make_xrt(c));
    }
    return out;
  }
  for (auto& c : cfg.cards) {
    try {
      if (c.kind == "xrt") {
        out.push_back(make_xrt(c));
      } else if (c.kind == "cpu") {
        out.push_back(std::make_shared<cpu_card>(c.name, c.threads));
      } else if (c.kind == "sim") {
        auto o = c.sim;
        o.name = c.name;
        out.push_back(std::make_shared<sim_card>(o));
      } else {
        throw std::runtime_error("unknown card kind '" + c.kind + "'");
      }
    } catch (const std::exception& e) {
      throw std::runtime_error("card " + c.name + ": " + e.what());
    }
  }
  return out;
}

cards_report list_cards(const config* cfg) {
  cards_report r;
  card_info host;
  host.name = "cpu";
  host.kind = "cpu";
  host.device = "host";
  host.capacity = hardware_threads();
  host.memory_bytes = host_memory_bytes();
  host.details = std::to_string(hardware_threads()) + " hardware thread(s)";
  r.cards.push_back(describe(host, "available", "found"));
  // Configured cards first: XRT picks its shim (hardware or noop) once per
  // process, and a configured noop card must get to choose.
  if (cfg) {
    for (auto& c : make_cards(*cfg)) {
      std::string why;
      bool up = c->probe(&why);
      r.cards.push_back(describe(c->info(), up ? "up" : "down: " + why, "configured"));
    }
  }
  std::string why;
  auto devices = enumerate_xrt_devices(&why);
  for (auto& d : devices) r.cards.push_back(describe(d, "available", "found"));
  if (devices.empty()) r.notes.push_back("no XRT device: " + why);
  return r;
}

std::string format_cards(const cards_report& r) {
  std::ostringstream os;
  os << std::left << std::setw(10) << "NAME" << std::setw(6) << "KIND" << std::setw(16) << "DEVICE" << std::setw(12)
     << "SOURCE" << std::setw(10) << "STATUS" << std::setw(6) << "SLOTS" << std::setw(6) << "BATCH" << std::setw(10)
     << "MEMORY"
     << "DETAILS\n";
  for (auto& c : r.cards) {
    std::ostringstream mem;
    mem << (c["memory_bytes"].get<uint64_t>() >> 20) << "M";
    os << std::left << std::setw(10) << c["name"].get<std::string>() << std::setw(6) << c["kind"].get<std::string>()
       << std::setw(16) << c["device"].get<std::string>() << std::setw(12) << c["source"].get<std::string>()
       << std::setw(10) << c["status"].get<std::string>() << std::setw(6) << c["capacity"].get<int>() << std::setw(6)
       << c["max_batch"].get<int>() << std::setw(10) << mem.str() << c["details"].get<std::string>() << "\n";
  }
  for (auto& n : r.notes) os << "note: " << n << "\n";
  return os.str();
}

} // namespace weaver
