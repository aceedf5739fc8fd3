// Names of the public enums and error formatting.
#include <cctype>

#include "intrinsix/types.h"

namespace intrinsix {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "CANCELLED";
    case StatusCode::kUnknown: return "UNKNOWN";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kAborted: return "ABORTED";
    case StatusCode::kOutOfRange: return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDataLoss: return "DATA_LOSS";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN_CODE";
}

std::string Error::to_string() const {
  if (ok()) return "OK";
  return std::string(status_code_name(code)) + ": " + message;
}

const char* to_string(ExportProfile value) {
  switch (value) {
    case ExportProfile::kUnreal: return "unreal";
    case ExportProfile::kGodot: return "godot";
    case ExportProfile::kGltf: return "gltf";
    case ExportProfile::kUnity: return "unity";
    case ExportProfile::kRaw: return "raw";
    case ExportProfile::kUnspecified: break;
  }
  return "unspecified";
}

const char* to_string(TextureSemantic value) {
  switch (value) {
    case TextureSemantic::kBaseColor: return "base_color";
    case TextureSemantic::kRoughness: return "roughness";
    case TextureSemantic::kMetallic: return "metallic";
    case TextureSemantic::kNormal: return "normal";
    case TextureSemantic::kHeight: return "height";
    case TextureSemantic::kAmbientOcclusion: return "ambient_occlusion";
    case TextureSemantic::kOrm: return "orm";
    case TextureSemantic::kMetallicSmoothness: return "metallic_smoothness";
    case TextureSemantic::kMaterial: return "material";
    case TextureSemantic::kPreview: return "preview";
    case TextureSemantic::kModel: return "model";
    case TextureSemantic::kManifest: return "manifest";
    case TextureSemantic::kUnspecified: break;
  }
  return "unspecified";
}

const char* to_string(ColorSpace value) {
  switch (value) {
    case ColorSpace::kSrgb: return "srgb";
    case ColorSpace::kLinear: return "linear";
    case ColorSpace::kNone: return "none";
    case ColorSpace::kUnspecified: break;
  }
  return "unspecified";
}

const char* to_string(FileFormat value) {
  switch (value) {
    case FileFormat::kPng8: return "png8";
    case FileFormat::kPng16: return "png16";
    case FileFormat::kExrHalf: return "exr_half";
    case FileFormat::kExrFloat: return "exr_float";
    case FileFormat::kGlb: return "glb";
    case FileFormat::kGltf: return "gltf";
    case FileFormat::kJson: return "json";
    case FileFormat::kUnspecified: break;
  }
  return "unspecified";
}

const char* to_string(NormalConvention value) {
  switch (value) {
    case NormalConvention::kOpenGl: return "opengl";
    case NormalConvention::kDirectX: return "directx";
    case NormalConvention::kUnspecified: break;
  }
  return "unspecified";
}

const char* to_string(JobState value) {
  switch (value) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
    case JobState::kInterrupted: return "interrupted";
    case JobState::kUnspecified: break;
  }
  return "unspecified";
}

const char* to_string(Branch value) {
  switch (value) {
    case Branch::kAlbedo: return "albedo";
    case Branch::kMaterial: return "material";
    case Branch::kNormal: return "normal";
    case Branch::kUnspecified: break;
  }
  return "unspecified";
}

std::optional<ExportProfile> parse_export_profile(const std::string& name) {
  std::string lower;
  for (char c : name) lower += char(std::tolower(static_cast<unsigned char>(c)));
  for (ExportProfile profile : {ExportProfile::kUnreal, ExportProfile::kGodot, ExportProfile::kGltf,
                                ExportProfile::kUnity, ExportProfile::kRaw}) {
    if (lower == to_string(profile)) return profile;
  }
  return std::nullopt;
}

}  // namespace intrinsix
