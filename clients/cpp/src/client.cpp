// Client and JobHandle (see include/intrinsix/client.h): the channel, blocking calls, and the
// start and shutdown of job workers. The streaming itself is in job_runner.cpp.
#include "intrinsix/client.h"

#include <cstring>
#include <random>
#include <thread>

#include "intrinsix/sha256.h"
#include "job_runner.h"
#include "proto_convert.h"

namespace intrinsix {
namespace {

constexpr int kMaxMessageBytes = 16 << 20;  // chunks are <= 1 MiB; previews of 3 branches add a few MiB

std::shared_ptr<grpc::Channel> make_channel(const ConnectOptions& o) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Reconnect quickly after a server restart; the job workers add their own back-off on top.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 4000);
  // Each Client owns its connections (no sharing of subchannels between Client objects).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (o.keepalive_ms > 0) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, int(o.keepalive_ms));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (o.use_tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = o.tls_root_certs_pem;
    ssl.pem_cert_chain = o.tls_client_cert_pem;
    ssl.pem_private_key = o.tls_client_key_pem;
    credentials = grpc::SslCredentials(ssl);
    if (!o.tls_server_name.empty()) args.SetSslTargetNameOverride(o.tls_server_name);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateCustomChannel(o.address, credentials, args);
}

std::string random_request_id() {
  static const char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::string id(32, '0');
  for (char& c : id) c = kHex[device() & 15];
  return id;
}

Error local_invalid(const std::string& message) { return Error{StatusCode::kInvalidArgument, message}; }

// The MESH_FORMAT_RAW upload: positions, indices, uvs as little-endian arrays laid end to end.
Error encode_mesh(const RoomMesh& mesh, std::string* bytes, v1::MeshInfo* info) {
  if (mesh.positions.empty() || mesh.positions.size() % 3 != 0) {
    return local_invalid("mesh.positions must hold 3 floats per vertex, got " + std::to_string(mesh.positions.size()) +
                         " floats");
  }
  if (mesh.indices.empty() || mesh.indices.size() % 3 != 0) {
    return local_invalid("mesh.indices must hold 3 indices per triangle, got " + std::to_string(mesh.indices.size()));
  }
  const size_t vertices = mesh.positions.size() / 3;
  if (!mesh.uvs.empty() && mesh.uvs.size() != 2 * vertices) {
    return local_invalid("mesh.uvs must be empty or hold 2 floats per vertex (" + std::to_string(2 * vertices) +
                         "), got " + std::to_string(mesh.uvs.size()));
  }
  const uint32_t probe = 1;
  uint8_t first_byte = 0;
  std::memcpy(&first_byte, &probe, 1);
  if (first_byte != 1) return Error{StatusCode::kUnimplemented, "mesh upload needs a little-endian machine"};
  bytes->clear();
  bytes->append(reinterpret_cast<const char*>(mesh.positions.data()), mesh.positions.size() * sizeof(float));
  bytes->append(reinterpret_cast<const char*>(mesh.indices.data()), mesh.indices.size() * sizeof(uint32_t));
  bytes->append(reinterpret_cast<const char*>(mesh.uvs.data()), mesh.uvs.size() * sizeof(float));
  info->set_format(v1::MESH_FORMAT_RAW);
  info->set_vertex_count(uint32_t(vertices));
  info->set_triangle_count(uint32_t(mesh.indices.size() / 3));
  info->set_has_uvs(!mesh.uvs.empty());
  info->set_byte_size(bytes->size());
  info->set_sha256(sha256_hex(bytes->data(), bytes->size()));
  return {};
}

}  // namespace

// ---- Client::Impl -------------------------------------------------------------------------------

Client::Impl::Impl(ConnectOptions connect)
    : options(std::move(connect)),
      channel(make_channel(options)),
      stub(v1::TextureService::NewStub(channel)),
      health_stub(grpc::health::v1::Health::NewStub(channel)),
      events(options.delivery == Delivery::kCallbackThread),
      control(true) {}

std::unique_ptr<grpc::ClientContext> Client::Impl::make_context(uint32_t timeout_ms) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!options.token.empty()) context->AddMetadata("authorization", "Bearer " + options.token);
  if (timeout_ms > 0) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  }
  return context;
}

bool Client::Impl::wait_connected(uint32_t timeout_ms) const {
  return channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
}

void Client::Impl::send_cancel_if_requested(const std::shared_ptr<JobHandle::State>& state) {
  std::string job_id;
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (!state->cancel_requested || state->cancel_confirmed || state->cancel_in_flight || state->job_id.empty()) return;
    state->cancel_in_flight = true;
    job_id = state->job_id;
  }
  std::weak_ptr<Impl> weak = shared_from_this();
  control.push([weak, state, job_id] {
    bool confirmed = false;
    if (std::shared_ptr<Impl> impl = weak.lock()) {
      auto context = impl->make_context(impl->options.call_timeout_ms);
      v1::CancelJobRequest request;
      request.set_job_id(job_id);
      v1::CancelJobResponse response;
      confirmed = impl->stub->CancelJob(context.get(), request, &response).ok();
    }
    std::lock_guard<std::mutex> lock(state->mutex);
    state->cancel_in_flight = false;
    state->cancel_confirmed = confirmed;  // if not, the next re-attach sends it again
  });
}

JobHandle Client::Impl::start(std::function<void(std::shared_ptr<JobHandle::State>)> body) {
  auto state = std::make_shared<JobHandle::State>();
  state->client = weak_from_this();
  std::lock_guard<std::mutex> lock(jobs_mutex);
  // Join the workers of jobs that have ended, so a long editor session does not collect threads.
  for (auto it = jobs.begin(); it != jobs.end();) {
    if ((*it)->worker_done.load()) {
      if ((*it)->worker.joinable()) (*it)->worker.join();
      it = jobs.erase(it);
    } else {
      ++it;
    }
  }
  if (shutting_down.load()) {
    std::lock_guard<std::mutex> state_lock(state->mutex);
    state->finished = true;
    return JobHandle(state);
  }
  state->worker = std::thread([body = std::move(body), state] {
    body(state);
    state->worker_done.store(true);
  });
  jobs.push_back(state);
  return JobHandle(state);
}

void Client::Impl::shutdown() {
  shutting_down.store(true);
  std::vector<std::shared_ptr<JobHandle::State>> all;
  {
    std::lock_guard<std::mutex> lock(jobs_mutex);
    all.swap(jobs);
  }
  for (auto& state : all) {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->stop_requested = true;
    if (state->active_context != nullptr) state->active_context->TryCancel();
    state->changed.notify_all();
  }
  for (auto& state : all) {
    if (state->worker.joinable()) state->worker.join();
    std::lock_guard<std::mutex> lock(state->mutex);
    state->finished = true;  // undelivered events are dropped; release anyone waiting
    state->changed.notify_all();
  }
  events.close();
  control.close();
}

// ---- Client -------------------------------------------------------------------------------------

Client::Client(ConnectOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

Client::~Client() { impl_->shutdown(); }

const ConnectOptions& Client::options() const { return impl_->options; }

JobHandle Client::generate(const GenerateOptions& options, JobCallbacks callbacks) {
  JobRequest request;
  request.kind = JobRequest::Kind::kGenerate;
  request.client_request_id = options.client_request_id.empty() ? random_request_id() : options.client_request_id;
  request.generate = to_proto(options, request.client_request_id);
  request.output_dir = options.output_dir;
  request.overwrite = options.overwrite;
  request.timeout_ms = options.timeout_ms;
  std::shared_ptr<Impl> impl = impl_;
  return impl_->start([impl, callbacks = std::move(callbacks), request = std::move(request)](auto state) mutable {
    run_job(impl, state, callbacks, std::move(request));
  });
}

JobHandle Client::texture_room(const RoomOptions& options, JobCallbacks callbacks) {
  JobRequest request;
  request.kind = JobRequest::Kind::kTextureRoom;
  request.client_request_id = options.client_request_id.empty() ? random_request_id() : options.client_request_id;
  common_to_proto(options, request.room.mutable_params());
  if (options.texture_size) request.room.mutable_params()->set_texture_size(*options.texture_size);
  request.room.set_client_request_id(request.client_request_id);
  request.local_error = encode_mesh(options.mesh, &request.mesh_bytes, request.room.mutable_mesh());
  request.output_dir = options.output_dir;
  request.overwrite = options.overwrite;
  request.timeout_ms = options.timeout_ms;
  std::shared_ptr<Impl> impl = impl_;
  return impl_->start([impl, callbacks = std::move(callbacks), request = std::move(request)](auto state) mutable {
    run_job(impl, state, callbacks, std::move(request));
  });
}

JobHandle Client::watch(const std::string& job_id, const WatchOptions& options, JobCallbacks callbacks) {
  JobRequest request;
  request.kind = JobRequest::Kind::kWatch;
  request.watch_job_id = job_id;
  request.result_only = options.result_only;
  request.resume_from_disk = options.resume_from_disk;
  request.output_dir = options.output_dir;
  request.overwrite = options.overwrite;
  if (job_id.empty()) request.local_error = local_invalid("job_id is empty: pass the id from JobAcceptedEvent");
  std::shared_ptr<Impl> impl = impl_;
  return impl_->start([impl, callbacks = std::move(callbacks), request = std::move(request)](auto state) mutable {
    run_job(impl, state, callbacks, std::move(request));
  });
}

size_t Client::poll_events(std::chrono::milliseconds wait) {
  if (impl_->options.delivery != Delivery::kPoll) return 0;
  return impl_->events.run_pending(wait);
}

Result<ServingStatus> Client::health() {
  Result<ServingStatus> result;
  auto context = impl_->make_context(impl_->options.call_timeout_ms);
  grpc::health::v1::HealthCheckRequest request;  // "" = the whole server
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = impl_->health_stub->Check(context.get(), request, &response);
  if (!status.ok()) {
    result.error = status_error(status, "Health.Check", impl_->options.address);
    return result;
  }
  result.value = static_cast<ServingStatus>(response.status());
  return result;
}

Error Client::wait_until_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Error last{StatusCode::kDeadlineExceeded, "the server at " + impl_->options.address + " did not report SERVING"};
  for (;;) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) break;
    if (impl_->wait_connected(uint32_t(remaining.count()))) {
      Result<ServingStatus> status = health();
      if (status.ok() && status.value == ServingStatus::kServing) return {};
      if (!status.ok()) last = status.error;
      else last.message = "the server at " + impl_->options.address + " is not ready yet (model loading)";
    } else {
      last = Error{StatusCode::kUnavailable, "cannot connect to the server at " + impl_->options.address};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

Result<ServerInfo> Client::server_info() {
  Result<ServerInfo> result;
  auto context = impl_->make_context(impl_->options.call_timeout_ms);
  v1::GetServerInfoResponse response;
  const grpc::Status status = impl_->stub->GetServerInfo(context.get(), v1::GetServerInfoRequest(), &response);
  if (!status.ok()) {
    result.error = status_error(status, "GetServerInfo", impl_->options.address);
    return result;
  }
  result.value = from_proto(response);
  return result;
}

Result<JobInfo> Client::get_job(const std::string& job_id) {
  Result<JobInfo> result;
  auto context = impl_->make_context(impl_->options.call_timeout_ms);
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  v1::GetJobResponse response;
  const grpc::Status status = impl_->stub->GetJob(context.get(), request, &response);
  if (!status.ok()) {
    result.error = status_error(status, "GetJob " + job_id, impl_->options.address);
    return result;
  }
  result.value = from_proto(response.job());
  return result;
}

Result<CancelResult> Client::cancel(const std::string& job_id) {
  Result<CancelResult> result;
  auto context = impl_->make_context(impl_->options.call_timeout_ms);
  v1::CancelJobRequest request;
  request.set_job_id(job_id);
  v1::CancelJobResponse response;
  const grpc::Status status = impl_->stub->CancelJob(context.get(), request, &response);
  if (!status.ok()) {
    result.error = status_error(status, "CancelJob " + job_id, impl_->options.address);
    return result;
  }
  result.value.state = static_cast<JobState>(response.state());
  result.value.cancelled = response.cancelled();
  return result;
}

// ---- JobHandle ----------------------------------------------------------------------------------

JobHandle::JobHandle() = default;
JobHandle::~JobHandle() = default;
JobHandle::JobHandle(const JobHandle&) = default;
JobHandle& JobHandle::operator=(const JobHandle&) = default;
JobHandle::JobHandle(std::shared_ptr<State> state) : state_(std::move(state)) {}

bool JobHandle::valid() const { return state_ != nullptr; }

std::string JobHandle::job_id() const {
  if (!state_) return {};
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->job_id;
}

void JobHandle::cancel() {
  if (!state_) return;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->cancel_requested = true;
  }
  if (std::shared_ptr<Client::Impl> impl = state_->client.lock()) impl->send_cancel_if_requested(state_);
}

void JobHandle::stop_watching() {
  if (!state_) return;
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->stop_requested = true;
  if (state_->active_context != nullptr) state_->active_context->TryCancel();
  state_->changed.notify_all();
}

bool JobHandle::finished() const {
  if (!state_) return true;
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->finished;
}

bool JobHandle::wait(std::chrono::milliseconds timeout) const {
  if (!state_) return true;
  std::unique_lock<std::mutex> lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [this] { return state_->finished; });
}

}  // namespace intrinsix
