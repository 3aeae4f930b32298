// Authentication and encryption of the ZeroMQ mesh with CURVE (RFC 26).
//
// Every node has a keypair; every role is known by the public key of the
// node that hosts it (mesh.keys.public.<role>). A connecting end (DEALER)
// presents its own key and checks the bound end's; a bound end (ROUTER)
// admits, through the process's ZAP handler (RFC 27), only the key of its
// link's upstream role, and tags each of that peer's messages with the role
// name as ZeroMQ's User-Id: the inbound bridge acts only on messages whose
// User-Id is that upstream (services/bridge.cpp). Plain links exist only when
// the configuration says `mesh.security: plain`.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace weaver {

struct mesh_config;

/// A CURVE keypair, each key in Z85 text (40 characters, 32 bytes).
struct curve_keypair {
  std::string public_key, secret_key;
};

/// True when this libzmq was built with CURVE.
bool curve_available();
/// Throws std::runtime_error when CURVE is not available.
curve_keypair make_curve_keypair();
/// A 40-character Z85 string that decodes to 32 bytes.
bool is_z85_key(const std::string& s);
/// The public key of a Z85 secret key; throws std::invalid_argument.
std::string curve_public_of(const std::string& secret_key);

/// `weaver keys`: writes a new keypair as DIR/NAME.key (the secret, mode
/// 0600) and DIR/NAME.pub, creating DIR; refuses to overwrite either file.
/// Returns the keypair; throws std::runtime_error naming the file.
curve_keypair write_curve_keypair(const std::string& dir, const std::string& name);

/// How one link is secured; the default is a plain link.
struct link_security {
  bool curve = false;
  curve_keypair own; // this node's keys
  std::string server_key; // outbound: the key the bound end must present
  std::string domain; // inbound: ZAP domain, the role the link serves
  std::map<std::string, std::string> allowed; // inbound: public key (Z85) -> User-Id (a role)
};

/// The mesh's keys as resolved at start: files and environment read, every
/// key checked. `curve` false means plain links, chosen explicitly.
struct mesh_keys {
  bool curve = false;
  curve_keypair own;
  std::map<std::string, std::string> public_keys; // role -> Z85

  /// For a link this node opens to `role`'s endpoint.
  link_security outbound(const std::string& role) const;
  /// For the endpoint this node binds for `role`, admitting only `upstream`.
  link_security inbound(const std::string& role, const std::string& upstream) const;
};

/// Resolves mesh.security and mesh.keys; throws config_error naming the key
/// at fault (a missing file, an unset variable, a malformed key, a secret
/// key that does not match this node's public key, no keys and no explicit
/// `plain`). `roles` are the roles this node hosts.
mesh_keys resolve_mesh_keys(const mesh_config& mesh, const std::vector<std::string>& roles);

/// The process's ZAP handler: one per ZeroMQ context (it binds
/// inproc://zeromq.zap.01), started by the first allow(). A CURVE client is
/// admitted when its key is in the allow-list of the socket's ZAP domain,
/// and refused (counted in weaver_mesh_auth_refused_total) otherwise; a
/// NULL-mechanism peer only on a socket with no domain (a plain link). A
/// plain peer of a CURVE socket fails the handshake before any ZAP request.
class zap_handler {
public:
  static zap_handler& instance();
  ~zap_handler();

  /// Sets the allow-list of `domain` (replacing any before); thread-safe.
  void allow(const std::string& domain, const std::map<std::string, std::string>& keys);

  uint64_t refused() const { return refused_; }

private:
  zap_handler() = default;
  void start();
  void run();
  // Returns the User-Id to admit with, or nothing (refused, with a reason).
  bool decide(const std::string& domain, const std::string& mechanism, const std::string& credential, std::string& user,
              std::string& reason);

  std::mutex mtx_;
  std::map<std::string, std::map<std::string, std::string>> allowed_; // domain -> binary key -> User-Id
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> refused_{0};
  bool started_ = false;
  std::thread io_;
};

} // namespace weaver
