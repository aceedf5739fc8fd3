#include "server_fixture.h"

#include <random>

namespace intrinsix::testing {
namespace fs = std::filesystem;
namespace {

ServerProcess* g_server = nullptr;

class SharedServerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    ServerSettings settings;
    settings.tokens = {kToken};
    server_ = std::make_unique<ServerProcess>(settings);
    const std::string problem = server_->start();
    ASSERT_EQ(problem, "") << "cannot start the IntrinsiX server with " << ServerProcess::python();
    g_server = server_.get();
  }
  void TearDown() override {
    g_server = nullptr;
    server_.reset();
  }

 private:
  std::unique_ptr<ServerProcess> server_;
};

// Registered before main() runs RUN_ALL_TESTS (gtest_main).
const ::testing::Environment* const g_environment =
    ::testing::AddGlobalTestEnvironment(new SharedServerEnvironment);

}  // namespace

ServerProcess& shared_server() {
  if (g_server == nullptr) throw std::runtime_error("the shared IntrinsiX server is not running");
  return *g_server;
}

ConnectOptions connect_to(const std::string& address, const std::string& token) {
  ConnectOptions options;
  options.address = address;
  options.token = token;
  options.connect_timeout_ms = 3000;
  options.call_timeout_ms = 10000;
  return options;
}

GenerateOptions small_job(const std::string& output_dir, ExportProfile profile) {
  GenerateOptions options;
  options.prompt = "weathered red brick wall";
  options.material_name = "RedBrick";
  options.profile = profile;
  options.seed = 1234;
  options.steps = 2;
  options.width = 64;
  options.height = 64;
  options.output_dir = output_dir;
  return options;
}

TempFolder::TempFolder() {
  std::random_device device;
  path_ = fs::temp_directory_path() / ("intrinsix_client_test_" + std::to_string(device()) + std::to_string(device()));
  fs::create_directories(path_);
}

TempFolder::~TempFolder() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

JobCallbacks Recorder::callbacks() {
  JobCallbacks callbacks;
  callbacks.on_accepted = [this](const JobAcceptedEvent& e) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      order.push_back("accepted");
      accepted.push_back(e);
      threads.insert(std::this_thread::get_id());
    }
    if (on_accepted) on_accepted(e);
  };
  callbacks.on_progress = [this](const JobProgressEvent& e) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      order.push_back("progress");
      progress.push_back(e);
      threads.insert(std::this_thread::get_id());
    }
    if (on_progress) on_progress(e);
  };
  callbacks.on_preview = [this](const JobPreviewEvent& e) {
    std::lock_guard<std::mutex> lock(mutex);
    order.push_back("preview");
    previews.push_back(e);
    threads.insert(std::this_thread::get_id());
  };
  callbacks.on_file = [this](const TextureFileEvent& e) {
    std::lock_guard<std::mutex> lock(mutex);
    order.push_back("file");
    files.push_back(e);
    threads.insert(std::this_thread::get_id());
  };
  callbacks.on_done = [this](const JobDoneEvent& e) {
    std::lock_guard<std::mutex> lock(mutex);
    order.push_back("done");
    done = e;
    threads.insert(std::this_thread::get_id());
  };
  callbacks.on_error = [this](const JobErrorEvent& e) {
    std::lock_guard<std::mutex> lock(mutex);
    order.push_back("error");
    error = e;
    threads.insert(std::this_thread::get_id());
  };
  return callbacks;
}

bool run_to_end(Client& client, const JobHandle& job, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!job.finished()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    client.poll_events(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace intrinsix::testing
