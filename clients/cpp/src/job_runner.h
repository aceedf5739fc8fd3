// The body of a job's worker thread: open the stream, turn its events into callbacks and files,
// re-attach after drops, and deliver exactly one final event (internal).
#pragma once

#include <memory>
#include <string>

#include "client_impl.h"

namespace intrinsix {

// What a worker submits or re-attaches to.
struct JobRequest {
  enum class Kind { kGenerate, kTextureRoom, kWatch };
  Kind kind = Kind::kGenerate;
  v1::GenerateRequest generate;   // kGenerate
  v1::TextureRoomStart room;      // kTextureRoom: parameters and MeshInfo
  std::string mesh_bytes;         // kTextureRoom: the MESH_FORMAT_RAW upload
  std::string watch_job_id;       // kWatch
  bool result_only = false;       // kWatch
  bool resume_from_disk = false;  // kWatch
  std::string client_request_id;  // kGenerate / kTextureRoom
  std::string output_dir;
  bool overwrite = false;
  uint32_t timeout_ms = 0;  // deadline of the submitting call (bounds the job on the server)
  Error local_error;        // a problem found before contacting the server: delivered as on_error
};

void run_job(const std::shared_ptr<Client::Impl>& impl, const std::shared_ptr<JobHandle::State>& state,
             const JobCallbacks& callbacks, JobRequest request);

}  // namespace intrinsix
