#include "actors/storage/shared_connection.hpp"

namespace weaver::sql {

namespace {

class handle_db : public database {
public:
  explicit handle_db(std::shared_ptr<shared_connection::core> c) : c_(std::move(c)) {}
  ~handle_db() override { rollback(); }

  dialect kind() const override { return c_->db->kind(); }
  std::string describe() const override { return c_->db->describe(); }
  void exec(const std::string& text, const char* what) override {
    std::lock_guard<std::recursive_mutex> lock(c_->mtx);
    c_->db->exec(text, what);
  }
  std::vector<row> query(const std::string& text, const std::vector<value>& params, const char* what) override {
    std::lock_guard<std::recursive_mutex> lock(c_->mtx);
    return c_->db->query(text, params, what);
  }
  size_t changes() const override {
    std::lock_guard<std::recursive_mutex> lock(c_->mtx);
    return c_->db->changes();
  }
  // The lock is taken at begin() and given back when the transaction ends.
  void begin() override {
    c_->mtx.lock();
    try {
      c_->db->begin();
    } catch (...) {
      c_->mtx.unlock();
      throw;
    }
    open_ = true;
  }
  // A commit that throws leaves it open: rollback() ends it, gives the lock back.
  void commit() override {
    c_->db->commit();
    end();
  }
  void rollback() noexcept override {
    if (!open_) return;
    c_->db->rollback();
    end();
  }
  size_t max_params() const override { return c_->db->max_params(); }

private:
  void end() {
    open_ = false;
    c_->mtx.unlock();
  }
  std::shared_ptr<shared_connection::core> c_;
  bool open_ = false;
};

} // namespace

shared_connection::shared_connection(std::unique_ptr<database> db) : core_(std::make_shared<core>()) {
  core_->db = std::move(db);
}

std::unique_ptr<database> shared_connection::handle() const { return std::make_unique<handle_db>(core_); }

} // namespace weaver::sql
