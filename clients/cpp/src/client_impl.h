// Internal state of Client and JobHandle (the pimpl halves that hold gRPC objects).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "intrinsix/client.h"
#include "intrinsix/v1/service.grpc.pb.h"
#include "intrinsix_client/health.grpc.pb.h"
#include "task_queue.h"

namespace intrinsix {

struct JobHandle::State {
  std::weak_ptr<Client::Impl> client;

  mutable std::mutex mutex;
  std::condition_variable changed;  // finished, stop requested
  std::string job_id;               // set at the first JobAccepted
  bool cancel_requested = false;
  bool cancel_in_flight = false;   // a CancelJob call is queued or running
  bool cancel_confirmed = false;   // the server answered a CancelJob
  bool stop_requested = false;     // stop_watching() or the client shuts down
  bool finished = false;           // the last callback has run (or was dropped at shutdown)
  grpc::ClientContext* active_context = nullptr;  // the open stream, for TryCancel

  std::thread worker;
  std::atomic<bool> worker_done{false};
};

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  explicit Impl(ConnectOptions connect);

  ConnectOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::TextureService::Stub> stub;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_stub;

  TaskQueue events;   // user callbacks
  TaskQueue control;  // CancelJob calls, off the callers' and workers' threads

  std::mutex jobs_mutex;
  std::vector<std::shared_ptr<JobHandle::State>> jobs;
  std::atomic<bool> shutting_down{false};

  // A context with the token and, if timeout_ms > 0, a deadline.
  std::unique_ptr<grpc::ClientContext> make_context(uint32_t timeout_ms) const;
  // Wait until the channel is connected (or the timeout passes); false if it is not.
  bool wait_connected(uint32_t timeout_ms) const;
  // Queue a CancelJob for the job if it was requested and is not yet confirmed or in flight.
  void send_cancel_if_requested(const std::shared_ptr<JobHandle::State>& state);
  // Start a worker thread for a job; joins the threads of jobs that have ended.
  JobHandle start(std::function<void(std::shared_ptr<JobHandle::State>)> body);
  void shutdown();
};

}  // namespace intrinsix
