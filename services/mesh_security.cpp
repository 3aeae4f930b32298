#include "services/mesh_security.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <unistd.h>
#include <zmq.hpp>

#include "base/log.hpp"
#include "base/metrics.hpp"
#include "services/config.hpp"
#include "services/zmq_link.hpp"

namespace weaver {

namespace {

std::string trim(std::string s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

// The 32 bytes of a Z85 key, or "" when it is not one.
std::string z85_bytes(const std::string& key) {
  if (key.size() != 40) return {};
  uint8_t out[32];
  if (!zmq_z85_decode(out, key.c_str())) return {};
  return std::string(reinterpret_cast<const char*>(out), 32);
}

std::string z85_text(const std::string& raw) {
  char out[41];
  if (raw.size() != 32 || !zmq_z85_encode(out, reinterpret_cast<const uint8_t*>(raw.data()), 32)) return {};
  return out;
}

// A file's key: the first line, trimmed.
std::string read_key_file(const std::string& key, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw config_error(key, "cannot read key file " + path);
  std::string line;
  std::getline(in, line);
  return trim(line);
}

// A public key source: Z85 text itself, env:VAR, or a file path.
std::string resolve_public(const std::string& key, const std::string& source) {
  std::string v;
  if (is_z85_key(source)) {
    v = source;
  } else if (source.rfind("env:", 0) == 0) {
    auto var = source.substr(4);
    auto* e = std::getenv(var.c_str());
    if (!e || !*e) throw config_error(key, "environment variable " + var + " is not set");
    v = trim(e);
  } else {
    v = read_key_file(key, source);
  }
  if (!is_z85_key(v)) throw config_error(key, "not a CURVE public key (40 characters of Z85 text)");
  return v;
}

} // namespace

bool curve_available() { return zmq_has("curve") != 0; }

curve_keypair make_curve_keypair() {
  char pub[41], sec[41];
  if (!curve_available() || zmq_curve_keypair(pub, sec) != 0)
    throw std::runtime_error("this ZeroMQ library has no CURVE support");
  return {pub, sec};
}

bool is_z85_key(const std::string& s) { return !z85_bytes(s).empty(); }

std::string curve_public_of(const std::string& secret_key) {
  if (!is_z85_key(secret_key)) throw std::invalid_argument("not a CURVE secret key (40 characters of Z85 text)");
  char pub[41];
  if (zmq_curve_public(pub, secret_key.c_str()) != 0)
    throw std::invalid_argument("cannot derive the public key (no CURVE support?)");
  return pub;
}

curve_keypair write_curve_keypair(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  if (name.empty() || name.find('/') != std::string::npos)
    throw std::runtime_error("keys: --name must be a plain file name, got '" + name + "'");
  auto kp = make_curve_keypair();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("keys: cannot create " + dir + ": " + ec.message());
  auto sec = (fs::path(dir) / (name + ".key")).string();
  auto pub = (fs::path(dir) / (name + ".pub")).string();
  for (auto& f : {sec, pub})
    if (fs::exists(f)) throw std::runtime_error("keys: " + f + " exists; not overwriting a key");
  // The secret is created 0600 from the start, never readable by others.
  int fd = ::open(sec.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw std::runtime_error("keys: cannot create " + sec + ": " + std::strerror(errno));
  auto text = kp.secret_key + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = (::close(fd) == 0) && ok;
  if (!ok) throw std::runtime_error("keys: cannot write " + sec);
  std::ofstream out(pub);
  out << kp.public_key << "\n";
  if (!out.flush()) throw std::runtime_error("keys: cannot write " + pub);
  return kp;
}

link_security mesh_keys::outbound(const std::string& role) const {
  link_security s;
  if (!curve) return s;
  auto it = public_keys.find(role);
  if (it == public_keys.end())
    throw config_error("mesh.keys.public." + role, "required: this node connects to role '" + role + "'");
  s.curve = true;
  s.own = own;
  s.server_key = it->second;
  return s;
}

link_security mesh_keys::inbound(const std::string& role, const std::string& upstream) const {
  link_security s;
  if (!curve) return s;
  auto it = public_keys.find(upstream);
  if (it == public_keys.end())
    throw config_error("mesh.keys.public." + upstream,
                       "required: role '" + upstream + "' connects to this node's " + role + " endpoint");
  s.curve = true;
  s.own = own;
  s.domain = role;
  s.allowed[it->second] = upstream;
  return s;
}

mesh_keys resolve_mesh_keys(const mesh_config& mesh, const std::vector<std::string>& roles) {
  mesh_keys k;
  const bool has_keys = !mesh.secret_file.empty() || !mesh.secret_env.empty() || !mesh.public_keys.empty();
  if (mesh.security == "plain") return k;
  if (mesh.security.empty() && !has_keys)
    throw config_error("mesh.security",
                       "not set and no mesh.keys: this node has remote links; give it keys (weaver keys) "
                       "or set mesh.security: plain to run unauthenticated");
  if (!curve_available()) throw config_error("mesh.security", "curve: this ZeroMQ library has no CURVE support");
  k.curve = true;
  std::string secret;
  if (!mesh.secret_file.empty()) {
    secret = read_key_file("mesh.keys.secret", mesh.secret_file);
  } else if (!mesh.secret_env.empty()) {
    auto* e = std::getenv(mesh.secret_env.c_str());
    if (!e || !*e)
      throw config_error("mesh.keys.secret_env", "environment variable " + mesh.secret_env + " is not set");
    secret = trim(e);
  } else {
    throw config_error("mesh.keys.secret", "required with CURVE: this node's secret key file (or secret_env)");
  }
  const std::string secret_key = mesh.secret_file.empty() ? "mesh.keys.secret_env" : "mesh.keys.secret";
  try {
    k.own = {curve_public_of(secret), secret};
  } catch (const std::invalid_argument& e) {
    throw config_error(secret_key, e.what());
  }
  for (auto& [role, source] : mesh.public_keys)
    k.public_keys[role] = resolve_public("mesh.keys.public." + role, source);
  // A role this node hosts is known to others by its public key: a secret
  // that does not match it would make every peer refuse this node.
  for (auto& role : roles) {
    auto it = k.public_keys.find(role);
    if (it != k.public_keys.end() && it->second != k.own.public_key)
      throw config_error(secret_key,
                         "does not belong to mesh.keys.public." + role + " (this node hosts " + role
                           + "; its public key is " + k.own.public_key + ")");
  }
  return k;
}

// --- ZAP handler ---------------------------------------------------------------

zap_handler& zap_handler::instance() {
  zmq_context(); // the context is made first, so it outlives the handler
  static zap_handler h;
  return h;
}

zap_handler::~zap_handler() {
  stop_ = true;
  if (io_.joinable()) io_.join();
}

void zap_handler::allow(const std::string& domain, const std::map<std::string, std::string>& keys) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& list = allowed_[domain];
  list.clear();
  for (auto& [key, user] : keys) {
    auto raw = z85_bytes(key);
    if (raw.empty()) throw std::invalid_argument("zap: not a Z85 key: " + key);
    list[raw] = user;
  }
  if (!started_) start();
}

void zap_handler::start() {
  // Bind here, not on the thread: the handler must exist before the first
  // CURVE socket binds, or libzmq admits every client key.
  auto sock = std::make_shared<zmq::socket_t>(zmq_context(), zmq::socket_type::rep);
  sock->set(zmq::sockopt::linger, 0);
  sock->bind("inproc://zeromq.zap.01");
  started_ = true;
  io_ = std::thread{[this, sock] {
    std::vector<zmq::message_t> parts;
    while (!stop_) {
      zmq::pollitem_t item{static_cast<void*>(*sock), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds{100});
      if (!(item.revents & ZMQ_POLLIN)) continue;
      parts.clear();
      for (;;) {
        zmq::message_t m;
        if (!sock->recv(m, zmq::recv_flags::dontwait)) break;
        bool more = m.more();
        parts.push_back(std::move(m));
        if (!more) break;
      }
      if (parts.empty()) continue;
      auto str = [&](size_t i) { return i < parts.size() ? parts[i].to_string() : std::string{}; };
      // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
      std::string user, reason;
      bool ok = parts.size() >= 6 && str(0) == "1.0" && decide(str(2), str(5), str(6), user, reason);
      if (!ok && reason.empty()) reason = "malformed";
      if (!ok) {
        ++refused_;
        metrics::global().mesh_auth_refused(str(2).empty() ? "-" : str(2), reason).Increment();
        static const logger log{"mesh"};
        if (refused_ <= 10 || refused_ % 1000 == 0)
          log.warn("refused a ", str(5), " peer from ", str(3), " on the ", str(2), " endpoint (", reason,
                   str(5) == "CURVE" ? ", key " + z85_text(str(6)) : std::string{}, ")");
      }
      sock->send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
      sock->send(zmq::buffer(str(1)), zmq::send_flags::sndmore);
      sock->send(zmq::buffer(std::string(ok ? "200" : "400")), zmq::send_flags::sndmore);
      sock->send(zmq::buffer(std::string(ok ? "OK" : reason)), zmq::send_flags::sndmore);
      sock->send(zmq::buffer(user), zmq::send_flags::sndmore);
      sock->send(zmq::buffer(std::string{}));
    }
  }};
}

bool zap_handler::decide(const std::string& domain, const std::string& mechanism, const std::string& credential,
                         std::string& user, std::string& reason) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = allowed_.find(domain);
  if (it == allowed_.end()) {
    // A socket this handler has no list for is a plain link (no domain).
    if (mechanism == "NULL" && domain.empty()) return true;
    reason = mechanism == "CURVE" ? "unknown_key" : "mechanism";
    return false;
  }
  if (mechanism != "CURVE") {
    reason = "mechanism";
    return false;
  }
  auto k = it->second.find(credential);
  if (k == it->second.end()) {
    reason = "unknown_key";
    return false;
  }
  user = k->second;
  return true;
}

} // namespace weaver
