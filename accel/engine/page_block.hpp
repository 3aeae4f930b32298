// Memory for a session's activation buffers and reordered weights, in
// transparent huge pages where the kernel allows them (THP "madvise" mode,
// Debian's default). Every first touch of a 4 KiB page is a page fault; on
// this VM each costs 10-20 us, so 22 MB first touched cost 63-123 ms (the
// first frame of a 640x640 detector), against 1.3-1.5 ms in 2 MiB pages
// (README, ONNX figures). Large blocks are mapped 2 MiB-aligned and advised
// MADV_HUGEPAGE; small ones come from the heap. Contents are uninitialised.
#pragma once

#include <cstddef>

namespace weaver::engine {

class page_block {
public:
  /// Blocks of at least this many bytes are mapped for huge pages.
  static constexpr size_t huge_page = size_t{2} << 20;

  page_block() = default;
  /// `bytes` (0 allowed); throws std::bad_alloc when the memory is not there.
  explicit page_block(size_t bytes);
  ~page_block();
  page_block(page_block&& o) noexcept;
  page_block& operator=(page_block&& o) noexcept;
  page_block(const page_block&) = delete;
  page_block& operator=(const page_block&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }
  /// Mapped for huge pages (rather than from the heap).
  bool mapped() const { return map_ != nullptr; }

private:
  void release() noexcept;
  void* data_ = nullptr;
  size_t size_ = 0;
  void* map_ = nullptr; // the mapping (data_ is inside it), or nullptr: data_ is from operator new
  size_t map_len_ = 0;
};

} // namespace weaver::engine
