// The one binding file: torch tensors in, one parameter struct per op, CPU or CUDA launcher out.
// Ops are registered with the torch dispatcher as `torch.ops.intrinsix.<name>`; the CPU and CUDA
// dispatch keys share one wrapper per op, which picks the launcher by the tensors' device.
// Friendly argument validation (names, ranges) lives in kernels/ops.py; the checks here only keep
// a bad call from reaching a kernel.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>

#ifdef INTRINSIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#endif

#include "interpolate.h"
#include "texture.h"
#include "sample_lights.h"
#include "rasterize.h"
#include "shade.h"

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
// Returns rast [B, H, W, 4]. pos [P, V, 4] with P = B or 1 (shared by `batch` images).
at::Tensor rasterize_fwd(const at::Tensor& pos, const at::Tensor& tri, int64_t batch, int64_t height, int64_t width) {
  check_tensor(pos, "pos", at::kFloat, 3);
  check_tensor(tri, "tri", at::kInt, 2);
  check_same_device(pos, tri, "pos", "tri");
  TORCH_CHECK(pos.size(2) == 4 && tri.size(1) == 3, "intrinsix: pos must be [B, V, 4] and tri [F, 3]");
  TORCH_CHECK(pos.size(0) == 1 || pos.size(0) == batch, "intrinsix: pos batch must be 1 or ", batch);
  TORCH_CHECK(height > 0 && width > 0 && height <= 16384 && width <= 16384,
              "intrinsix: resolution must be in [1, 16384], got ", height, "x", width);
  TORCH_CHECK(tri.size(0) < (int64_t(1) << 24), "intrinsix: at most 2^24 - 1 triangles");
  at::Tensor rast = at::empty({batch, height, width, 4}, pos.options());
  at::Tensor keys = at::empty({batch, height, width}, pos.options().dtype(at::kLong));
  RasterizeParams p{};
  p.pos = pos.data_ptr<float>();
  p.tri = tri.data_ptr<int32_t>();
  p.depth_keys = reinterpret_cast<unsigned long long*>(keys.data_ptr<int64_t>());
  p.rast = rast.data_ptr<float>();
  p.batch = int(batch);
  p.num_vertices = int(pos.size(1));
  p.num_triangles = int(tri.size(0));
  p.height = int(height);
  p.width = int(width);
  p.pos_batch_stride = pos.size(0) == 1 ? 0 : pos.size(1) * 4;
  DeviceScope scope(pos);
  if (scope.is_cuda) {
    // Queue for sub-triangles with large bounding boxes; if it overflows the setup thread
    // rasterizes them itself, so the capacity only affects speed.
    const int64_t capacity = std::min<int64_t>(std::max<int64_t>(batch * tri.size(0) / 4, 4096), 1 << 22);
    const int64_t entry_words = (sizeof(LargeTriangle) + 3) / 4;
    at::Tensor queue = at::empty({capacity * entry_words}, pos.options().dtype(at::kInt));
    at::Tensor count = at::empty({1}, pos.options().dtype(at::kInt));
    p.large_queue = reinterpret_cast<LargeTriangle*>(queue.data_ptr<int32_t>());
    p.large_count = count.data_ptr<int32_t>();
    p.large_capacity = int(capacity);
    rasterize_cuda(p, scope.stream);
  } else {
    rasterize_cpu(p);
  }
  return rast;
}

// ---- texture (section owned by texture) ----------------------------------------------------------
int texture_filter_code(c10::string_view filter) {
  if (filter == "nearest") return kFilterNearest;
  if (filter == "linear") return kFilterLinear;
  if (filter == "linear-mipmap-linear") return kFilterLinearMipmapLinear;
  TORCH_CHECK(false, "intrinsix: filter must be 'nearest', 'linear' or 'linear-mipmap-linear', got '",
              std::string(filter), "'");
  return -1;
}

int texture_wrap_code(c10::string_view wrap) {
  if (wrap == "repeat") return kWrapRepeat;
  if (wrap == "clamp") return kWrapClamp;
  TORCH_CHECK(false, "intrinsix: wrap must be 'repeat' or 'clamp', got '", std::string(wrap), "'");
  return -1;
}

// tex is the packed pyramid [A, T, C] (kernels/texture.py packs it); level_heights/widths give the
// size of each level in packing order.
TextureParams texture_params(const at::Tensor& tex, const at::Tensor& uv, const c10::optional<at::Tensor>& uv_da,
                             const c10::optional<at::Tensor>& mip_level_bias, at::IntArrayRef level_heights,
                             at::IntArrayRef level_widths, c10::string_view filter, c10::string_view wrap) {
  check_tensor(tex, "tex", at::kFloat, 3);
  check_tensor(uv, "uv", at::kFloat, 4);
  check_same_device(tex, uv, "tex", "uv");
  TORCH_CHECK(uv.size(3) == 2, "intrinsix: uv must be [B, Hp, Wp, 2], got ", uv.sizes());
  TORCH_CHECK(tex.size(0) == 1 || tex.size(0) == uv.size(0), "intrinsix: tex batch must be 1 or the batch of uv");
  TextureParams p{};
  p.filter = texture_filter_code(filter);
  p.wrap = texture_wrap_code(wrap);
  const int64_t num_levels = int64_t(level_heights.size());
  TORCH_CHECK(num_levels >= 1 && num_levels <= kTextureMaxLevels && int64_t(level_widths.size()) == num_levels,
              "intrinsix: texture needs 1 to ", kTextureMaxLevels, " levels with a height and a width each");
  int64_t offset = 0;
  for (int64_t k = 0; k < num_levels; ++k) {
    TORCH_CHECK(level_heights[k] >= 1 && level_widths[k] >= 1 && level_heights[k] <= (1 << 20) &&
                    level_widths[k] <= (1 << 20),
                "intrinsix: texture level ", k, " has size ", level_heights[k], " x ", level_widths[k]);
    p.level_height[k] = int(level_heights[k]);
    p.level_width[k] = int(level_widths[k]);
    p.level_offset[k] = offset;
    offset += level_heights[k] * level_widths[k];
  }
  TORCH_CHECK(tex.size(1) == offset, "intrinsix: packed tex holds ", tex.size(1), " texels, the levels need ", offset);
  p.num_levels = int(num_levels);
  if (p.filter == kFilterLinearMipmapLinear) {
    TORCH_CHECK(uv_da.has_value(), "intrinsix: filter 'linear-mipmap-linear' needs uv_da");
    check_tensor(*uv_da, "uv_da", at::kFloat, 4);
    check_same_device(uv, *uv_da, "uv", "uv_da");
    TORCH_CHECK(uv_da->size(0) == uv.size(0) && uv_da->size(1) == uv.size(1) && uv_da->size(2) == uv.size(2) &&
                    uv_da->size(3) == 4,
                "intrinsix: uv_da must be [B, Hp, Wp, 4] like uv, got ", uv_da->sizes());
    p.uv_da = uv_da->data_ptr<float>();
    if (mip_level_bias.has_value()) {
      check_tensor(*mip_level_bias, "mip_level_bias", at::kFloat, 3);
      check_same_device(uv, *mip_level_bias, "uv", "mip_level_bias");
      TORCH_CHECK(mip_level_bias->sizes() == uv.sizes().slice(0, 3),
                  "intrinsix: mip_level_bias must be [B, Hp, Wp], got ", mip_level_bias->sizes());
      p.mip_level_bias = mip_level_bias->data_ptr<float>();
    }
  }
  p.tex = tex.data_ptr<float>();
  p.uv = uv.data_ptr<float>();
  p.batch = int(uv.size(0));
  p.num_pixels = uv.size(1) * uv.size(2);
  p.num_channels = int(tex.size(2));
  p.tex_batch_stride = tex.size(0) == 1 ? 0 : tex.size(1) * tex.size(2);
  return p;
}

at::Tensor texture_fwd(const at::Tensor& tex, const at::Tensor& uv, const c10::optional<at::Tensor>& uv_da,
                       const c10::optional<at::Tensor>& mip_level_bias, at::IntArrayRef level_heights,
                       at::IntArrayRef level_widths, c10::string_view filter, c10::string_view wrap) {
  TextureParams p = texture_params(tex, uv, uv_da, mip_level_bias, level_heights, level_widths, filter, wrap);
  at::Tensor out = at::empty({uv.size(0), uv.size(1), uv.size(2), tex.size(2)}, tex.options());
  p.out = out.data_ptr<float>();
  DeviceScope scope(tex);
  if (scope.is_cuda) texture_fwd_cuda(p, scope.stream);
  else texture_fwd_cpu(p);
  return out;
}

// Returns (grad_tex [A, T, C], grad_uv [B, Hp, Wp, 2]); a gradient that is not asked for comes back
// as an empty tensor and is not computed.
std::tuple<at::Tensor, at::Tensor> texture_bwd(const at::Tensor& grad_out, const at::Tensor& tex, const at::Tensor& uv,
                                               const c10::optional<at::Tensor>& uv_da,
                                               const c10::optional<at::Tensor>& mip_level_bias,
                                               at::IntArrayRef level_heights, at::IntArrayRef level_widths,
                                               c10::string_view filter, c10::string_view wrap, bool need_tex,
                                               bool need_uv) {
  TextureParams p = texture_params(tex, uv, uv_da, mip_level_bias, level_heights, level_widths, filter, wrap);
  check_tensor(grad_out, "grad_out", at::kFloat, 4);
  check_same_device(tex, grad_out, "tex", "grad_out");
  TORCH_CHECK(grad_out.sizes() == at::IntArrayRef({uv.size(0), uv.size(1), uv.size(2), tex.size(2)}),
              "intrinsix: grad_out has shape ", grad_out.sizes(), ", expected [B, Hp, Wp, C]");
  at::Tensor grad_tex = need_tex ? at::zeros_like(tex) : at::empty({0}, tex.options());
  at::Tensor grad_uv = need_uv ? at::empty_like(uv) : at::empty({0}, uv.options());
  p.grad_out = grad_out.data_ptr<float>();
  p.grad_tex = need_tex ? grad_tex.data_ptr<float>() : nullptr;
  p.grad_uv = need_uv ? grad_uv.data_ptr<float>() : nullptr;
  DeviceScope scope(tex);
  if (need_tex || need_uv) {
    if (scope.is_cuda) texture_bwd_cuda(p, scope.stream);
    else texture_bwd_cpu(p);
  }
  return {grad_tex, grad_uv};
}

// ---- shade (section owned by shade) --------------------------------------------------------------
// The kernel's own checks (dtype, shape, contiguity, device); kernels/shade.py validates values
// and gives the friendly messages.
void shade_check_map(const at::Tensor& t, const char* name, const at::Tensor& albedo, int64_t channels) {
  check_tensor(t, name, at::kFloat, 4);
  check_same_device(t, albedo, name, "albedo");
  TORCH_CHECK(t.size(0) == albedo.size(0) && t.size(1) == albedo.size(1) && t.size(2) == albedo.size(2) &&
                  t.size(3) == channels,
              "intrinsix: ", name, " must be [B, H, W, ", channels, "] with B, H, W of albedo ", albedo.sizes(),
              ", got ", t.sizes());
}

// Light arrays are [B, L, 3] or [1, L, 3] (shared by the batch); returns true for the shared form.
bool shade_check_lights(const at::Tensor& t, const char* name, const at::Tensor& albedo, int64_t count) {
  check_tensor(t, name, at::kFloat, 3);
  check_same_device(t, albedo, name, "albedo");
  TORCH_CHECK((t.size(0) == albedo.size(0) || t.size(0) == 1) && t.size(1) == count && t.size(2) == 3,
              "intrinsix: ", name, " must be [B, ", count, ", 3] or [1, ", count, ", 3], got ", t.sizes());
  return t.size(0) == 1;
}

const float* shade_optional_map(const c10::optional<at::Tensor>& t, const char* name, const at::Tensor& albedo,
                                int64_t channels) {
  if (!t.has_value()) return nullptr;
  shade_check_map(*t, name, albedo, channels);
  return t->data_ptr<float>();
}

ShadeParams shade_params(const at::Tensor& albedo, const at::Tensor& roughness, const at::Tensor& metallic,
                         const at::Tensor& normal, const c10::optional<at::Tensor>& view,
                         const c10::optional<at::Tensor>& position, const c10::optional<at::Tensor>& mask,
                         const at::Tensor& directional_direction, const at::Tensor& directional_radiance,
                         const at::Tensor& point_position, const at::Tensor& point_intensity,
                         at::TensorList env_texels, at::TensorList env_marginal, at::TensorList env_conditional,
                         at::ArrayRef<double> env_rotation, at::IntArrayRef env_samples, at::IntArrayRef env_seeds,
                         int64_t brdf, double tan_half_fov_x, double tan_half_fov_y) {
  check_tensor(albedo, "albedo", at::kFloat, 4);
  TORCH_CHECK(albedo.size(3) == 3, "intrinsix: albedo must be [B, H, W, 3], got ", albedo.sizes());
  TORCH_CHECK(albedo.numel() / 3 < (int64_t(1) << 32), "intrinsix: shade handles at most 2^32 pixels per call");
  shade_check_map(roughness, "roughness", albedo, 1);
  shade_check_map(metallic, "metallic", albedo, 1);
  shade_check_map(normal, "normal", albedo, 3);
  TORCH_CHECK(brdf == shade_math::kBrdfDisney || brdf == shade_math::kBrdfGgx, "intrinsix: brdf code must be 0 or 1");
  ShadeParams p{};
  p.albedo = albedo.data_ptr<float>();
  p.roughness = roughness.data_ptr<float>();
  p.metallic = metallic.data_ptr<float>();
  p.normal = normal.data_ptr<float>();
  p.view = shade_optional_map(view, "view", albedo, 3);
  p.position = shade_optional_map(position, "position", albedo, 3);
  p.mask = shade_optional_map(mask, "mask", albedo, 1);
  p.batch = int(albedo.size(0));
  p.height = int(albedo.size(1));
  p.width = int(albedo.size(2));
  p.tan_half_fov_x = float(tan_half_fov_x);
  p.tan_half_fov_y = float(tan_half_fov_y);
  p.brdf = int(brdf);

  p.num_directional = int(directional_direction.dim() == 3 ? directional_direction.size(1) : -1);
  p.directional_shared = shade_check_lights(directional_direction, "directional_direction", albedo, p.num_directional);
  TORCH_CHECK(shade_check_lights(directional_radiance, "directional_radiance", albedo, p.num_directional) ==
                  p.directional_shared,
              "intrinsix: directional_direction and directional_radiance must have the same batch");
  p.directional_direction = directional_direction.data_ptr<float>();
  p.directional_radiance = directional_radiance.data_ptr<float>();
  p.num_point = int(point_position.dim() == 3 ? point_position.size(1) : -1);
  p.point_shared = shade_check_lights(point_position, "point_position", albedo, p.num_point);
  TORCH_CHECK(shade_check_lights(point_intensity, "point_intensity", albedo, p.num_point) == p.point_shared,
              "intrinsix: point_position and point_intensity must have the same batch");
  TORCH_CHECK(p.num_point == 0 || position.has_value(), "intrinsix: point lights need the position map");
  p.point_position = point_position.data_ptr<float>();
  p.point_intensity = point_intensity.data_ptr<float>();

  const int64_t num_env = int64_t(env_texels.size());
  TORCH_CHECK(num_env <= kShadeMaxEnvMaps, "intrinsix: at most ", kShadeMaxEnvMaps, " environment maps, got ", num_env);
  TORCH_CHECK(int64_t(env_marginal.size()) == num_env && int64_t(env_conditional.size()) == num_env &&
                  int64_t(env_rotation.size()) == 9 * num_env && int64_t(env_samples.size()) == num_env &&
                  int64_t(env_seeds.size()) == num_env,
              "intrinsix: every environment map needs texels, marginal, conditional, 9 rotation entries, "
              "samples and a seed");
  p.num_env_maps = int(num_env);
  for (int64_t k = 0; k < num_env; ++k) {
    const at::Tensor& texels = env_texels[k];
    check_tensor(texels, "env_texels", at::kFloat, 3);
    check_tensor(env_marginal[k], "env_marginal", at::kFloat, 1);
    check_tensor(env_conditional[k], "env_conditional", at::kFloat, 2);
    check_same_device(texels, albedo, "env_texels", "albedo");
    check_same_device(env_marginal[k], albedo, "env_marginal", "albedo");
    check_same_device(env_conditional[k], albedo, "env_conditional", "albedo");
    const int64_t he = texels.size(0), we = texels.size(1);
    TORCH_CHECK(he >= 1 && we >= 1 && texels.size(2) == 4 && env_marginal[k].size(0) == he &&
                    env_conditional[k].size(0) == he && env_conditional[k].size(1) == we,
                "intrinsix: environment map ", k, " needs texels [He, We, 4], marginal [He], conditional [He, We]");
    TORCH_CHECK(env_samples[k] >= 1 && env_samples[k] <= (1 << 24), "intrinsix: environment samples must be in [1, 2^24]");
    TORCH_CHECK(env_seeds[k] >= 0 && env_seeds[k] < (int64_t(1) << 32), "intrinsix: environment seed must be in [0, 2^32)");
    ShadeEnvMap& e = p.env_maps[k];
    e.texels = texels.data_ptr<float>();
    e.marginal = env_marginal[k].data_ptr<float>();
    e.conditional = env_conditional[k].data_ptr<float>();
    e.height = int(he);
    e.width = int(we);
    e.samples = int(env_samples[k]);
    e.seed = uint32_t(env_seeds[k]);
    for (int i = 0; i < 9; ++i) e.rotation[i] = float(env_rotation[9 * k + i]);
  }
  return p;
}

std::tuple<at::Tensor, at::Tensor> shade_fwd(
    const at::Tensor& albedo, const at::Tensor& roughness, const at::Tensor& metallic, const at::Tensor& normal,
    const c10::optional<at::Tensor>& view, const c10::optional<at::Tensor>& position,
    const c10::optional<at::Tensor>& mask, const at::Tensor& directional_direction,
    const at::Tensor& directional_radiance, const at::Tensor& point_position, const at::Tensor& point_intensity,
    at::TensorList env_texels, at::TensorList env_marginal, at::TensorList env_conditional,
    at::ArrayRef<double> env_rotation, at::IntArrayRef env_samples, at::IntArrayRef env_seeds, int64_t brdf,
    double tan_half_fov_x, double tan_half_fov_y) {
  ShadeParams p = shade_params(albedo, roughness, metallic, normal, view, position, mask, directional_direction,
                               directional_radiance, point_position, point_intensity, env_texels, env_marginal,
                               env_conditional, env_rotation, env_samples, env_seeds, brdf, tan_half_fov_x,
                               tan_half_fov_y);
  at::Tensor diffuse = at::empty_like(albedo);
  at::Tensor specular = at::empty_like(albedo);
  p.diffuse = diffuse.data_ptr<float>();
  p.specular = specular.data_ptr<float>();
  DeviceScope scope(albedo);
  if (scope.is_cuda) shade_fwd_cuda(p, scope.stream);
  else shade_fwd_cpu(p);
  return {diffuse, specular};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> shade_bwd(
    const at::Tensor& grad_diffuse, const at::Tensor& grad_specular, const at::Tensor& albedo,
    const at::Tensor& roughness, const at::Tensor& metallic, const at::Tensor& normal,
    const c10::optional<at::Tensor>& view, const c10::optional<at::Tensor>& position,
    const c10::optional<at::Tensor>& mask, const at::Tensor& directional_direction,
    const at::Tensor& directional_radiance, const at::Tensor& point_position, const at::Tensor& point_intensity,
    at::TensorList env_texels, at::TensorList env_marginal, at::TensorList env_conditional,
    at::ArrayRef<double> env_rotation, at::IntArrayRef env_samples, at::IntArrayRef env_seeds, int64_t brdf,
    double tan_half_fov_x, double tan_half_fov_y) {
  ShadeParams p = shade_params(albedo, roughness, metallic, normal, view, position, mask, directional_direction,
                               directional_radiance, point_position, point_intensity, env_texels, env_marginal,
                               env_conditional, env_rotation, env_samples, env_seeds, brdf, tan_half_fov_x,
                               tan_half_fov_y);
  shade_check_map(grad_diffuse, "grad_diffuse", albedo, 3);
  shade_check_map(grad_specular, "grad_specular", albedo, 3);
  at::Tensor grad_albedo = at::empty_like(albedo);
  at::Tensor grad_roughness = at::empty_like(roughness);
  at::Tensor grad_metallic = at::empty_like(metallic);
  at::Tensor grad_normal = at::empty_like(normal);
  p.grad_diffuse = grad_diffuse.data_ptr<float>();
  p.grad_specular = grad_specular.data_ptr<float>();
  p.grad_albedo = grad_albedo.data_ptr<float>();
  p.grad_roughness = grad_roughness.data_ptr<float>();
  p.grad_metallic = grad_metallic.data_ptr<float>();
  p.grad_normal = grad_normal.data_ptr<float>();
  DeviceScope scope(albedo);
  if (scope.is_cuda) shade_bwd_cuda(p, scope.stream);
  else shade_bwd_cpu(p);
  return {grad_albedo, grad_roughness, grad_metallic, grad_normal};
}

// random_uniform of common.h for given pixel and sample indices (CPU): lets the tests check that
// the twin's hash (kernels/reference/random.py) is bit-identical.
at::Tensor shade_random_uniform(int64_t seed, const at::Tensor& pixel, const at::Tensor& sample, int64_t dim) {
  check_tensor(pixel, "pixel", at::kLong, pixel.dim());
  check_tensor(sample, "sample", at::kLong, sample.dim());
  TORCH_CHECK(pixel.is_cpu() && sample.is_cpu(), "intrinsix: shade_random_uniform runs on the CPU");
  TORCH_CHECK(pixel.sizes() == sample.sizes(), "intrinsix: pixel and sample must have one shape");
  TORCH_CHECK(dim >= 0 && dim < 16, "intrinsix: dim must be in [0, 16), got ", dim);
  at::Tensor out = at::empty(pixel.sizes(), pixel.options().dtype(at::kFloat));
  const int64_t* px = pixel.data_ptr<int64_t>();
  const int64_t* sm = sample.data_ptr<int64_t>();
  float* o = out.data_ptr<float>();
  for (int64_t i = 0; i < pixel.numel(); ++i) {
    o[i] = random_uniform(uint32_t(seed), uint32_t(px[i]), uint32_t(sm[i]), uint32_t(dim));
  }
  return out;
}

// ---- sample_lights (section owned by sample_lights) ----------------------------------------------
// Pick weights (1 - roughness, clamped to >= 0; masked pixels 0; an image whose weights are all 0
// falls back to uniform over its valid pixels), their per-image inclusive prefix sum in float64,
// then one kernel thread per light for the search and the mirror direction.
// Returns (direction [B, N, 3] float32, pixel [B, N, 2] int64).
std::tuple<at::Tensor, at::Tensor> sample_lights(const at::Tensor& roughness, const at::Tensor& normal,
                                                 const c10::optional<at::Tensor>& view,
                                                 const c10::optional<at::Tensor>& mask, const at::Tensor& u,
                                                 double tan_half_fov_x, double tan_half_fov_y) {
  check_tensor(roughness, "roughness", at::kFloat, 4);
  check_tensor(normal, "normal", at::kFloat, 4);
  check_tensor(u, "u", at::kFloat, 2);
  check_same_device(roughness, normal, "roughness", "normal");
  check_same_device(roughness, u, "roughness", "u");
  const int64_t batch = roughness.size(0), height = roughness.size(1), width = roughness.size(2);
  TORCH_CHECK(roughness.size(3) == 1, "intrinsix: roughness must be [B, H, W, 1], got ", roughness.sizes());
  TORCH_CHECK(normal.sizes() == at::IntArrayRef({batch, height, width, 3}),
              "intrinsix: normal must be [B, H, W, 3] like roughness, got ", normal.sizes());
  TORCH_CHECK(u.size(0) == batch, "intrinsix: u must be [B, N] with the batch of roughness, got ", u.sizes());
  TORCH_CHECK(height * width >= 1, "intrinsix: sample_lights needs at least one pixel");
  const int64_t num_pixels = height * width;
  at::Tensor weight = at::rsub(roughness.reshape({batch, num_pixels}), 1).clamp_min(0);
  at::Tensor valid;
  if (mask.has_value()) {
    check_tensor(*mask, "mask", at::kBool, 3);
    check_same_device(roughness, *mask, "roughness", "mask");
    TORCH_CHECK(mask->sizes() == at::IntArrayRef({batch, height, width}),
                "intrinsix: mask must be [B, H, W] like roughness, got ", mask->sizes());
    valid = mask->reshape({batch, num_pixels});
    weight = at::where(valid, weight, at::zeros_like(weight));
  } else {
    valid = at::ones_like(weight, weight.options().dtype(at::kBool));
  }
  const at::Tensor all_zero = weight.amax(1, /*keepdim=*/true).eq(0);
  weight = at::where(all_zero, valid.to(at::kFloat), weight);
  const at::Tensor cdf = at::cumsum(weight.to(at::kDouble), 1).contiguous();

  at::Tensor direction = at::empty({batch, u.size(1), 3}, roughness.options());
  at::Tensor pixel = at::empty({batch, u.size(1), 2}, roughness.options().dtype(at::kLong));
  SampleLightsParams p{};
  p.cdf = cdf.data_ptr<double>();
  p.u = u.data_ptr<float>();
  p.normal = normal.data_ptr<float>();
  if (view.has_value()) {
    check_tensor(*view, "view", at::kFloat, 4);
    check_same_device(roughness, *view, "roughness", "view");
    TORCH_CHECK(view->sizes() == normal.sizes(), "intrinsix: view must be [B, H, W, 3] like normal, got ",
                view->sizes());
    p.view = view->data_ptr<float>();
  }
  p.direction = direction.data_ptr<float>();
  p.pixel = pixel.data_ptr<int64_t>();
  p.batch = int(batch);
  p.num_lights = int(u.size(1));
  p.height = int(height);
  p.width = int(width);
  p.tan_half_fov_x = float(tan_half_fov_x);
  p.tan_half_fov_y = float(tan_half_fov_y);
  DeviceScope scope(roughness);
  if (scope.is_cuda) sample_lights_cuda(p, scope.stream);
  else sample_lights_cpu(p);
  return {direction, pixel};
}

}  // namespace
}  // namespace intrinsix

TORCH_LIBRARY(intrinsix, m) {
  m.def("has_cuda() -> bool", &intrinsix::has_cuda);
  m.def("interpolate_fwd(Tensor attr, Tensor rast, Tensor tri) -> Tensor");
  m.def("interpolate_bwd(Tensor grad_out, Tensor attr, Tensor rast, Tensor tri) -> Tensor");
  m.def("rasterize_fwd(Tensor pos, Tensor tri, int batch, int height, int width) -> Tensor");
  m.def("texture_fwd(Tensor tex, Tensor uv, Tensor? uv_da, Tensor? mip_level_bias, int[] level_heights, "
        "int[] level_widths, str filter, str wrap) -> Tensor");
  m.def("texture_bwd(Tensor grad_out, Tensor tex, Tensor uv, Tensor? uv_da, Tensor? mip_level_bias, "
        "int[] level_heights, int[] level_widths, str filter, str wrap, bool need_tex, bool need_uv) "
        "-> (Tensor, Tensor)");
  m.def("shade_fwd(Tensor albedo, Tensor roughness, Tensor metallic, Tensor normal, Tensor? view, "
        "Tensor? position, Tensor? mask, Tensor directional_direction, Tensor directional_radiance, "
        "Tensor point_position, Tensor point_intensity, Tensor[] env_texels, Tensor[] env_marginal, "
        "Tensor[] env_conditional, float[] env_rotation, int[] env_samples, int[] env_seeds, int brdf, "
        "float tan_half_fov_x, float tan_half_fov_y) -> (Tensor, Tensor)");
  m.def("shade_bwd(Tensor grad_diffuse, Tensor grad_specular, Tensor albedo, Tensor roughness, Tensor metallic, "
        "Tensor normal, Tensor? view, Tensor? position, Tensor? mask, Tensor directional_direction, "
        "Tensor directional_radiance, Tensor point_position, Tensor point_intensity, Tensor[] env_texels, "
        "Tensor[] env_marginal, Tensor[] env_conditional, float[] env_rotation, int[] env_samples, "
        "int[] env_seeds, int brdf, float tan_half_fov_x, float tan_half_fov_y) -> (Tensor, Tensor, Tensor, Tensor)");
  m.def("shade_random_uniform(int seed, Tensor pixel, Tensor sample, int dim) -> Tensor");
  m.def("sample_lights(Tensor roughness, Tensor normal, Tensor? view, Tensor? mask, Tensor u, "
        "float tan_half_fov_x, float tan_half_fov_y) -> (Tensor, Tensor)");
}

// The same wrappers serve both dispatch keys; each picks its launcher by device.
#define INTRINSIX_REGISTER_IMPLS(m)                         \
  m.impl("interpolate_fwd", &intrinsix::interpolate_fwd);   \
  m.impl("interpolate_bwd", &intrinsix::interpolate_bwd);   \
  m.impl("rasterize_fwd", &intrinsix::rasterize_fwd);       \
  m.impl("texture_fwd", &intrinsix::texture_fwd);           \
  m.impl("texture_bwd", &intrinsix::texture_bwd);           \
  m.impl("shade_fwd", &intrinsix::shade_fwd);               \
  m.impl("shade_bwd", &intrinsix::shade_bwd);               \
  m.impl("shade_random_uniform", &intrinsix::shade_random_uniform); \
  m.impl("sample_lights", &intrinsix::sample_lights);

TORCH_LIBRARY_IMPL(intrinsix, CPU, m) { INTRINSIX_REGISTER_IMPLS(m) }

#ifdef INTRINSIX_WITH_CUDA
TORCH_LIBRARY_IMPL(intrinsix, CUDA, m) { INTRINSIX_REGISTER_IMPLS(m) }
#endif
