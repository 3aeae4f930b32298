#include "accel/engine/page_block.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <new>
#include <utility>

namespace weaver::engine {

page_block::page_block(size_t bytes) : size_(bytes) {
  if (bytes < huge_page) {
    data_ = ::operator new (bytes == 0 ? 1 : bytes, std::align_val_t{64});
    return;
  }
  // Whole huge pages, plus one to align the start: the kernel backs only
  // aligned 2 MiB ranges with huge pages. The unused head and tail are never
  // touched, so they take no memory.
  const size_t len = (bytes + huge_page - 1) / huge_page * huge_page;
  map_len_ = len + huge_page;
  map_ = ::mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw std::bad_alloc();
  }
  const auto start = reinterpret_cast<uintptr_t>(map_);
  const uintptr_t aligned = (start + huge_page - 1) / huge_page * huge_page;
  data_ = reinterpret_cast<void*>(aligned);
  // Advice only: without THP (disabled, or not built in) the block still
  // works in small pages.
  (void)::madvise(data_, len, MADV_HUGEPAGE);
}

page_block::~page_block() { release(); }

page_block::page_block(page_block&& o) noexcept
  : data_(std::exchange(o.data_, nullptr)),
    size_(std::exchange(o.size_, 0)),
    map_(std::exchange(o.map_, nullptr)),
    map_len_(std::exchange(o.map_len_, 0)) {}

page_block& page_block::operator=(page_block&& o) noexcept {
  if (this != &o) {
    release();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    map_ = std::exchange(o.map_, nullptr);
    map_len_ = std::exchange(o.map_len_, 0);
  }
  return *this;
}

void page_block::release() noexcept {
  if (map_)
    ::munmap(map_, map_len_);
  else if (data_)
    ::operator delete (data_, std::align_val_t{64});
  data_ = map_ = nullptr;
  size_ = map_len_ = 0;
}

} // namespace weaver::engine
