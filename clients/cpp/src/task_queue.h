// A queue of closures, drained either by a thread the queue owns or by the caller (internal).
// The client uses one for callbacks (the delivery queue) and one for asynchronous control calls
// (CancelJob), so that neither runs on a gRPC thread or blocks a stream's worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace intrinsix {

class TaskQueue {
 public:
  using Task = std::function<void()>;

  // own_thread: a thread of this queue runs the tasks one by one; otherwise run_pending() does.
  explicit TaskQueue(bool own_thread);
  // Stops the owned thread after the task it is running; tasks still queued are dropped.
  ~TaskQueue();
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  void push(Task task);
  // Runs the tasks queued when it starts (waiting up to `wait` for the first); returns how many.
  // Tasks queued while they run wait for the next call, which bounds the time of one call.
  size_t run_pending(std::chrono::milliseconds wait);
  // Drop everything queued and stop accepting tasks.
  void close();

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Task> tasks_;
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace intrinsix
