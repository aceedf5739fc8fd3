// Shared by every kernel: the HOST_DEVICE macro, small vector math and the counter-based random
// numbers. Everything here compiles both with g++ (the CPU kernels) and nvcc (the CUDA kernels)
// and must stay free of torch and CUDA runtime types, so that the .cu files build without torch.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define HOST_DEVICE __host__ __device__ __forceinline__
#else
#define HOST_DEVICE inline
#endif

namespace intrinsix {

// ---- 3-vectors (float) --------------------------------------------------------------------------
struct Vec3 {
  float x, y, z;
};
HOST_DEVICE Vec3 make_vec3(float x, float y, float z) { return Vec3{x, y, z}; }
HOST_DEVICE Vec3 operator+(Vec3 a, Vec3 b) { return Vec3{a.x + b.x, a.y + b.y, a.z + b.z}; }
HOST_DEVICE Vec3 operator-(Vec3 a, Vec3 b) { return Vec3{a.x - b.x, a.y - b.y, a.z - b.z}; }
HOST_DEVICE Vec3 operator*(Vec3 a, float s) { return Vec3{a.x * s, a.y * s, a.z * s}; }
HOST_DEVICE Vec3 operator*(float s, Vec3 a) { return Vec3{a.x * s, a.y * s, a.z * s}; }
HOST_DEVICE Vec3 operator*(Vec3 a, Vec3 b) { return Vec3{a.x * b.x, a.y * b.y, a.z * b.z}; }
HOST_DEVICE float dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
HOST_DEVICE Vec3 cross(Vec3 a, Vec3 b) {
  return Vec3{a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
HOST_DEVICE Vec3 normalize(Vec3 a) {
  const float n = sqrtf(dot(a, a));
  return n > 0.f ? a * (1.f / n) : a;
}

// ---- the default camera --------------------------------------------------------------------------
// View vector (unit, toward the camera) of pixel (row, col) for the pinhole camera of REFERENCE.md
// section 4: at the origin looking down -z, pixel centre at
// ((2 (col + 0.5) / W - 1) tan_x, (2 (row + 0.5) / H - 1) tan_y, -1), v = normalize(-x, -y, 1).
// Row 0 is the BOTTOM row (y_ndc = -1), as in the rasterizer's (nvdiffrast's) images. The float32
// operations are mirrored exactly by kernels/lights.py `view_directions`.
HOST_DEVICE Vec3 pinhole_view(int row, int col, int height, int width, float tan_x, float tan_y) {
  const float x = ((float(col) + 0.5f) * (2.f / float(width)) - 1.f) * tan_x;
  const float y = ((float(row) + 0.5f) * (2.f / float(height)) - 1.f) * tan_y;
  return normalize(make_vec3(-x, -y, 1.f));
}

// ---- counter-based random numbers ---------------------------------------------------------------
// Randomness is a pure function of (seed, pixel, sample, dimension) so that the CPU, CUDA and the
// PyTorch twin (reference.py: `_pcg_hash`, `random_uniform`) draw bit-identical numbers.
// PCG-RXS-M-XS 32-bit output permutation (O'Neill 2014) used as an integer hash.
HOST_DEVICE uint32_t pcg_hash(uint32_t v) {
  const uint32_t state = v * 747796405u + 2891336453u;
  const uint32_t word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// Uniform float in [0, 1) with 24 random bits (exactly representable, identical everywhere).
HOST_DEVICE float random_uniform(uint32_t seed, uint32_t pixel, uint32_t sample, uint32_t dim) {
  uint32_t h = pcg_hash(seed ^ pcg_hash(pixel));
  h = pcg_hash(h ^ pcg_hash(sample * 16u + dim));
  return float(h >> 8) * (1.0f / 16777216.0f);
}

}  // namespace intrinsix
