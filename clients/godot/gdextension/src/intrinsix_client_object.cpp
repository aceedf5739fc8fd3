#include "intrinsix_client_object.h"

#include <cstring>
#include <string>

#include <godot_cpp/core/class_db.hpp>
#include <godot_cpp/variant/packed_byte_array.hpp>
#include <godot_cpp/variant/utility_functions.hpp>

#include "intrinsix/engine_import.h"
#include "intrinsix/names.h"

using godot::Array;
using godot::D_METHOD;
using godot::Dictionary;
using godot::MethodInfo;
using godot::PackedByteArray;
using godot::PropertyInfo;
using godot::String;
using godot::Variant;

namespace intrinsix_godot {
namespace {

std::string to_std(const String& text) { return std::string(text.utf8().get_data()); }
String to_godot(const std::string& text) { return String::utf8(text.c_str(), int64_t(text.size())); }

template <typename Enum>
Enum enum_by_name(const String& name, std::initializer_list<Enum> values, Enum fallback) {
  const std::string wanted = to_std(name);
  for (Enum value : values) {
    if (wanted == intrinsix::to_string(value)) return value;
  }
  return fallback;
}

Dictionary file_to_dictionary(const intrinsix::TextureFileInfo& info, const std::string& path) {
  Dictionary d;
  d["name"] = to_godot(info.name);
  d["path"] = to_godot(path);
  d["file_index"] = int64_t(info.file_index);
  d["file_count"] = int64_t(info.file_count);
  d["semantic"] = String(intrinsix::to_string(info.semantic));
  d["color_space"] = String(intrinsix::to_string(info.color_space));
  d["format"] = String(intrinsix::to_string(info.format));
  d["width"] = int64_t(info.width);
  d["height"] = int64_t(info.height);
  d["channels"] = int64_t(info.channels);
  d["normal_convention"] = String(intrinsix::to_string(info.normal_convention));
  d["packing"] = to_godot(info.packing);
  d["tiling"] = info.tiling;
  d["derived"] = info.derived;
  d["byte_size"] = int64_t(info.byte_size);
  d["sha256"] = to_godot(info.sha256);
  d["result_offset"] = int64_t(info.result_offset);
  return d;
}

intrinsix::TextureFileInfo file_from_dictionary(const Dictionary& d) {
  using namespace intrinsix;
  TextureFileInfo info;
  info.name = to_std(d.get("name", ""));
  info.file_index = uint32_t(int64_t(d.get("file_index", 0)));
  info.file_count = uint32_t(int64_t(d.get("file_count", 0)));
  info.semantic = enum_by_name<TextureSemantic>(
      d.get("semantic", ""),
      {TextureSemantic::kBaseColor, TextureSemantic::kRoughness, TextureSemantic::kMetallic, TextureSemantic::kNormal,
       TextureSemantic::kHeight, TextureSemantic::kAmbientOcclusion, TextureSemantic::kOrm,
       TextureSemantic::kMetallicSmoothness, TextureSemantic::kMaterial, TextureSemantic::kPreview,
       TextureSemantic::kModel, TextureSemantic::kManifest},
      TextureSemantic::kUnspecified);
  info.color_space = enum_by_name<ColorSpace>(d.get("color_space", ""),
                                              {ColorSpace::kSrgb, ColorSpace::kLinear, ColorSpace::kNone},
                                              ColorSpace::kUnspecified);
  info.format = enum_by_name<FileFormat>(d.get("format", ""),
                                         {FileFormat::kPng8, FileFormat::kPng16, FileFormat::kExrHalf,
                                          FileFormat::kExrFloat, FileFormat::kGlb, FileFormat::kGltf, FileFormat::kJson},
                                         FileFormat::kUnspecified);
  info.width = uint32_t(int64_t(d.get("width", 0)));
  info.height = uint32_t(int64_t(d.get("height", 0)));
  info.channels = uint32_t(int64_t(d.get("channels", 0)));
  info.normal_convention = enum_by_name<NormalConvention>(
      d.get("normal_convention", ""), {NormalConvention::kOpenGl, NormalConvention::kDirectX},
      NormalConvention::kUnspecified);
  info.packing = to_std(d.get("packing", ""));
  info.tiling = bool(d.get("tiling", false));
  info.derived = bool(d.get("derived", false));
  info.byte_size = uint64_t(int64_t(d.get("byte_size", 0)));
  info.sha256 = to_std(d.get("sha256", ""));
  info.result_offset = uint64_t(int64_t(d.get("result_offset", 0)));
  return info;
}

Dictionary error_to_dictionary(const intrinsix::JobErrorEvent& event) {
  Dictionary d;
  d["job_id"] = to_godot(event.job_id);
  d["code"] = int64_t(event.error.code);
  d["code_name"] = String(intrinsix::status_code_name(event.error.code));
  d["state"] = String(intrinsix::to_string(event.state));
  d["message"] = to_godot(event.error.message);
  return d;
}

}  // namespace

IntrinsiXClient::IntrinsiXClient() = default;

// Destroying the core client stops its streams and joins its threads; queued events are dropped,
// so no callback can reach this object afterwards.
IntrinsiXClient::~IntrinsiXClient() { client_.reset(); }

void IntrinsiXClient::configure(const String& address, const String& token, bool use_tls, const String& root_certs_pem,
                                int64_t connect_timeout_ms) {
  intrinsix::ConnectOptions options;
  options.address = to_std(address.strip_edges());
  options.token = to_std(token);
  options.use_tls = use_tls;
  options.tls_root_certs_pem = to_std(root_certs_pem);
  options.connect_timeout_ms = uint32_t(connect_timeout_ms > 0 ? connect_timeout_ms : 5000);
  options.delivery = intrinsix::Delivery::kPoll;  // signals are emitted in poll(), on the caller's thread
  jobs_.clear();
  client_ = std::make_unique<intrinsix::Client>(options);
}

bool IntrinsiXClient::is_configured() const { return client_ != nullptr; }

intrinsix::JobCallbacks IntrinsiXClient::callbacks_for(int64_t job) {
  // These run inside poll() (kPoll delivery), on the thread that polls.
  intrinsix::JobCallbacks callbacks;
  callbacks.on_accepted = [this, job](const intrinsix::JobAcceptedEvent& e) {
    Dictionary info;
    info["job_id"] = to_godot(e.job_id);
    info["queue_position"] = int64_t(e.queue_position);
    info["seed"] = int64_t(e.seed);
    info["reattached"] = e.reattached;
    emit_signal("job_accepted", job, info);
  };
  callbacks.on_progress = [this, job](const intrinsix::JobProgressEvent& e) {
    Dictionary info;
    info["stage"] = to_godot(e.stage);
    info["step"] = int64_t(e.step);
    info["total"] = int64_t(e.total);
    info["overall"] = double(e.overall);
    info["queue_position"] = int64_t(e.queue_position);
    emit_signal("job_progress", job, info);
  };
  callbacks.on_preview = [this, job](const intrinsix::JobPreviewEvent& e) {
    for (const intrinsix::PreviewImage& image : e.images) {
      PackedByteArray png;
      png.resize(int64_t(image.png.size()));
      if (!image.png.empty()) std::memcpy(png.ptrw(), image.png.data(), image.png.size());
      emit_signal("job_preview", job, String(intrinsix::to_string(image.branch)), png);
    }
  };
  callbacks.on_file = [this, job](const intrinsix::TextureFileEvent& e) {
    emit_signal("file_received", job, file_to_dictionary(e.info, e.path));
  };
  callbacks.on_done = [this, job](const intrinsix::JobDoneEvent& e) {
    Dictionary result;
    result["job_id"] = to_godot(e.job_id);
    result["material_name"] = to_godot(e.material_name);
    result["profile"] = String(intrinsix::to_string(e.profile));
    result["output_dir"] = to_godot(e.output_dir);
    result["manifest_json"] = to_godot(e.manifest_json);
    Array files;
    for (size_t i = 0; i < e.files.size(); ++i) files.append(file_to_dictionary(e.files[i], e.paths[i]));
    result["files"] = files;
    result["total_bytes"] = int64_t(e.total_bytes);
    result["reattach_count"] = int64_t(e.reattach_count);
    emit_signal("job_completed", job, result);
  };
  callbacks.on_error = [this, job](const intrinsix::JobErrorEvent& e) {
    emit_signal("job_failed", job, error_to_dictionary(e));
  };
  return callbacks;
}

int64_t IntrinsiXClient::fail_locally(const String& message) {
  godot::UtilityFunctions::push_error(String("IntrinsiX: ") + message);
  return 0;
}

int64_t IntrinsiXClient::generate(const Dictionary& request) {
  if (!client_) return fail_locally("configure() the server before generate()");
  intrinsix::GenerateOptions options;
  options.prompt = to_std(request.get("prompt", ""));
  options.negative_prompt = to_std(request.get("negative_prompt", ""));
  const int64_t seed = request.get("seed", -1);
  if (seed >= 0) options.seed = uint64_t(seed);
  const int64_t steps = request.get("steps", 0);
  if (steps > 0) options.steps = uint32_t(steps);
  const int64_t width = request.get("width", 0);
  const int64_t height = request.get("height", 0);
  if (width > 0) options.width = uint32_t(width);
  if (height > 0) options.height = uint32_t(height);
  options.tileable = bool(request.get("tileable", false));
  const std::string profile = to_std(request.get("profile", "godot"));
  options.profile = intrinsix::parse_export_profile(profile).value_or(intrinsix::ExportProfile::kUnspecified);
  options.material_name = to_std(request.get("material_name", ""));
  const int64_t preview_every = request.get("preview_every", 0);
  options.preview_every = uint32_t(preview_every > 0 ? preview_every : 0);
  options.output_dir = to_std(request.get("output_dir", ""));
  options.overwrite = bool(request.get("overwrite", false));
  const int64_t timeout_ms = request.get("timeout_ms", 0);
  options.timeout_ms = uint32_t(timeout_ms > 0 ? timeout_ms : 0);
  const int64_t job = next_job_++;
  jobs_[job] = client_->generate(options, callbacks_for(job));
  return job;
}

int64_t IntrinsiXClient::watch(const String& job_id, const String& output_dir) {
  if (!client_) return fail_locally("configure() the server before watch()");
  intrinsix::WatchOptions options;
  options.output_dir = to_std(output_dir);
  options.overwrite = true;
  const int64_t job = next_job_++;
  jobs_[job] = client_->watch(to_std(job_id), options, callbacks_for(job));
  return job;
}

void IntrinsiXClient::cancel(int64_t job) {
  auto it = jobs_.find(job);
  if (it != jobs_.end()) it->second.cancel();
}

String IntrinsiXClient::get_job_id(int64_t job) const {
  auto it = jobs_.find(job);
  return it == jobs_.end() ? String() : to_godot(it->second.job_id());
}

bool IntrinsiXClient::is_finished(int64_t job) const {
  auto it = jobs_.find(job);
  return it == jobs_.end() || it->second.finished();
}

int64_t IntrinsiXClient::poll() {
  if (!client_) return 0;
  const int64_t delivered = int64_t(client_->poll_events());
  // Forget finished jobs (their final signal has been emitted).
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    it = it->second.finished() ? jobs_.erase(it) : std::next(it);
  }
  return delivered;
}

Dictionary IntrinsiXClient::import_settings(const Dictionary& file) const {
  const auto settings = intrinsix::import_settings(intrinsix::Engine::kGodot, file_from_dictionary(file));
  Dictionary d;
  d["error"] = settings.ok() ? String() : to_godot(settings.error.message);
  d["slot"] = String(intrinsix::to_string(settings.value.slot));
  d["is_texture"] = settings.value.is_texture;
  d["srgb"] = settings.value.srgb;
  d["compression"] = String(intrinsix::to_string(settings.value.compression));
  d["normal_map"] = settings.value.normal_map;
  d["flip_green"] = settings.value.flip_green;
  d["high_precision"] = settings.value.high_precision;
  return d;
}

String IntrinsiXClient::godot_import_file(const Dictionary& file) const {
  const auto text = intrinsix::godot_import_file(file_from_dictionary(file));
  return text.ok() ? to_godot(text.value) : String();
}

Dictionary IntrinsiXClient::material_plan(const Array& files, bool use_height) const {
  std::vector<intrinsix::TextureFileInfo> infos;
  for (int64_t i = 0; i < files.size(); ++i) infos.push_back(file_from_dictionary(files[i]));
  const auto plan = intrinsix::material_plan(intrinsix::Engine::kGodot, infos, use_height);
  Dictionary d;
  d["error"] = plan.ok() ? String() : to_godot(plan.error.message);
  d["material_class"] = to_godot(plan.value.material_class);
  Array bindings;
  for (const intrinsix::MaterialBinding& b : plan.value.bindings) {
    Dictionary binding;
    binding["slot"] = String(intrinsix::to_string(b.slot));
    binding["file_name"] = to_godot(b.file_name);
    binding["parameter"] = to_godot(b.parameter);
    binding["enable_property"] = to_godot(b.enable_property);
    binding["channel_property"] = to_godot(b.channel_property);
    binding["channel"] = int64_t(b.channel);
    bindings.append(binding);
  }
  d["bindings"] = bindings;
  Array scalars;
  for (const auto& [name, value] : plan.value.scalars) {
    Dictionary scalar;
    scalar["name"] = to_godot(name);
    scalar["value"] = double(value);
    scalars.append(scalar);
  }
  d["scalars"] = scalars;
  return d;
}

String IntrinsiXClient::material_name_from_prompt(const String& prompt) const {
  return to_godot(intrinsix::material_name_from_prompt(to_std(prompt)));
}

String IntrinsiXClient::godot_material_file_name(const String& material_name) const {
  return to_godot(intrinsix::godot_material_file_name(to_std(material_name)));
}

void IntrinsiXClient::_bind_methods() {
  using godot::ClassDB;
  ClassDB::bind_method(D_METHOD("configure", "address", "token", "use_tls", "root_certs_pem", "connect_timeout_ms"),
                       &IntrinsiXClient::configure);
  ClassDB::bind_method(D_METHOD("is_configured"), &IntrinsiXClient::is_configured);
  ClassDB::bind_method(D_METHOD("generate", "request"), &IntrinsiXClient::generate);
  ClassDB::bind_method(D_METHOD("watch", "job_id", "output_dir"), &IntrinsiXClient::watch);
  ClassDB::bind_method(D_METHOD("cancel", "job"), &IntrinsiXClient::cancel);
  ClassDB::bind_method(D_METHOD("get_job_id", "job"), &IntrinsiXClient::get_job_id);
  ClassDB::bind_method(D_METHOD("is_finished", "job"), &IntrinsiXClient::is_finished);
  ClassDB::bind_method(D_METHOD("poll"), &IntrinsiXClient::poll);
  ClassDB::bind_method(D_METHOD("import_settings", "file"), &IntrinsiXClient::import_settings);
  ClassDB::bind_method(D_METHOD("godot_import_file", "file"), &IntrinsiXClient::godot_import_file);
  ClassDB::bind_method(D_METHOD("material_plan", "files", "use_height"), &IntrinsiXClient::material_plan);
  ClassDB::bind_method(D_METHOD("material_name_from_prompt", "prompt"), &IntrinsiXClient::material_name_from_prompt);
  ClassDB::bind_method(D_METHOD("godot_material_file_name", "material_name"), &IntrinsiXClient::godot_material_file_name);

  ADD_SIGNAL(MethodInfo("job_accepted", PropertyInfo(Variant::INT, "job"), PropertyInfo(Variant::DICTIONARY, "info")));
  ADD_SIGNAL(MethodInfo("job_progress", PropertyInfo(Variant::INT, "job"), PropertyInfo(Variant::DICTIONARY, "info")));
  ADD_SIGNAL(MethodInfo("job_preview", PropertyInfo(Variant::INT, "job"), PropertyInfo(Variant::STRING, "branch"),
                        PropertyInfo(Variant::PACKED_BYTE_ARRAY, "png")));
  ADD_SIGNAL(MethodInfo("file_received", PropertyInfo(Variant::INT, "job"), PropertyInfo(Variant::DICTIONARY, "file")));
  ADD_SIGNAL(MethodInfo("job_completed", PropertyInfo(Variant::INT, "job"), PropertyInfo(Variant::DICTIONARY, "result")));
  ADD_SIGNAL(MethodInfo("job_failed", PropertyInfo(Variant::INT, "job"), PropertyInfo(Variant::DICTIONARY, "error")));
}

}  // namespace intrinsix_godot
