// page_block (accel/engine/page_block): small blocks from the heap, large
// ones mapped at a huge-page boundary; every byte asked for is writable and
// keeps what was written; moves hand the memory over.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <utility>

#include "accel/engine/page_block.hpp"

using weaver::engine::page_block;

TEST_CASE("page_block: a small block comes from the heap, 64-byte aligned") {
  page_block b(1000);
  REQUIRE(b.data() != nullptr);
  CHECK(b.size() == 1000);
  CHECK_FALSE(b.mapped());
  CHECK(reinterpret_cast<uintptr_t>(b.data()) % 64 == 0);
  std::memset(b.data(), 7, b.size());
  CHECK(static_cast<unsigned char*>(b.data())[999] == 7);
}

TEST_CASE("page_block: a large block is mapped at a huge-page boundary and fully writable") {
  const size_t n = page_block::huge_page * 2 + 12345; // not a whole number of huge pages
  page_block b(n);
  REQUIRE(b.data() != nullptr);
  CHECK(b.mapped());
  CHECK(b.size() == n);
  CHECK(reinterpret_cast<uintptr_t>(b.data()) % page_block::huge_page == 0);
  auto* p = static_cast<unsigned char*>(b.data());
  for (size_t i = 0; i < n; i += 4096) p[i] = static_cast<unsigned char>(i >> 12);
  p[n - 1] = 0xAB;
  for (size_t i = 0; i < n; i += 4096) REQUIRE(p[i] == static_cast<unsigned char>(i >> 12));
  CHECK(p[n - 1] == 0xAB);
}

TEST_CASE("page_block: moving hands the memory over, the source is left empty") {
  page_block a(page_block::huge_page);
  void* mem = a.data();
  static_cast<char*>(mem)[0] = 'x';
  page_block b(std::move(a));
  CHECK(b.data() == mem);
  CHECK(b.size() == page_block::huge_page);
  CHECK(a.data() == nullptr);
  CHECK(a.size() == 0);
  page_block c(16);
  c = std::move(b); // frees c's own block first
  CHECK(c.data() == mem);
  CHECK(static_cast<char*>(c.data())[0] == 'x');
  CHECK_FALSE(b.mapped());
}

TEST_CASE("page_block: an empty block is valid") {
  page_block b(0);
  CHECK(b.size() == 0);
  page_block d;
  CHECK(d.data() == nullptr);
}
