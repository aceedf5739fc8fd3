#include "task_queue.h"

namespace intrinsix {

TaskQueue::TaskQueue(bool own_thread) {
  if (own_thread) thread_ = std::thread([this] { loop(); });
}

TaskQueue::~TaskQueue() {
  close();
  if (thread_.joinable()) thread_.join();
}

void TaskQueue::push(Task task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    tasks_.push_back(std::move(task));
  }
  ready_.notify_all();
}

size_t TaskQueue::run_pending(std::chrono::milliseconds wait) {
  std::deque<Task> batch;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (wait.count() > 0) ready_.wait_for(lock, wait, [this] { return !tasks_.empty() || closed_; });
    batch.swap(tasks_);
  }
  for (Task& task : batch) task();
  return batch.size();
}

void TaskQueue::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    tasks_.clear();
  }
  ready_.notify_all();
}

void TaskQueue::loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return !tasks_.empty() || closed_; });
      if (closed_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace intrinsix
