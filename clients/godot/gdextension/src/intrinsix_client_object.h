// IntrinsiXClient: the C++ client core exposed to GDScript (a RefCounted).
//
//   var client = ClassDB.instantiate("IntrinsiXClient")
//   client.configure("127.0.0.1:50051", token, false, "", 5000)
//   client.job_progress.connect(_on_progress)
//   var job = client.generate({"prompt": "red brick", "profile": "godot", "output_dir": abs_path})
//   # every frame (e.g. in _process):
//   client.poll()
//
// Threads: the core streams on its own threads; the signals are emitted only inside poll(), on the
// thread that calls it (the editor's main thread), so handlers may touch the scene and resources.
//
// Dictionaries (all keys always present):
//   file:   name, path, file_index, file_count, semantic, color_space, format, width, height,
//           channels, normal_convention, packing, tiling, derived, byte_size, sha256, result_offset
//   result: job_id, material_name, profile, output_dir, manifest_json, files (Array of file),
//           total_bytes, reattach_count
//   error:  job_id, code (gRPC status number), code_name ("UNAVAILABLE"), state, message
// The engine-independent decisions (import flags, .import text, material properties) come from the
// core through import_settings / godot_import_file / material_plan.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include <godot_cpp/classes/ref_counted.hpp>
#include <godot_cpp/variant/array.hpp>
#include <godot_cpp/variant/dictionary.hpp>
#include <godot_cpp/variant/string.hpp>

#include "intrinsix/client.h"

namespace intrinsix_godot {

class IntrinsiXClient : public godot::RefCounted {
  GDCLASS(IntrinsiXClient, godot::RefCounted)

 public:
  IntrinsiXClient();
  ~IntrinsiXClient();

  // (Re)connect with these settings. Jobs of an earlier configuration are stopped (they go on on
  // the server). The token is kept in memory only and never printed.
  void configure(const godot::String& address, const godot::String& token, bool use_tls,
                 const godot::String& root_certs_pem, int64_t connect_timeout_ms);
  bool is_configured() const;

  // Start a job; returns a local job number (> 0) used by the signals, cancel and job_id.
  // request keys: prompt (required), negative_prompt, seed (-1 = server picks), steps, width,
  // height (0 = default), tileable, profile ("godot", "unreal", "gltf", "unity", "raw"),
  // material_name, preview_every, output_dir (absolute path), overwrite, timeout_ms.
  // Returns 0 (with push_error) before configure(); every other problem arrives as job_failed.
  int64_t generate(const godot::Dictionary& request);
  // Re-attach to a server job by id, keeping files already in output_dir.
  int64_t watch(const godot::String& job_id, const godot::String& output_dir);
  void cancel(int64_t job);
  godot::String get_job_id(int64_t job) const;
  bool is_finished(int64_t job) const;
  // Emit the signals of everything received since the last call; returns how many.
  int64_t poll();

  // Engine-independent decisions of the core, for a file Dictionary (above).
  godot::Dictionary import_settings(const godot::Dictionary& file) const;
  godot::String godot_import_file(const godot::Dictionary& file) const;
  // {material_class, bindings: [{slot, file_name, parameter, enable_property, channel_property,
  // channel}], scalars: [{name, value}], error}; error is "" when the plan is usable.
  godot::Dictionary material_plan(const godot::Array& files, bool use_height) const;
  godot::String material_name_from_prompt(const godot::String& prompt) const;
  godot::String godot_material_file_name(const godot::String& material_name) const;

 protected:
  static void _bind_methods();

 private:
  intrinsix::JobCallbacks callbacks_for(int64_t job);
  int64_t fail_locally(const godot::String& message);

  std::unique_ptr<intrinsix::Client> client_;
  std::map<int64_t, intrinsix::JobHandle> jobs_;
  int64_t next_job_ = 1;
};

}  // namespace intrinsix_godot
