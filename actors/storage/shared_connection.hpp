// One database connection for the roles of one process that use the store
// (storage writes, query reads and stores alerts): an in-memory SQLite
// database exists only on the connection that made it, so a second
// connection by path would see another, empty, database. Each call, and each
// transaction from begin() to commit() / rollback(), holds the connection's
// lock: the roles take turns and never interleave inside a transaction.
#pragma once

#include <memory>
#include <mutex>

#include "actors/storage/database.hpp"

namespace weaver::sql {

class shared_connection {
public:
  explicit shared_connection(std::unique_ptr<database> db);
  /// A handle onto the connection for one user (one thread at a time);
  /// any number of handles, each on its own thread.
  std::unique_ptr<database> handle() const;

  struct core {
    std::unique_ptr<database> db;
    std::recursive_mutex mtx;
  };

private:
  std::shared_ptr<core> core_;
};

} // namespace weaver::sql
