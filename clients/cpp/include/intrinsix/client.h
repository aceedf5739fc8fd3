// IntrinsiX C++ client: connect to an IntrinsiX server, run jobs, receive their events and files.
//
//   intrinsix::ConnectOptions connect;
//   connect.address = "127.0.0.1:50051";
//   connect.token = "...";                       // sent as `authorization: Bearer <token>`
//   intrinsix::Client client(connect);
//
//   intrinsix::GenerateOptions options;
//   options.prompt = "weathered red brick";
//   options.profile = intrinsix::ExportProfile::kUnreal;
//   options.output_dir = "/tmp/bricks";
//   intrinsix::JobCallbacks callbacks;
//   callbacks.on_progress = [](const intrinsix::JobProgressEvent& p) { ... };
//   callbacks.on_done = [](const intrinsix::JobDoneEvent& done) { ... };
//   callbacks.on_error = [](const intrinsix::JobErrorEvent& e) { ... };
//   intrinsix::JobHandle job = client.generate(options, callbacks);
//   while (!job.finished()) client.poll_events(std::chrono::milliseconds(50));  // game thread: once per tick, wait 0
//
// Threads. Every job streams on its own worker thread; those threads never run user code. The
// callbacks run on exactly one thread, chosen by ConnectOptions::delivery:
//   kPoll           the thread that calls Client::poll_events() (e.g. the game thread, once per
//                   frame). Nothing runs until it is called.
//   kCallbackThread one dedicated thread owned by the Client. Callbacks may block it briefly
//                   (events queue up meanwhile) and typically forward to the game thread.
// Either way gRPC's internal threads never run a callback. Callbacks of one Client never run
// concurrently with each other; a callback must not destroy the Client.
//
// Event order per job: on_accepted, then on_progress / on_preview in any mix, then on_file for
// every result file, then exactly one of on_done / on_error (the last event; JobHandle::finished()
// turns true when its callback has returned). A request that never became a job gets only on_error.
// A dropped stream is re-attached automatically (WatchJob from the last byte written, with
// reattached = true on the repeated on_accepted) up to ConnectOptions::max_reattach times in a row.
//
// Every method of Client and JobHandle is thread-safe. generate / texture_room / watch / cancel
// of a JobHandle / poll_events never block on the network; the methods that return a Result do
// (bounded by ConnectOptions::call_timeout_ms) and should be called off the game thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "intrinsix/types.h"

namespace intrinsix {

enum class Delivery { kPoll, kCallbackThread };

struct ConnectOptions {
  std::string address = "127.0.0.1:50051";  // host:port (or any gRPC target string)
  std::string token;  // bearer token; empty = none. Never logged, never in error messages.

  // TLS: off = plain-text HTTP/2 (loopback / trusted networks). On with empty roots = the system's
  // root certificates.
  bool use_tls = false;
  std::string tls_root_certs_pem;    // PEM roots to trust instead of the system's
  std::string tls_client_cert_pem;   // for servers that require client certificates (mTLS)
  std::string tls_client_key_pem;
  std::string tls_server_name;       // override the name checked against the certificate

  Delivery delivery = Delivery::kPoll;
  uint32_t call_timeout_ms = 10000;  // deadline of unary calls (server_info, get_job, cancel)
  uint32_t connect_timeout_ms = 5000;  // how long a stream waits for the connection to come up
  // Consecutive re-attach attempts after a dropped stream before giving up with kUnavailable;
  // attempts wait 250 ms, 500 ms, 1 s, ... (at most 4 s) for the server to come back.
  uint32_t max_reattach = 5;
  // HTTP/2 keepalive ping interval while streams are open, to notice a silently dead network;
  // 0 = off. The server must allow pings this often.
  uint32_t keepalive_ms = 0;
};

// Callbacks of one job (any may be empty). Run on the delivery thread (see above).
struct JobCallbacks {
  std::function<void(const JobAcceptedEvent&)> on_accepted;
  std::function<void(const JobProgressEvent&)> on_progress;
  std::function<void(const JobPreviewEvent&)> on_preview;
  std::function<void(const TextureFileEvent&)> on_file;
  std::function<void(const JobDoneEvent&)> on_done;
  std::function<void(const JobErrorEvent&)> on_error;
};

class Client;

// Refers to one job of a Client. Cheap to copy; stays valid (and harmless) after the Client is
// destroyed. A default-constructed handle refers to no job.
class JobHandle {
 public:
  JobHandle();
  ~JobHandle();
  JobHandle(const JobHandle&);
  JobHandle& operator=(const JobHandle&);

  bool valid() const;
  // The server's job id once accepted; empty before.
  std::string job_id() const;
  // Ask the server to cancel the job (sent as soon as the job id is known). Non-blocking; the job
  // then ends with on_error (code kCancelled, state kCancelled), or normally if it had finished.
  void cancel();
  // Close the stream without cancelling: the job goes on on the server and can be re-attached
  // with Client::watch(job_id). Ends with on_error, code kCancelled, state kUnspecified.
  void stop_watching();
  // True once the last callback (on_done / on_error) has returned, or the Client was destroyed.
  bool finished() const;
  // Block until finished() or the timeout passes; returns finished(). With kPoll delivery the
  // callbacks run only in poll_events(): do not wait on the thread that polls.
  bool wait(std::chrono::milliseconds timeout) const;

  struct State;  // opaque (defined in the library)
  explicit JobHandle(std::shared_ptr<State> state);

 private:
  std::shared_ptr<State> state_;
};

class Client {
 public:
  explicit Client(ConnectOptions options);
  // Stops every stream (jobs go on on the server), joins the worker threads and drops events not
  // yet delivered.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ConnectOptions& options() const;

  // ---- jobs (non-blocking; results arrive through the callbacks) --------------------------
  JobHandle generate(const GenerateOptions& options, JobCallbacks callbacks);
  JobHandle texture_room(const RoomOptions& options, JobCallbacks callbacks);
  JobHandle watch(const std::string& job_id, const WatchOptions& options, JobCallbacks callbacks);

  // kPoll delivery: run the queued callbacks on this thread. Waits up to `wait` for the first
  // event if none is queued (0 = never wait). Returns the number of callbacks run. With
  // kCallbackThread it runs nothing and returns 0.
  size_t poll_events(std::chrono::milliseconds wait = std::chrono::milliseconds(0));

  // ---- blocking calls (bounded by call_timeout_ms) ----------------------------------------
  // grpc.health.v1 status of the whole server ("" service); needs no token.
  Result<ServingStatus> health();
  // Poll health() until SERVING or the timeout passes (kUnavailable / kDeadlineExceeded).
  Error wait_until_ready(std::chrono::milliseconds timeout);
  Result<ServerInfo> server_info();
  Result<JobInfo> get_job(const std::string& job_id);
  Result<CancelResult> cancel(const std::string& job_id);

  struct Impl;  // opaque (defined in the library)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace intrinsix
