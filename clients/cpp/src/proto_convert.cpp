// Conversions between protocol messages and public types (see proto_convert.h).
#include "proto_convert.h"

namespace intrinsix {
namespace {

int64_t unix_ms(const google::protobuf::Timestamp& t) { return t.seconds() * 1000 + t.nanos() / 1000000; }

template <typename Params>
void fill_common(const CommonJobOptions& o, Params* p) {
  p->set_prompt(o.prompt);
  for (const std::string& prompt : o.branch_prompts) p->add_branch_prompts(prompt);
  p->set_negative_prompt(o.negative_prompt);
  if (o.seed) p->set_seed(*o.seed);
  if (o.steps) p->set_steps(*o.steps);
  if (o.guidance) p->set_guidance(*o.guidance);
  if (o.true_cfg_scale) p->set_true_cfg_scale(*o.true_cfg_scale);
  p->set_profile(static_cast<v1::ExportProfile>(o.profile));
  for (FileFormat format : o.formats) p->add_formats(static_cast<v1::FileFormat>(format));
  p->set_material_name(o.material_name);
  p->set_preview_every(o.preview_every);
  if (o.preview_size) p->set_preview_size(*o.preview_size);
}

}  // namespace

TextureFileInfo from_proto(const v1::TextureHeader& h) {
  TextureFileInfo info;
  info.file_index = h.file_index();
  info.file_count = h.file_count();
  info.name = h.name();
  info.semantic = static_cast<TextureSemantic>(h.semantic());
  info.color_space = static_cast<ColorSpace>(h.color_space());
  info.format = static_cast<FileFormat>(h.format());
  info.width = h.width();
  info.height = h.height();
  info.channels = h.channels();
  info.normal_convention = static_cast<NormalConvention>(h.normal_convention());
  info.packing = h.packing();
  info.tiling = h.tiling();
  info.derived = h.derived();
  info.byte_size = h.byte_size();
  info.sha256 = h.sha256();
  info.result_offset = h.result_offset();
  return info;
}

JobAcceptedEvent from_proto(const std::string& job_id, const std::string& client_request_id,
                            const v1::JobAccepted& a) {
  JobAcceptedEvent event;
  event.job_id = job_id;
  event.client_request_id = client_request_id;
  event.queue_position = a.queue_position();
  event.state = static_cast<JobState>(a.state());
  event.reattached = a.reattached();
  event.seed = a.seed();
  event.resume_offset = a.resume_offset();
  return event;
}

JobProgressEvent from_proto(const std::string& job_id, const v1::JobProgress& p) {
  JobProgressEvent event;
  event.job_id = job_id;
  event.stage = p.stage();
  event.step = p.step();
  event.total = p.total();
  event.overall = p.overall();
  event.queue_position = p.queue_position();
  return event;
}

JobPreviewEvent from_proto(const std::string& job_id, const v1::JobPreview& p) {
  JobPreviewEvent event;
  event.job_id = job_id;
  event.step = p.step();
  event.total = p.total();
  for (const v1::PreviewImage& image : p.images()) {
    PreviewImage out;
    out.branch = static_cast<Branch>(image.branch());
    out.png.assign(image.png().begin(), image.png().end());
    out.width = image.width();
    out.height = image.height();
    event.images.push_back(std::move(out));
  }
  return event;
}

JobErrorEvent from_proto(const std::string& job_id, const v1::JobFailed& f) {
  JobErrorEvent event;
  event.job_id = job_id;
  event.state = static_cast<JobState>(f.state());
  const int code = f.error().code();
  event.error.code = code > 0 && code <= 16 ? static_cast<StatusCode>(code) : StatusCode::kUnknown;
  event.error.message = "job " + job_id + " " + to_string(event.state) + ": " + f.error().message();
  return event;
}

ServerInfo from_proto(const v1::GetServerInfoResponse& r) {
  ServerInfo info;
  info.server_version = r.server_version();
  info.api_version = r.api_version();
  info.ready = r.ready();
  info.auth_required = r.auth_required();
  const v1::ServerLimits& l = r.limits();
  info.limits.max_prompt_chars = l.max_prompt_chars();
  info.limits.min_size = l.min_size();
  info.limits.max_size = l.max_size();
  info.limits.size_multiple = l.size_multiple();
  info.limits.min_steps = l.min_steps();
  info.limits.max_steps = l.max_steps();
  info.limits.max_guidance = l.max_guidance();
  info.limits.max_preview_size = l.max_preview_size();
  info.limits.max_client_request_id_chars = l.max_client_request_id_chars();
  info.limits.max_material_name_chars = l.max_material_name_chars();
  info.limits.max_mesh_bytes = l.max_mesh_bytes();
  info.limits.max_vertices = l.max_vertices();
  info.limits.max_triangles = l.max_triangles();
  info.queue_capacity = r.queue_capacity();
  info.queued = r.queued();
  info.running = r.running();
  info.devices.assign(r.devices().begin(), r.devices().end());
  for (int profile : r.profiles()) info.profiles.push_back(static_cast<ExportProfile>(profile));
  info.chunk_size = r.chunk_size();
  info.retention_seconds = r.retention_seconds();
  info.room_texturing_available = r.room_texturing_available();
  return info;
}

JobInfo from_proto(const v1::JobInfo& j) {
  JobInfo info;
  info.job_id = j.job_id();
  info.kind = static_cast<JobKind>(j.kind());
  info.state = static_cast<JobState>(j.state());
  info.client_request_id = j.client_request_id();
  info.progress = j.progress();
  info.queue_position = j.queue_position();
  if (j.has_error() && j.error().code() != 0) {
    const int code = j.error().code();
    info.error.code = code > 0 && code <= 16 ? static_cast<StatusCode>(code) : StatusCode::kUnknown;
    info.error.message = j.error().message();
  }
  for (const v1::TextureHeader& header : j.files()) info.files.push_back(from_proto(header));
  info.total_bytes = j.total_bytes();
  info.device = j.device();
  if (j.has_created_at()) info.created_at_unix_ms = unix_ms(j.created_at());
  if (j.has_finished_at()) info.finished_at_unix_ms = unix_ms(j.finished_at());
  return info;
}

void common_to_proto(const CommonJobOptions& options, v1::GenerateParams* params) { fill_common(options, params); }
void common_to_proto(const CommonJobOptions& options, v1::RoomParams* params) { fill_common(options, params); }

v1::GenerateRequest to_proto(const GenerateOptions& o, const std::string& client_request_id) {
  v1::GenerateRequest request;
  v1::GenerateParams* p = request.mutable_params();
  fill_common(o, p);
  if (o.width) p->set_width(*o.width);
  if (o.height) p->set_height(*o.height);
  p->set_tileable(o.tileable);
  request.set_client_request_id(client_request_id);
  return request;
}

Error status_error(const grpc::Status& status, const std::string& what, const std::string& address) {
  Error error;
  const int code = int(status.error_code());
  error.code = code > 0 && code <= 16 ? static_cast<StatusCode>(code) : StatusCode::kUnknown;
  const std::string detail = status.error_message().empty() ? std::string() : ": " + status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      error.message = what + ": the server at " + address + " is unavailable (not running, unreachable or "
                      "shutting down)" + detail;
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      error.message = what + ": the server at " + address + " requires an access token; set the token in the "
                      "connection settings" + detail;
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      error.message = what + ": the server at " + address + " does not accept this access token" + detail;
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      error.message = what + ": no answer from the server at " + address + " before the deadline" + detail;
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      error.message = what + ": the server's queue is full, try again later" + detail;
      break;
    case grpc::StatusCode::UNIMPLEMENTED:
      error.message = what + ": the server at " + address + " does not offer this" + detail;
      break;
    default:
      error.message = what + detail;
      break;
  }
  return error;
}

}  // namespace intrinsix
