// IntrinsiX C++ client: plain value types of the public API.
//
// Nothing here depends on gRPC or protobuf: engine plugins include these headers without the
// gRPC include paths (TurboLink's rule: no gRPC/protobuf types in public headers). The enums
// mirror proto/intrinsix/v1 value for value, so a number seen in a log means the same thing on
// both sides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace intrinsix {

// gRPC status codes (google.rpc.Code), the same numbers. Errors before a job exists (bad input,
// auth, full queue, server unreachable) and errors of a job (cancelled, failed, interrupted) both
// use these codes.
enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,           // the job was cancelled (CancelJob) or the caller stopped watching it
  kUnknown = 2,
  kInvalidArgument = 3,     // a parameter is outside the server's limits; the message names it
  kDeadlineExceeded = 4,    // the request's timeout passed
  kNotFound = 5,            // unknown, expired or foreign job id
  kAlreadyExists = 6,       // a file in the output folder has other content (overwrite = false)
  kPermissionDenied = 7,    // the server does not know the token
  kResourceExhausted = 8,   // the server's queue is full
  kFailedPrecondition = 9,  // local problem: output folder unusable, client shut down
  kAborted = 10,            // the server restarted before the job finished (INTERRUPTED)
  kOutOfRange = 11,
  kUnimplemented = 12,      // e.g. room texturing on a server without a room texturer
  kInternal = 13,           // a server fault
  kUnavailable = 14,        // server not reachable, shutting down, or its model failed to load
  kDataLoss = 15,           // a received file failed its size or SHA-256 check, or the stream broke the protocol
  kUnauthenticated = 16,    // the server needs a token and none was given
};

// "INVALID_ARGUMENT" for StatusCode::kInvalidArgument; "CODE_<n>" for numbers outside the enum.
const char* status_code_name(StatusCode code);

// An error value: `code` plus a human-readable message that says what failed and why. Messages
// never contain the access token.
struct Error {
  StatusCode code = StatusCode::kOk;
  std::string message;

  bool ok() const { return code == StatusCode::kOk; }
  // "UNAVAILABLE: server 127.0.0.1:50051 is not reachable (...)"
  std::string to_string() const;
};

// A value or an error (the value is meaningful only when error.ok()).
template <typename T>
struct Result {
  Error error;
  T value{};

  bool ok() const { return error.ok(); }
};

enum class ExportProfile : int {
  kUnspecified = 0,
  kUnreal = 1,  // T_<Name>_BC.png, T_<Name>_N.png (DirectX), T_<Name>_ORM.png, T_<Name>_H.png
  kGodot = 2,   // <Name>_albedo.png, <Name>_normal.png (OpenGL), <Name>_orm.png, <Name>_height.exr
  kGltf = 3,
  kUnity = 4,
  kRaw = 5,
};

enum class TextureSemantic : int {
  kUnspecified = 0,
  kBaseColor = 1,
  kRoughness = 2,
  kMetallic = 3,
  kNormal = 4,
  kHeight = 5,
  kAmbientOcclusion = 6,
  kOrm = 7,                 // packed occlusion / roughness / metallic (see TextureFileInfo::packing)
  kMetallicSmoothness = 8,  // Unity: metallic in R, smoothness in A
  kMaterial = 9,            // the generator's raw material image: R roughness, G metallic
  kPreview = 10,
  kModel = 11,              // glTF / GLB
  kManifest = 12,           // material.json
};

enum class ColorSpace : int {
  kUnspecified = 0,
  kSrgb = 1,    // sRGB-encoded values: import as a colour texture
  kLinear = 2,  // linear data: import with sRGB off
  kNone = 3,    // not an image
};

enum class FileFormat : int {
  kUnspecified = 0,
  kPng8 = 1,
  kPng16 = 2,
  kExrHalf = 3,
  kExrFloat = 4,
  kGlb = 5,
  kGltf = 6,
  kJson = 7,
};

// Green-channel convention of a tangent-space normal map.
enum class NormalConvention : int {
  kUnspecified = 0,  // not a normal map
  kOpenGl = 1,       // +Y up: Godot, glTF, Unity, Blender
  kDirectX = 2,      // +Y down: Unreal
};

enum class JobState : int {
  kUnspecified = 0,
  kQueued = 1,
  kRunning = 2,
  kSucceeded = 3,
  kFailed = 4,
  kCancelled = 5,
  kInterrupted = 6,  // the server stopped before the job finished; submit it again
};

enum class JobKind : int { kUnspecified = 0, kGenerate = 1, kTextureRoom = 2 };

// The generator's three outputs, as sent in previews.
enum class Branch : int { kUnspecified = 0, kAlbedo = 1, kMaterial = 2, kNormal = 3 };

// Lower-case names used in logs, UI and settings: "unreal", "base_color", "srgb", "png16",
// "opengl", "running", "albedo". Unknown numbers give "unspecified".
const char* to_string(ExportProfile value);
const char* to_string(TextureSemantic value);
const char* to_string(ColorSpace value);
const char* to_string(FileFormat value);
const char* to_string(NormalConvention value);
const char* to_string(JobState value);
const char* to_string(Branch value);
// "unreal" / "Unreal" -> kUnreal; anything else -> std::nullopt.
std::optional<ExportProfile> parse_export_profile(const std::string& name);

// What the server says about one result file (TextureHeader without the stream position).
struct TextureFileInfo {
  uint32_t file_index = 0;  // 0-based position in the result
  uint32_t file_count = 0;  // files in the result, manifest included
  std::string name;         // plain file name, e.g. "T_RedBrick_BC.png" (checked by is_safe_file_name)
  TextureSemantic semantic = TextureSemantic::kUnspecified;
  ColorSpace color_space = ColorSpace::kUnspecified;
  FileFormat format = FileFormat::kUnspecified;
  uint32_t width = 0;  // pixels; 0 for non-image files
  uint32_t height = 0;
  uint32_t channels = 0;  // 1..4; 0 for non-image files
  NormalConvention normal_convention = NormalConvention::kUnspecified;
  std::string packing;  // e.g. "R=ambient_occlusion,G=roughness,B=metallic"; empty if not packed
  bool tiling = false;
  bool derived = false;  // computed from other maps (height from normals, AO from height)
  uint64_t byte_size = 0;
  std::string sha256;          // 64 lowercase hex digits
  uint64_t result_offset = 0;  // first byte of this file in the job's result stream
};

// ---- events of a job, in the order a job delivers them --------------------------------------

// First event of every stream (again, with reattached = true, after an automatic re-attach).
struct JobAcceptedEvent {
  std::string job_id;  // 32 lowercase hex digits
  std::string client_request_id;
  uint32_t queue_position = 0;  // jobs ahead of this one
  JobState state = JobState::kQueued;
  bool reattached = false;
  uint64_t seed = 0;           // the seed the job uses (resolved by the server if not given)
  uint64_t resume_offset = 0;  // result-stream byte from which this stream delivers data
};

struct JobProgressEvent {
  std::string job_id;
  std::string stage;  // "queued", "loading", "denoising", "decoding", "exporting", "storing", ...
  uint32_t step = 0;  // 1..total within the stage; 0/0 when the stage has no steps
  uint32_t total = 0;
  float overall = 0.0f;  // 0..1, never decreases within a job (also across re-attaches)
  uint32_t queue_position = 0;
};

struct PreviewImage {
  Branch branch = Branch::kUnspecified;
  std::vector<uint8_t> png;  // PNG, 8-bit RGB; sRGB for albedo, stored (linear) values otherwise
  uint32_t width = 0;
  uint32_t height = 0;
};

struct JobPreviewEvent {
  std::string job_id;
  uint32_t step = 0;
  uint32_t total = 0;
  std::vector<PreviewImage> images;  // one per branch
};

// One result file was received completely, its size and SHA-256 verified, and written.
struct TextureFileEvent {
  std::string job_id;
  TextureFileInfo info;
  std::string path;  // where it was written: <output_dir>/<info.name>
};

// Last event of a successful job.
struct JobDoneEvent {
  std::string job_id;
  std::string material_name;
  ExportProfile profile = ExportProfile::kUnspecified;
  std::string manifest_json;  // content of material.json (also written as a file)
  std::string output_dir;
  std::vector<TextureFileInfo> files;  // every file of the result, in order, manifest last
  std::vector<std::string> paths;      // the written file for each entry of `files`
  uint64_t total_bytes = 0;
  uint32_t reattach_count = 0;  // streams re-opened after drops (0 = one unbroken stream)
};

// Last event of a job that did not succeed, or of a request that never became a job.
struct JobErrorEvent {
  std::string job_id;  // empty if the server never accepted the request
  JobState state = JobState::kUnspecified;  // kFailed / kCancelled / kInterrupted for server-side endings
  Error error;
};

// ---- requests ---------------------------------------------------------------------------------

// Parameters shared by Generate and TextureRoom. Limits come from the server (ServerInfo::limits);
// a value outside them ends the job with kInvalidArgument and a message naming the field.
struct CommonJobOptions {
  std::string prompt;                       // required unless branch_prompts is set
  std::vector<std::string> branch_prompts;  // empty, or exactly 3: albedo, material, normal
  std::string negative_prompt;
  std::optional<uint64_t> seed;   // unset = the server picks one (reported in JobAcceptedEvent)
  std::optional<uint32_t> steps;  // unset = the model's default
  std::optional<float> guidance;  // unset = the model's default
  // True classifier-free guidance, 1..max_guidance; unset or 1 = off. Above 1 it needs
  // negative_prompt and doubles the work per step.
  std::optional<float> true_cfg_scale;
  ExportProfile profile = ExportProfile::kUnspecified;  // required
  // Preferred encodings where the profile offers a choice, most preferred first; empty = the
  // profile's defaults (kPng16 = 16-bit normal maps; kGltf before kGlb = .gltf + PNGs).
  std::vector<FileFormat> formats;
  // ASCII letters, digits and '_', starting with a letter; empty = made from the prompt
  // (material_name_from_prompt in names.h gives the same name up front).
  std::string material_name;
  uint32_t preview_every = 0;       // a preview every N denoising steps; 0 = none
  std::optional<uint32_t> preview_size;  // longest preview side in pixels; unset = 128

  // Client-side settings.
  std::string client_request_id;  // echoed by the server; empty = the client makes a random one
  std::string output_dir;         // folder the result files are written into (created if missing)
  bool overwrite = false;         // replace files in output_dir that have other content
  // Bounds the whole job on the server (queue + run); 0 = no deadline.
  uint32_t timeout_ms = 0;
};

struct GenerateOptions : CommonJobOptions {
  std::optional<uint32_t> width;  // pixels, multiple of ServerInfo::limits.size_multiple
  std::optional<uint32_t> height;
  bool tileable = false;
};

// A triangle mesh as engines hold it in vertex/index buffers (UV seams already split).
struct RoomMesh {
  std::vector<float> positions;  // [vertex_count * 3] x, y, z in metres, +Y up
  std::vector<uint32_t> indices;  // [triangle_count * 3], counter-clockwise front faces
  std::vector<float> uvs;         // empty, or [vertex_count * 2] u, v to keep as the texture layout
};

struct RoomOptions : CommonJobOptions {
  std::optional<uint32_t> texture_size;  // square UV texture size in pixels
  RoomMesh mesh;
};

// Re-attach to a job by id (e.g. after the editor restarted).
struct WatchOptions {
  std::string output_dir;
  bool overwrite = false;
  bool result_only = false;  // skip progress and preview events
  // Keep result files already in output_dir whose size and SHA-256 match the job's record, and
  // ask the server only for the rest (a SUCCEEDED job; otherwise everything is fetched).
  bool resume_from_disk = true;
};

// ---- server information -----------------------------------------------------------------------

enum class ServingStatus : int { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

struct ServerLimits {
  uint32_t max_prompt_chars = 0;
  uint32_t min_size = 0;
  uint32_t max_size = 0;
  uint32_t size_multiple = 0;
  uint32_t min_steps = 0;
  uint32_t max_steps = 0;
  float max_guidance = 0.0f;
  uint32_t max_preview_size = 0;
  uint32_t max_client_request_id_chars = 0;
  uint32_t max_material_name_chars = 0;
  uint64_t max_mesh_bytes = 0;
  uint32_t max_vertices = 0;
  uint32_t max_triangles = 0;
};

struct ServerInfo {
  std::string server_version;
  std::string api_version;  // "intrinsix.v1"
  bool ready = false;
  bool auth_required = false;
  ServerLimits limits;
  uint32_t queue_capacity = 0;
  uint32_t queued = 0;
  uint32_t running = 0;
  std::vector<std::string> devices;
  std::vector<ExportProfile> profiles;
  uint32_t chunk_size = 0;
  uint64_t retention_seconds = 0;
  bool room_texturing_available = false;
};

struct JobInfo {
  std::string job_id;
  JobKind kind = JobKind::kUnspecified;
  JobState state = JobState::kUnspecified;
  std::string client_request_id;
  float progress = 0.0f;
  uint32_t queue_position = 0;
  Error error;  // set for kFailed, kCancelled, kInterrupted
  std::vector<TextureFileInfo> files;  // kSucceeded only
  uint64_t total_bytes = 0;
  std::string device;
  int64_t created_at_unix_ms = 0;
  int64_t finished_at_unix_ms = 0;  // 0 until terminal
};

struct CancelResult {
  JobState state = JobState::kUnspecified;  // state after the request
  bool cancelled = false;  // true if the job will end CANCELLED; false if it had already ended
};

}  // namespace intrinsix
