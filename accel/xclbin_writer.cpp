#include "accel/xclbin_writer.hpp"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <xclbin.h>

#include "accel/xrt_protocol.hpp"

namespace weaver {

namespace {

namespace xp = xrt_protocol;

// Where the kernel's control registers sit on the AXI-lite bus: the usual
// Vitis base, one 64 KiB window per compute unit.
constexpr uint64_t cu_base = 0x1800000;
constexpr uint64_t cu_window = 0x10000;
constexpr uint64_t ddr_base = 0x4000000000; // bank 0 as Alveo shells place it

// A section's payload; `kind` is an axlf_section_kind.
struct section {
  uint32_t kind;
  const char* name;
  std::vector<char> data;
};

template <class T>
void append(std::vector<char>& out, const T& v) {
  const char* p = reinterpret_cast<const char*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

// The count-prefixed arrays of <xrt/xclbin.h> (mem_topology, ip_layout,
// connectivity) declare one element inline; the count is padded to the
// element's alignment, so build them as count + padding + elements.
template <class Top, class Elem>
std::vector<char> counted(const std::vector<Elem>& elems) {
  std::vector<char> out(offsetof(Top, m_count) + sizeof(int32_t), 0);
  int32_t n = static_cast<int32_t>(elems.size());
  std::memcpy(out.data(), &n, sizeof n);
  // The first element's offset inside Top (after the padded count).
  size_t first = sizeof(Top) - sizeof(Elem);
  out.resize(first, 0);
  for (const auto& e : elems) append(out, e);
  return out;
}

std::vector<char> mem_topology_section(const xclbin_options& o) {
  mem_data m{};
  m.m_type = MEM_DDR4;
  m.m_used = 1;
  m.m_size = o.memory_bytes / 1024; // KiB, as the format says
  m.m_base_address = ddr_base;
  std::strncpy(reinterpret_cast<char*>(m.m_tag), "bank0", sizeof m.m_tag - 1);
  return counted<mem_topology>(std::vector<mem_data>{m});
}

std::string cu_name(const xclbin_options& o, int i) { return o.kernel + ":" + o.kernel + "_" + std::to_string(i + 1); }

std::vector<char> ip_layout_section(const xclbin_options& o) {
  std::vector<ip_data> ips;
  for (int i = 0; i < o.compute_units; ++i) {
    ip_data ip{};
    ip.m_type = IP_KERNEL;
    // Interrupt enabled, interrupt id = CU index, ap_ctrl_hs handshake.
    ip.properties = IP_INT_ENABLE_MASK | ((static_cast<uint32_t>(i) << IP_INTERRUPT_ID_SHIFT) & IP_INTERRUPT_ID_MASK)
      | (static_cast<uint32_t>(AP_CTRL_HS) << IP_CONTROL_SHIFT);
    ip.m_base_address = cu_base + static_cast<uint64_t>(i) * cu_window;
    std::strncpy(reinterpret_cast<char*>(ip.m_name), cu_name(o, i).c_str(), sizeof ip.m_name - 1);
    ips.push_back(ip);
  }
  return counted<ip_layout>(ips);
}

// Every buffer argument of every CU on bank 0: group_id(arg) is then 0.
std::vector<char> connectivity_section(const xclbin_options& o) {
  std::vector<connection> cs;
  for (int i = 0; i < o.compute_units; ++i)
    for (int a : {xp::arg_input, xp::arg_weights, xp::arg_program, xp::arg_output}) cs.push_back(connection{a, i, 0});
  return counted<connectivity>(cs);
}

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

// The kernel's description as v++ writes it (project/platform/device/core/
// kernel); XRT reads argument ids, offsets, sizes and address qualifiers
// from it to build xrt::kernel. weaverMaxBatch is ours; XRT ignores it.
std::vector<char> metadata_section(const xclbin_options& o) {
  struct arg_desc {
    int id;
    const char* name;
    const char* type;
    bool global;
  };
  const arg_desc args[] = {
    {xp::arg_input, "input", "float*", true},
    {xp::arg_weights, "weights", "float*", true},
    {xp::arg_program, "program", "unsigned char*", true},
    {xp::arg_output, "output", "float*", true},
    {xp::arg_batch, "batch", "unsigned int", false},
  };
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<project name=\"" << o.kernel << "\">\n"
    << "  <platform vendor=\"xilinx\" boardid=\"weaver\" name=\"" << o.platform << "\">\n"
    << "    <device name=\"fpga0\" fpgaDevice=\"noop\">\n"
    << "      <core name=\"OCL_REGION_0\" target=\"bitstream\" type=\"clc_region\""
    << " clockFreq=\"300MHz\" numComputeUnits=\"" << o.compute_units << "\">\n"
    << "        <kernel name=\"" << o.kernel << "\" language=\"c\""
    << " vlnv=\"weaver:hls:" << o.kernel << ":1.0\" preferredWorkGroupSizeMultiple=\"0\""
    << " workGroupSize=\"1\" interrupt=\"true\" hwControlProtocol=\"ap_ctrl_hs\""
    << " weaverProtocol=\"" << xp::version << "\" weaverMaxBatch=\"" << o.max_batch << "\">\n"
    << "          <port name=\"S_AXI_CONTROL\" mode=\"slave\" range=\"" << hex(cu_window)
    << "\" dataWidth=\"32\" portType=\"addressable\" base=\"0x0\"/>\n";
  for (const auto& a : args)
    if (a.global)
      x << "          <port name=\"M_AXI_GMEM" << a.id << "\" mode=\"master\" range=\"0xFFFFFFFFFFFFFFFF\""
        << " dataWidth=\"512\" portType=\"addressable\" base=\"0x0\"/>\n";
  for (const auto& a : args) {
    size_t size = a.global ? 8 : 4;
    x << "          <arg name=\"" << a.name << "\" addressQualifier=\"" << (a.global ? 1 : 0) << "\" id=\"" << a.id
      << "\" port=\"" << (a.global ? "M_AXI_GMEM" + std::to_string(a.id) : std::string("S_AXI_CONTROL")) << "\" size=\""
      << hex(size) << "\" offset=\"" << hex(xp::register_offset[a.id]) << "\" hostOffset=\"0x0\" hostSize=\""
      << hex(size) << "\" type=\"" << a.type << "\"/>\n";
  }
  for (int i = 0; i < o.compute_units; ++i)
    x << "          <instance name=\"" << o.kernel << "_" << (i + 1) << "\">\n"
      << "            <addrRemap base=\"" << hex(cu_base + static_cast<uint64_t>(i) * cu_window) << "\" range=\""
      << hex(cu_window) << "\" port=\"S_AXI_CONTROL\"/>\n"
      << "          </instance>\n";
  x << "        </kernel>\n      </core>\n    </device>\n  </platform>\n</project>\n";
  std::string s = x.str();
  return std::vector<char>(s.begin(), s.end());
}

// Two FNV-1a passes with different seeds: a content hash wide enough for a
// uuid, so the same options always give the same file.
void content_uuid(const std::vector<section>& sections, const xclbin_options& o, unsigned char out[16]) {
  uint64_t h[2] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
  auto feed = [&](const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i)
      for (auto& x : h) x = (x ^ static_cast<unsigned char>(p[i])) * 0x100000001b3ull;
  };
  for (const auto& s : sections) feed(s.data.data(), s.data.size());
  feed(o.platform.data(), o.platform.size());
  std::memcpy(out, &h[0], 8);
  std::memcpy(out + 8, &h[1], 8);
  out[6] = static_cast<unsigned char>((out[6] & 0x0f) | 0x80); // RFC 4122 "custom" version 8
  out[8] = static_cast<unsigned char>((out[8] & 0x3f) | 0x80); // variant 10
}

const char* kind_name(uint32_t k) {
  switch (k) {
    case BITSTREAM:
      return "BITSTREAM";
    case EMBEDDED_METADATA:
      return "EMBEDDED_METADATA";
    case MEM_TOPOLOGY:
      return "MEM_TOPOLOGY";
    case CONNECTIVITY:
      return "CONNECTIVITY";
    case IP_LAYOUT:
      return "IP_LAYOUT";
    case DEBUG_IP_LAYOUT:
      return "DEBUG_IP_LAYOUT";
    case CLOCK_FREQ_TOPOLOGY:
      return "CLOCK_FREQ_TOPOLOGY";
    case BUILD_METADATA:
      return "BUILD_METADATA";
    case KEYVALUE_METADATA:
      return "KEYVALUE_METADATA";
    case PARTITION_METADATA:
      return "PARTITION_METADATA";
    case SYSTEM_METADATA:
      return "SYSTEM_METADATA";
    case ASK_GROUP_TOPOLOGY:
      return "GROUP_TOPOLOGY";
    case ASK_GROUP_CONNECTIVITY:
      return "GROUP_CONNECTIVITY";
    default:
      return "OTHER";
  }
}

std::string uuid_string(const unsigned char u[16]) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += digits[u[i] >> 4];
    s += digits[u[i] & 15];
  }
  return s;
}

} // namespace

std::vector<char> build_xclbin(const xclbin_options& o) {
  if (o.kernel.empty() || o.kernel.size() > 30 || !std::regex_match(o.kernel, std::regex("[A-Za-z_][A-Za-z0-9_]*")))
    throw std::invalid_argument("xclbin: kernel name '" + o.kernel
                                + "' must be a C identifier of at most 30 characters");
  if (o.compute_units < 1 || o.compute_units > 32)
    throw std::invalid_argument("xclbin: compute units must be 1..32, not " + std::to_string(o.compute_units));
  if (o.max_batch < 1) throw std::invalid_argument("xclbin: max batch must be >= 1");
  if (o.memory_bytes < (1u << 20)) throw std::invalid_argument("xclbin: memory must be at least 1 MiB");
  if (o.platform.size() >= 64) throw std::invalid_argument("xclbin: platform name longer than 63 characters");

  std::vector<section> sections;
  sections.push_back({MEM_TOPOLOGY, "mem_topology", mem_topology_section(o)});
  sections.push_back({IP_LAYOUT, "ip_layout", ip_layout_section(o)});
  sections.push_back({CONNECTIVITY, "connectivity", connectivity_section(o)});
  sections.push_back({EMBEDDED_METADATA, "metadata", metadata_section(o)});

  // Header with its section table, then the payloads, each 8-byte aligned.
  const size_t header = sizeof(axlf) + (sections.size() - 1) * sizeof(axlf_section_header);
  std::vector<char> out(header, 0);
  std::vector<axlf_section_header> table;
  for (const auto& s : sections) {
    out.resize((out.size() + 7) / 8 * 8, 0);
    axlf_section_header h{};
    h.m_sectionKind = s.kind;
    std::strncpy(h.m_sectionName, s.name, sizeof h.m_sectionName - 1);
    h.m_sectionOffset = out.size();
    h.m_sectionSize = s.data.size();
    table.push_back(h);
    out.insert(out.end(), s.data.begin(), s.data.end());
  }

  axlf top{};
  std::memcpy(top.m_magic, "xclbin2", 8);
  top.m_signature_length = -1; // unsigned
  std::memset(top.reserved, 0xff, sizeof top.reserved);
  std::memset(top.m_keyBlock, 0xff, sizeof top.m_keyBlock);
  top.m_header.m_length = out.size();
  top.m_header.m_timeStamp = 0; // reproducible files
  top.m_header.m_versionMajor = 2;
  top.m_header.m_versionMinor = 13;
  top.m_header.m_mode = XCLBIN_FLAT; // a hardware image (without a bitstream)
  std::strncpy(reinterpret_cast<char*>(top.m_header.m_platformVBNV), o.platform.c_str(),
               sizeof top.m_header.m_platformVBNV - 1);
  content_uuid(sections, o, top.m_header.uuid);
  top.m_header.m_numSections = static_cast<uint32_t>(sections.size());
  top.m_uniqueId = 0;
  std::memcpy(&top.m_uniqueId, top.m_header.uuid, sizeof top.m_uniqueId);
  std::memcpy(out.data(), &top, offsetof(axlf, m_sections));
  std::memcpy(out.data() + offsetof(axlf, m_sections), table.data(), table.size() * sizeof(axlf_section_header));
  return out;
}

void write_xclbin(const std::string& path, const xclbin_options& o) {
  auto bytes = build_xclbin(o);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error("cannot write xclbin " + path + ": " + std::strerror(errno));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write xclbin " + path + ": " + std::strerror(errno));
}

const xclbin_summary::kernel* xclbin_summary::find(const std::string& name) const {
  for (const auto& k : kernels)
    if (k.name == name) return &k;
  return nullptr;
}

std::string xclbin_summary::kernel_names() const {
  std::string s;
  for (const auto& k : kernels) s += (s.empty() ? "" : ", ") + k.name;
  return s.empty() ? "none" : s;
}

xclbin_summary read_xclbin(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("xclbin " + path + ": cannot open: " + std::strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& why) { return std::runtime_error("xclbin " + path + ": " + why); };
  if (bytes.size() < sizeof(axlf) || std::memcmp(bytes.data(), "xclbin2", 8) != 0)
    throw bad("not an xclbin (no xclbin2 header)");
  axlf top;
  std::memcpy(&top, bytes.data(), sizeof top);
  const auto& h = top.m_header;
  if (h.m_length > bytes.size())
    throw bad("truncated: header says " + std::to_string(h.m_length) + " bytes, file has "
              + std::to_string(bytes.size()));
  const size_t table_end = offsetof(axlf, m_sections) + size_t{h.m_numSections} * sizeof(axlf_section_header);
  if (h.m_numSections == 0 || h.m_numSections > XCLBIN_MAX_NUM_SECTION || table_end > bytes.size())
    throw bad("bad section count " + std::to_string(h.m_numSections));

  xclbin_summary s;
  s.uuid = uuid_string(h.uuid);
  s.platform.assign(reinterpret_cast<const char*>(h.m_platformVBNV),
                    strnlen(reinterpret_cast<const char*>(h.m_platformVBNV), sizeof h.m_platformVBNV));
  for (uint32_t i = 0; i < h.m_numSections; ++i) {
    axlf_section_header sh;
    std::memcpy(&sh, bytes.data() + offsetof(axlf, m_sections) + i * sizeof sh, sizeof sh);
    if (sh.m_sectionOffset > bytes.size() || sh.m_sectionSize > bytes.size() - sh.m_sectionOffset)
      throw bad(std::string("section ") + kind_name(sh.m_sectionKind) + " lies outside the file");
    s.sections.push_back(kind_name(sh.m_sectionKind));
    if (sh.m_sectionKind != EMBEDDED_METADATA) continue;
    // The kernel elements' attributes; a regex is enough for the two we read.
    std::string xml(bytes.data() + sh.m_sectionOffset, sh.m_sectionSize);
    static const std::regex kernel_re("<kernel\\s([^>]*)>");
    static const std::regex name_re("\\bname=\"([^\"]*)\"");
    static const std::regex batch_re("\\bweaverMaxBatch=\"([0-9]+)\"");
    for (auto it = std::sregex_iterator(xml.begin(), xml.end(), kernel_re); it != std::sregex_iterator(); ++it) {
      std::string attrs = (*it)[1];
      std::smatch m;
      xclbin_summary::kernel k;
      if (std::regex_search(attrs, m, name_re)) k.name = m[1];
      if (std::regex_search(attrs, m, batch_re)) k.max_batch = std::stoi(m[1]);
      s.kernels.push_back(std::move(k));
    }
  }
  return s;
}

} // namespace weaver
