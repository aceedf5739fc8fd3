// SHA-256 (FIPS 180-4), self-contained so that the engine plugins need no crypto library.
// Used to verify every received result file against TextureHeader.sha256, and to checksum
// uploaded meshes (MeshInfo.sha256).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace intrinsix {

class Sha256 {
 public:
  Sha256();
  // Feed `size` bytes; may be called any number of times, with any split of the message.
  void update(const void* data, size_t size);
  // The 32-byte digest of everything fed so far. The object must not be updated afterwards.
  std::array<uint8_t, 32> finish();
  // finish() as 64 lowercase hex digits (the protocol's form).
  std::string finish_hex();

 private:
  void compress(const uint8_t* block);  // one 64-byte block
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;      // bytes waiting in buffer_
  uint64_t total_bytes_ = 0;  // message length so far
  bool finished_ = false;
};

// SHA-256 of one buffer as 64 lowercase hex digits.
std::string sha256_hex(const void* data, size_t size);

}  // namespace intrinsix
