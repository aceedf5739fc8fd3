// The one binding file: torch tensors in, one parameter struct per op, CPU or CUDA launcher out.
// Ops are registered with the torch dispatcher as `torch.ops.intrinsix.<name>`; the CPU and CUDA
// dispatch keys share one wrapper per op, which picks the launcher by the tensors' device.
// Friendly argument validation (names, ranges) lives in kernels/ops.py; the checks here only keep
// a bad call from reaching a kernel.
#include <ATen/ATen.h>
#include <torch/library.h>

#ifdef INTRINSIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#endif

#include "interpolate.h"

namespace intrinsix {
namespace {

// ---- helpers -------------------------------------------------------------------------------------
void check_tensor(const at::Tensor& t, const char* name, at::ScalarType dtype, int64_t dim) {
  TORCH_CHECK(t.scalar_type() == dtype, "intrinsix: ", name, " must be ", c10::toString(dtype),
              ", got ", c10::toString(t.scalar_type()));
  TORCH_CHECK(t.dim() == dim, "intrinsix: ", name, " must have ", dim, " dimensions, got shape ", t.sizes());
  TORCH_CHECK(t.is_contiguous(), "intrinsix: ", name, " must be contiguous");
}

void check_same_device(const at::Tensor& a, const at::Tensor& b, const char* name_a, const char* name_b) {
  TORCH_CHECK(a.device() == b.device(), "intrinsix: ", name_a, " is on ", a.device(), " but ", name_b,
              " is on ", b.device());
}

// Current CUDA stream of the tensor's device as an opaque pointer (the launchers take void*), after
// making that device current. Returns nullptr for CPU tensors.
struct DeviceScope {
#ifdef INTRINSIX_WITH_CUDA
  c10::optional<c10::cuda::CUDAGuard> guard;
#endif
  void* stream = nullptr;
  bool is_cuda = false;
  explicit DeviceScope(const at::Tensor& t) {
    if (t.is_cuda()) {
#ifdef INTRINSIX_WITH_CUDA
      guard.emplace(t.device());
      stream = at::cuda::getCurrentCUDAStream(t.device().index()).stream();
      is_cuda = true;
#else
      TORCH_CHECK(false, "intrinsix: this build of the kernels has no CUDA support");
#endif
    }
  }
};

bool has_cuda() {
#ifdef INTRINSIX_WITH_CUDA
  return true;
#else
  return false;
#endif
}

// ---- interpolate ---------------------------------------------------------------------------------
InterpolateParams interpolate_params(const at::Tensor& attr, const at::Tensor& rast, const at::Tensor& tri) {
  check_tensor(attr, "attr", at::kFloat, 3);
  check_tensor(rast, "rast", at::kFloat, 4);
  check_tensor(tri, "tri", at::kInt, 2);
  check_same_device(attr, rast, "attr", "rast");
  check_same_device(attr, tri, "attr", "tri");
  TORCH_CHECK(rast.size(3) == 4 && tri.size(1) == 3, "intrinsix: rast must be [B, H, W, 4] and tri [F, 3]");
  TORCH_CHECK(attr.size(0) == 1 || attr.size(0) == rast.size(0),
              "intrinsix: attr batch must be 1 or the batch of rast");
  InterpolateParams p{};
  p.attr = attr.data_ptr<float>();
  p.rast = rast.data_ptr<float>();
  p.tri = tri.data_ptr<int32_t>();
  p.batch = int(rast.size(0));
  p.height = int(rast.size(1));
  p.width = int(rast.size(2));
  p.num_vertices = int(attr.size(1));
  p.num_channels = int(attr.size(2));
  p.num_triangles = int(tri.size(0));
  p.attr_batch_stride = attr.size(0) == 1 ? 0 : attr.size(1) * attr.size(2);
  return p;
}

at::Tensor interpolate_fwd(const at::Tensor& attr, const at::Tensor& rast, const at::Tensor& tri) {
  InterpolateParams p = interpolate_params(attr, rast, tri);
  at::Tensor out = at::empty({rast.size(0), rast.size(1), rast.size(2), attr.size(2)}, attr.options());
  p.out = out.data_ptr<float>();
  DeviceScope scope(attr);
  if (scope.is_cuda) interpolate_fwd_cuda(p, scope.stream);
  else interpolate_fwd_cpu(p);
  return out;
}

at::Tensor interpolate_bwd(const at::Tensor& grad_out, const at::Tensor& attr, const at::Tensor& rast,
                           const at::Tensor& tri) {
  InterpolateParams p = interpolate_params(attr, rast, tri);
  check_tensor(grad_out, "grad_out", at::kFloat, 4);
  TORCH_CHECK(grad_out.sizes() == at::IntArrayRef({rast.size(0), rast.size(1), rast.size(2), attr.size(2)}),
              "intrinsix: grad_out has shape ", grad_out.sizes(), ", expected [B, H, W, C]");
  at::Tensor grad_attr = at::zeros_like(attr);
  p.grad_out = grad_out.data_ptr<float>();
  p.grad_attr = grad_attr.data_ptr<float>();
  DeviceScope scope(attr);
  if (scope.is_cuda) interpolate_bwd_cuda(p, scope.stream);
  else interpolate_bwd_cpu(p);
  return grad_attr;
}

// ---- rasterize (section owned by rasterize) ------------------------------------------------------
// RASTERIZE_BINDINGS

// ---- texture (section owned by texture) ----------------------------------------------------------
// TEXTURE_BINDINGS

// ---- shade (section owned by shade) --------------------------------------------------------------
// SHADE_BINDINGS

// ---- sample_lights (section owned by sample_lights) ----------------------------------------------
// SAMPLE_LIGHTS_BINDINGS

}  // namespace
}  // namespace intrinsix

TORCH_LIBRARY(intrinsix, m) {
  m.def("has_cuda() -> bool", &intrinsix::has_cuda);
  m.def("interpolate_fwd(Tensor attr, Tensor rast, Tensor tri) -> Tensor");
  m.def("interpolate_bwd(Tensor grad_out, Tensor attr, Tensor rast, Tensor tri) -> Tensor");
  // RASTERIZE_SCHEMA
  // TEXTURE_SCHEMA
  // SHADE_SCHEMA
  // SAMPLE_LIGHTS_SCHEMA
}

// The same wrappers serve both dispatch keys; each picks its launcher by device.
#define INTRINSIX_REGISTER_IMPLS(m)                         \
  m.impl("interpolate_fwd", &intrinsix::interpolate_fwd);   \
  m.impl("interpolate_bwd", &intrinsix::interpolate_bwd);   \
  /* RASTERIZE_IMPLS */                                     \
  /* TEXTURE_IMPLS */                                       \
  /* SHADE_IMPLS */                                         \
  /* SAMPLE_LIGHTS_IMPLS */

TORCH_LIBRARY_IMPL(intrinsix, CPU, m) { INTRINSIX_REGISTER_IMPLS(m) }

#ifdef INTRINSIX_WITH_CUDA
TORCH_LIBRARY_IMPL(intrinsix, CUDA, m) { INTRINSIX_REGISTER_IMPLS(m) }
#endif
