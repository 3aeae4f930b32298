#include "accel/cpu_card.hpp"

#include <chrono>
#include <stdexcept>

#include <unistd.h>

#include "accel/engine/executor.hpp"

namespace weaver {

inference_result run_job(const inference_job& job, engine::workspace& ws) {
  inference_result r;
  auto t0 = std::chrono::steady_clock::now();
  auto& f = *job.input;
  r.batch.camera_id = f.camera_id;
  r.batch.seq = f.seq;
  r.batch.capture_ms = f.capture_ms;
  r.batch.width = f.image.cols;
  r.batch.height = f.image.rows;
  try {
    if (!job.work) throw std::invalid_argument("job has no workload");
    r.batch.detections = job.work->run(f.image, ws);
    r.ok = true;
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  r.service_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

uint64_t host_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(size) : 0;
}

cpu_card::cpu_card(std::string name, int threads) {
  if (threads < 1) throw std::invalid_argument("cpu card " + name + ": threads must be >= 1");
  info_.name = std::move(name);
  info_.kind = "cpu";
  info_.device = "host";
  info_.capacity = threads;
  info_.max_batch = 1;
  info_.memory_bytes = host_memory_bytes();
  info_.details = std::to_string(threads) + " worker thread(s)";
  for (int i = 0; i < threads; ++i) spaces_.push_back(std::make_unique<worker_space>());
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this, i] { work(*spaces_[static_cast<size_t>(i)]); });
}

cpu_card::~cpu_card() {
  queue_.close(true);
  for (auto& w : workers_) w.join();
}

void cpu_card::submit(std::vector<card_job> batch, completion done) { queue_.push(std::move(batch), std::move(done)); }

void cpu_card::prepare(const inference_job& job) {
  for (auto& s : spaces_) {
    std::lock_guard<std::mutex> lock(s->mtx);
    run_job(job, s->ws);
  }
}

size_t cpu_card::sessions() const {
  size_t n = 0;
  for (auto& s : spaces_) {
    std::lock_guard<std::mutex> lock(s->mtx);
    n += s->ws.sessions();
  }
  return n;
}

void cpu_card::work(worker_space& space) {
  batch_queue::item it;
  while (queue_.pop(it)) {
    auto t0 = std::chrono::steady_clock::now();
    batch_result r;
    r.card = info_.name;
    r.ok = true;
    std::lock_guard<std::mutex> lock(space.mtx); // contended by prepare() only
    for (auto& j : it.batch) {
      auto jr = run_job(j.job, space.ws);
      jr.ticket = j.ticket;
      jr.card = info_.name;
      r.results.push_back(std::move(jr));
    }
    r.service_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    it.done(std::move(r));
  }
}

} // namespace weaver
