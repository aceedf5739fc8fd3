// A job's worker thread (see job_runner.h).
//
// Life of a job on the client:
//   1. wait for the connection (connect_timeout_ms): a server that is not there fails at once
//      with kUnavailable instead of after every re-attach attempt;
//   2. submit (Generate / TextureRoom) or re-attach (WatchJob) and read the stream;
//   3. on a drop (transport error, or a stream that ended without completed/failed): wait with
//      back-off until the channel is connected again and re-attach with WatchJob from
//      ResultWriter::resume_offset(); a drop before JobAccepted first looks the job up by its
//      client_request_id (ListJobs) and submits again only if the server never created it;
//   4. deliver exactly one final event: on_done, or on_error.
#include "job_runner.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "proto_convert.h"
#include "result_writer.h"

namespace intrinsix {
namespace {

bool is_retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:  // a stream that ended without its final event
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::INTERNAL:  // e.g. an HTTP/2 stream reset by a proxy
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::CANCELLED:  // cancelled by the server side (shutdown), not by us
      return true;
    default:
      return false;
  }
}

class JobRunner {
 public:
  JobRunner(std::shared_ptr<Client::Impl> impl, std::shared_ptr<JobHandle::State> state, JobCallbacks callbacks,
            JobRequest request)
      : impl_(std::move(impl)),
        state_(std::move(state)),
        callbacks_(std::move(callbacks)),
        request_(std::move(request)),
        writer_(request_.output_dir, request_.overwrite) {}

  void run();

 private:
  enum class End { kTerminal, kDropped, kFatal, kStopped };

  template <typename Stream>
  End read(Stream* stream, grpc::ClientContext* context, bool* progressed);
  bool handle(const v1::JobEvent& event, bool* terminal);
  End open_and_read(bool submit, bool* progressed);
  bool find_submitted_job();
  bool wait_before_retry(uint32_t attempt);

  // Wait for the channel to connect, in short slices so that stop_watching() and the Client's
  // destructor are not held up by a server that is away.
  bool wait_connected(uint32_t timeout_ms) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (stop_requested()) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      if (impl_->wait_connected(uint32_t(std::min<int64_t>(left.count(), 100)))) return true;
    }
  }
  bool stop_requested() const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->stop_requested;
  }
  bool attach_context(grpc::ClientContext* context) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->active_context = context;
    return !state_->stop_requested;
  }
  void detach_context() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->active_context = nullptr;
  }

  template <typename Event>
  void deliver(const std::function<void(const Event&)>& callback, Event event) {
    if (!callback) return;
    impl_->events.push([callback, event = std::move(event)] { callback(event); });
  }
  void deliver_final(std::function<void()> call) {
    std::shared_ptr<JobHandle::State> state = state_;
    impl_->events.push([state, call = std::move(call)] {
      call();
      {
        std::lock_guard<std::mutex> lock(state->mutex);
        state->finished = true;
      }
      state->changed.notify_all();
    });
  }
  void fail(Error error, JobState state = JobState::kUnspecified) {
    JobErrorEvent event{job_id_, state, std::move(error)};
    auto callback = callbacks_.on_error;
    deliver_final([callback, event] {
      if (callback) callback(event);
    });
  }
  Error stopped_error() const {
    return Error{StatusCode::kCancelled, job_id_.empty() ? "stopped before the server accepted the request"
                                                         : "stopped watching job " + job_id_ +
                                                               "; it goes on on the server (re-attach with watch)"};
  }

  std::shared_ptr<Client::Impl> impl_;
  std::shared_ptr<JobHandle::State> state_;
  JobCallbacks callbacks_;
  JobRequest request_;
  ResultWriter writer_;
  std::string job_id_;
  uint32_t reattach_count_ = 0;
  Error fatal_;             // set when End::kFatal
  bool terminal_seen_ = false;
};

void JobRunner::run() {
  if (!request_.local_error.ok()) return fail(request_.local_error);
  if (Error error = writer_.prepare(); !error.ok()) return fail(error);
  if (request_.kind == JobRequest::Kind::kWatch) job_id_ = request_.watch_job_id;

  if (!wait_connected(impl_->options.connect_timeout_ms)) {
    if (stop_requested()) return fail(stopped_error());
    return fail(Error{StatusCode::kUnavailable, "cannot connect to the IntrinsiX server at " + impl_->options.address +
                                                    " within " + std::to_string(impl_->options.connect_timeout_ms) +
                                                    " ms: is it running, and are the address and TLS setting right?"});
  }

  if (request_.kind == JobRequest::Kind::kWatch && request_.resume_from_disk) {
    auto context = impl_->make_context(impl_->options.call_timeout_ms);
    v1::GetJobRequest get;
    get.set_job_id(job_id_);
    v1::GetJobResponse response;
    if (!attach_context(context.get())) return fail(stopped_error());
    const grpc::Status status = impl_->stub->GetJob(context.get(), get, &response);
    detach_context();
    if (stop_requested()) return fail(stopped_error());
    if (!status.ok()) return fail(status_error(status, "GetJob " + job_id_, impl_->options.address));
    if (response.job().state() == v1::JOB_STATE_SUCCEEDED) {
      std::vector<TextureFileInfo> files;
      for (const v1::TextureHeader& header : response.job().files()) files.push_back(from_proto(header));
      if (Error error = writer_.adopt_existing(files); !error.ok()) return fail(error);
    }
  }

  bool submit = request_.kind != JobRequest::Kind::kWatch;
  uint32_t failed_attempts = 0;
  for (;;) {
    bool progressed = false;
    const End end = open_and_read(submit, &progressed);
    if (end == End::kTerminal) return;
    if (end == End::kStopped) return fail(stopped_error());
    if (end == End::kFatal) return fail(fatal_);
    // Dropped: re-attach (or find / resubmit a request that was never acknowledged).
    failed_attempts = progressed ? 1 : failed_attempts + 1;
    for (;;) {
      if (failed_attempts > impl_->options.max_reattach) {
        return fail(Error{StatusCode::kUnavailable,
                          "lost the connection to the IntrinsiX server at " + impl_->options.address + " and " +
                              std::to_string(impl_->options.max_reattach) + " attempts to re-attach failed" +
                              (job_id_.empty() ? std::string()
                                               : "; job " + job_id_ + " may still run there: re-attach later with "
                                                                      "watch()")});
      }
      if (!wait_before_retry(failed_attempts)) return fail(stopped_error());
      if (!wait_connected(impl_->options.connect_timeout_ms)) {
        ++failed_attempts;
        continue;
      }
      if (job_id_.empty()) {
        // The stream dropped before JobAccepted: did the server create the job?
        if (!find_submitted_job()) {
          if (!fatal_.ok()) return fail(fatal_);
          ++failed_attempts;
          continue;
        }
        submit = job_id_.empty();  // not found: the request never became a job, submit it again
      } else {
        submit = false;
      }
      break;
    }
    if (!submit) ++reattach_count_;
  }
}

// ListJobs(client_request_id): sets job_id_ if the server has the job. Returns false if the
// lookup itself failed (fatal_ set for errors that retrying cannot fix).
bool JobRunner::find_submitted_job() {
  auto context = impl_->make_context(impl_->options.call_timeout_ms);
  v1::ListJobsRequest list;
  list.set_client_request_id(request_.client_request_id);
  list.set_page_size(1);
  v1::ListJobsResponse response;
  if (!attach_context(context.get())) return false;
  const grpc::Status status = impl_->stub->ListJobs(context.get(), list, &response);
  detach_context();
  if (!status.ok()) {
    if (!is_retryable(status.error_code())) fatal_ = status_error(status, "ListJobs", impl_->options.address);
    return false;
  }
  if (response.jobs_size() > 0) job_id_ = response.jobs(0).job_id();
  return true;
}

bool JobRunner::wait_before_retry(uint32_t attempt) {
  // 250 ms, 500 ms, 1 s, 2 s, then 4 s: quick after a blip, gentle on a server that restarts.
  const auto delay = std::chrono::milliseconds(std::min<uint64_t>(4000, 250ull << std::min<uint32_t>(attempt - 1, 4)));
  std::unique_lock<std::mutex> lock(state_->mutex);
  return !state_->changed.wait_for(lock, delay, [this] { return state_->stop_requested; });
}

JobRunner::End JobRunner::open_and_read(bool submit, bool* progressed) {
  const uint32_t deadline_ms = submit ? request_.timeout_ms : 0;
  std::unique_ptr<grpc::ClientContext> context = impl_->make_context(deadline_ms);
  if (!attach_context(context.get())) return End::kStopped;
  End end;
  if (!submit) {
    v1::WatchJobRequest watch;
    watch.set_job_id(job_id_);
    watch.set_resume_offset(writer_.resume_offset());
    watch.set_result_only(request_.result_only);
    auto stream = impl_->stub->WatchJob(context.get(), watch);
    end = read(stream.get(), context.get(), progressed);
  } else if (request_.kind == JobRequest::Kind::kGenerate) {
    auto stream = impl_->stub->Generate(context.get(), request_.generate);
    end = read(stream.get(), context.get(), progressed);
  } else {
    auto stream = impl_->stub->TextureRoom(context.get());
    v1::TextureRoomRequest first;
    *first.mutable_start() = request_.room;
    bool writing = stream->Write(first);
    // Chunks of at most 1 MiB, in order, without gaps (the protocol's MeshChunk rule).
    constexpr size_t kChunk = size_t(1) << 20;
    for (size_t offset = 0; writing && offset < request_.mesh_bytes.size(); offset += kChunk) {
      v1::TextureRoomRequest part;
      part.mutable_mesh_chunk()->set_offset(offset);
      part.mutable_mesh_chunk()->set_data(request_.mesh_bytes.substr(offset, kChunk));
      writing = stream->Write(part);
    }
    // If a write failed the server has already ended the call: Finish() (in read) tells why.
    if (writing) stream->WritesDone();
    end = read(stream.get(), context.get(), progressed);
  }
  detach_context();
  return end;
}

template <typename Stream>
JobRunner::End JobRunner::read(Stream* stream, grpc::ClientContext* context, bool* progressed) {
  v1::JobEvent event;
  bool terminal = false;
  bool local_failure = false;
  while (stream->Read(&event)) {
    *progressed = true;
    if (!handle(event, &terminal)) {
      local_failure = true;
      context->TryCancel();  // stop the transfer; the job itself goes on on the server
      break;
    }
    if (terminal) break;
  }
  if (terminal || local_failure) {
    // Read to the end so that Finish() does not wait for messages nobody takes.
    while (!local_failure && stream->Read(&event)) {
    }
    stream->Finish();
    return terminal ? End::kTerminal : End::kFatal;
  }
  const grpc::Status status = stream->Finish();
  if (stop_requested()) return End::kStopped;
  // The submitting call's deadline can pass while the finished result is still being sent; the
  // job's own outcome (its result, or FAILED with DEADLINE_EXCEEDED) then comes from WatchJob.
  const bool deadline_after_acceptance = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && !job_id_.empty();
  if (!is_retryable(status.error_code()) && !deadline_after_acceptance) {
    const char* call = request_.kind == JobRequest::Kind::kWatch || !job_id_.empty()
                           ? "WatchJob"
                           : (request_.kind == JobRequest::Kind::kGenerate ? "Generate" : "TextureRoom");
    fatal_ = status_error(status, call, impl_->options.address);
    return End::kFatal;
  }
  return End::kDropped;
}

// One event. Returns false on a local failure (fatal_ set); *terminal on completed / failed.
bool JobRunner::handle(const v1::JobEvent& event, bool* terminal) {
  switch (event.event_case()) {
    case v1::JobEvent::kAccepted: {
      if (!job_id_.empty() && event.job_id() != job_id_) {
        fatal_ = Error{StatusCode::kDataLoss, "the server answered for job " + event.job_id() + " instead of " + job_id_};
        return false;
      }
      job_id_ = event.job_id();
      {
        std::lock_guard<std::mutex> lock(state_->mutex);
        state_->job_id = job_id_;
      }
      impl_->send_cancel_if_requested(state_);
      if (event.accepted().resume_offset() > writer_.resume_offset()) {
        fatal_ = Error{StatusCode::kDataLoss, "job " + job_id_ + ": the server resumes at byte " +
                                                  std::to_string(event.accepted().resume_offset()) + ", after the " +
                                                  std::to_string(writer_.resume_offset()) + " bytes stored here"};
        return false;
      }
      deliver(callbacks_.on_accepted, from_proto(job_id_, event.client_request_id(), event.accepted()));
      return true;
    }
    case v1::JobEvent::kProgress:
      deliver(callbacks_.on_progress, from_proto(job_id_, event.progress()));
      return true;
    case v1::JobEvent::kPreview:
      deliver(callbacks_.on_preview, from_proto(job_id_, event.preview()));
      return true;
    case v1::JobEvent::kTextureHeader:
      fatal_ = writer_.on_header(from_proto(event.texture_header()));
      return fatal_.ok();
    case v1::JobEvent::kTextureChunk: {
      const v1::TextureChunk& chunk = event.texture_chunk();
      std::optional<uint32_t> completed;
      fatal_ = writer_.on_chunk(chunk.file_index(), chunk.offset(), chunk.data().data(), chunk.data().size(),
                                chunk.last(), chunk.result_offset(), &completed);
      if (!fatal_.ok()) return false;
      if (completed) {
        deliver(callbacks_.on_file,
                TextureFileEvent{job_id_, writer_.files()[*completed], writer_.path_of(*completed)});
      }
      return true;
    }
    case v1::JobEvent::kCompleted: {
      const v1::JobCompleted& completed = event.completed();
      fatal_ = writer_.on_completed(completed.file_count(), completed.total_bytes());
      if (!fatal_.ok()) return false;
      JobDoneEvent done;
      done.job_id = job_id_;
      done.material_name = completed.material_name();
      done.profile = static_cast<ExportProfile>(completed.profile());
      done.manifest_json = completed.manifest_json();
      done.output_dir = writer_.output_dir();
      done.files = writer_.files();
      for (uint32_t i = 0; i < done.files.size(); ++i) done.paths.push_back(writer_.path_of(i));
      done.total_bytes = completed.total_bytes();
      done.reattach_count = reattach_count_;
      auto callback = callbacks_.on_done;
      deliver_final([callback, done = std::move(done)] {
        if (callback) callback(done);
      });
      *terminal = true;
      return true;
    }
    case v1::JobEvent::kFailed: {
      JobErrorEvent failed = from_proto(job_id_, event.failed());
      fail(failed.error, failed.state);
      *terminal = true;
      return true;
    }
    case v1::JobEvent::EVENT_NOT_SET:
      return true;  // an event kind newer than this client: skip it
  }
  return true;
}

}  // namespace

void run_job(const std::shared_ptr<Client::Impl>& impl, const std::shared_ptr<JobHandle::State>& state,
             const JobCallbacks& callbacks, JobRequest request) {
  JobRunner runner(impl, state, callbacks, std::move(request));
  runner.run();
}

}  // namespace intrinsix
