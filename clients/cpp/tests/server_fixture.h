// Shared pieces of the tests against the real server: one server process for the whole test
// binary (a GoogleTest environment: started before the first test, stopped after the last), an
// event recorder, and helpers to run a job to its end.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "intrinsix/client.h"
#include "server_process.h"

namespace intrinsix::testing {

constexpr const char* kToken = "test-token-5c1f0e";  // the shared server's only token

// The server of this test binary (with token authentication on).
ServerProcess& shared_server();

ConnectOptions connect_to(const std::string& address, const std::string& token = kToken);

// A small, fast, reproducible job for the tiny model.
GenerateOptions small_job(const std::string& output_dir, ExportProfile profile = ExportProfile::kGodot);

// A fresh empty folder under the system temp dir, removed by the destructor.
class TempFolder {
 public:
  TempFolder();
  ~TempFolder();
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.u8string(); }

 private:
  std::filesystem::path path_;
};

// Records every callback of a job, in order, and the threads they ran on.
struct Recorder {
  std::mutex mutex;
  std::vector<std::string> order;  // "accepted", "progress", "preview", "file", "done", "error"
  std::vector<JobAcceptedEvent> accepted;
  std::vector<JobProgressEvent> progress;
  std::vector<JobPreviewEvent> previews;
  std::vector<TextureFileEvent> files;
  std::optional<JobDoneEvent> done;
  std::optional<JobErrorEvent> error;
  std::set<std::thread::id> threads;
  // Optional hooks run inside the callbacks (e.g. cancel at the first denoising step).
  std::function<void(const JobAcceptedEvent&)> on_accepted;
  std::function<void(const JobProgressEvent&)> on_progress;

  JobCallbacks callbacks();
};

// kPoll delivery: pump the client's events until the job has finished; false on timeout.
bool run_to_end(Client& client, const JobHandle& job, std::chrono::seconds timeout = std::chrono::seconds(60));

}  // namespace intrinsix::testing
