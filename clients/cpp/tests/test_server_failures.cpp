// Failures against the real server: cancel, dropped streams, auth, bad input, a server that is
// gone or dies mid-job, and its restart.
#include <filesystem>
#include <fstream>

#include "intrinsix/sha256.h"
#include "server_fixture.h"
#include "tcp_proxy.h"

namespace intrinsix::testing {
namespace {
namespace fs = std::filesystem;

bool folder_is_empty(const fs::path& folder) { return fs::is_empty(folder); }

// A job that runs long enough on the tiny model to be cancelled or interrupted mid-way.
GenerateOptions slow_job(const std::string& output_dir) {
  GenerateOptions options = small_job(output_dir);
  options.steps = 100;
  options.width = options.height = 256;
  return options;
}

TEST(ServerFailures, CancelDuringDenoising) {
  TempFolder folder;
  Client client(connect_to(shared_server().address()));
  Recorder recorder;
  JobHandle job;
  recorder.on_progress = [&job](const JobProgressEvent& p) {
    if (p.stage == "denoising") job.cancel();
  };
  job = client.generate(slow_job(folder.str()), recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_TRUE(recorder.error) << "the job finished before the cancel reached it";
  EXPECT_FALSE(recorder.done);
  EXPECT_EQ(recorder.error->error.code, StatusCode::kCancelled);
  EXPECT_EQ(recorder.error->state, JobState::kCancelled);
  EXPECT_EQ(recorder.error->job_id, job.job_id());
  EXPECT_TRUE(folder_is_empty(folder.path())) << "a cancelled job leaves no files";
  auto info = client.get_job(job.job_id());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info.value.state, JobState::kCancelled);
}

TEST(ServerFailures, CancelBeforeAcceptedIsSentOnAcceptance) {
  TempFolder folder;
  Client client(connect_to(shared_server().address()));
  Recorder recorder;
  JobHandle job = client.generate(slow_job(folder.str()), recorder.callbacks());
  job.cancel();  // no job id yet
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_TRUE(recorder.error);
  EXPECT_EQ(recorder.error->state, JobState::kCancelled);
  EXPECT_EQ(recorder.order.front(), "accepted");
}

TEST(ServerFailures, BlockingCancelOfAFinishedJob) {
  TempFolder folder;
  Client client(connect_to(shared_server().address()));
  Recorder recorder;
  JobHandle job = client.generate(small_job(folder.str()), recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_TRUE(recorder.done);
  auto result = client.cancel(job.job_id());
  ASSERT_TRUE(result.ok()) << result.error.to_string();
  EXPECT_FALSE(result.value.cancelled);
  EXPECT_EQ(result.value.state, JobState::kSucceeded);
}

TEST(ServerFailures, TimeoutBoundsTheJobOnTheServer) {
  TempFolder folder;
  Client client(connect_to(shared_server().address()));
  GenerateOptions options = slow_job(folder.str());
  options.steps = 100;
  options.width = options.height = 1024;  // many seconds on a CPU: far longer than the timeout
  options.timeout_ms = 1500;
  Recorder recorder;
  JobHandle job = client.generate(options, recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_TRUE(recorder.error) << "the job finished within its timeout";
  EXPECT_EQ(recorder.error->error.code, StatusCode::kDeadlineExceeded) << recorder.error->error.to_string();
  // The job was accepted; its end (FAILED on the server) is reported, not just the call's deadline.
  EXPECT_FALSE(recorder.error->job_id.empty());
  EXPECT_EQ(recorder.error->state, JobState::kFailed);
  EXPECT_TRUE(folder_is_empty(folder.path()));
}

TEST(ServerFailures, ResumeAfterTheStreamDropsMidResult) {
  // Reference: the same job over a direct connection, and the bytes a whole job moves.
  TempFolder direct_folder, resumed_folder;
  TcpProxy proxy(shared_server().port());
  std::vector<TextureFileInfo> reference;
  uint64_t job_bytes = 0;
  {
    Client client(connect_to("127.0.0.1:" + std::to_string(proxy.port())));
    ASSERT_TRUE(client.wait_until_ready(std::chrono::seconds(10)).ok());
    const uint64_t before = proxy.downstream_bytes();
    Recorder recorder;
    JobHandle job = client.generate(small_job(direct_folder.str()), recorder.callbacks());
    ASSERT_TRUE(run_to_end(client, job));
    ASSERT_TRUE(recorder.done);
    reference = recorder.done->files;
    job_bytes = proxy.downstream_bytes() - before;
  }
  ASSERT_GT(job_bytes, 8000u);
  uint64_t result_bytes = 0;
  for (const TextureFileInfo& info : reference) result_bytes += info.byte_size;
  // The cut below must land inside the result: it is most of what a job sends.
  ASSERT_GT(result_bytes, job_bytes / 2) << "job " << job_bytes << " bytes, result " << result_bytes;
  // Cut every connection after 70 % of those bytes: inside the result (1 KiB chunks) for sure.
  ConnectOptions options = connect_to("127.0.0.1:" + std::to_string(proxy.port()));
  Client client(options);
  ASSERT_TRUE(client.wait_until_ready(std::chrono::seconds(10)).ok());
  proxy.cut_after(job_bytes * 7 / 10);
  Recorder recorder;
  JobHandle job = client.generate(small_job(resumed_folder.str()), recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_TRUE(recorder.done) << (recorder.error ? recorder.error->error.to_string() : "no final event");
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_GE(recorder.done->reattach_count, 1u);
  ASSERT_GE(recorder.accepted.size(), 2u);
  const JobAcceptedEvent& resumed = recorder.accepted.back();
  EXPECT_TRUE(resumed.reattached);
  EXPECT_EQ(resumed.job_id, recorder.accepted.front().job_id) << "re-attached to the same job";
  EXPECT_GT(resumed.resume_offset, 0u) << "the transfer continued where it broke";
  // Same seed, same bytes: the reassembled files equal the uninterrupted ones.
  ASSERT_EQ(recorder.done->files.size(), reference.size());
  for (size_t i = 0; i < reference.size(); ++i) {
    if (reference[i].name == "material.json") continue;
    EXPECT_EQ(recorder.done->files[i].sha256, reference[i].sha256) << reference[i].name;
    std::ifstream in(resumed_folder.path() / reference[i].name, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(sha256_hex(bytes.data(), bytes.size()), reference[i].sha256) << reference[i].name;
  }
  EXPECT_EQ(recorder.files.size(), reference.size()) << "each file reported once";
}

TEST(ServerFailures, WrongTokenIsPermissionDenied) {
  TempFolder folder;
  const std::string secret = "not-the-right-token-93af";
  Client client(connect_to(shared_server().address(), secret));
  Recorder recorder;
  JobHandle job = client.generate(small_job(folder.str()), recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_TRUE(recorder.error);
  EXPECT_EQ(recorder.error->error.code, StatusCode::kPermissionDenied);
  EXPECT_TRUE(recorder.error->job_id.empty());
  EXPECT_NE(recorder.error->error.message.find("does not accept this access token"), std::string::npos);
  EXPECT_EQ(recorder.error->error.message.find(secret), std::string::npos) << "the token must never be shown";
  auto info = client.server_info();
  EXPECT_EQ(info.error.code, StatusCode::kPermissionDenied);
  // Health needs no token.
  auto health = client.health();
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health.value, ServingStatus::kServing);
}

TEST(ServerFailures, MissingTokenIsUnauthenticated) {
  TempFolder folder;
  Client client(connect_to(shared_server().address(), ""));
  Recorder recorder;
  JobHandle job = client.generate(small_job(folder.str()), recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_TRUE(recorder.error);
  EXPECT_EQ(recorder.error->error.code, StatusCode::kUnauthenticated);
  EXPECT_NE(recorder.error->error.message.find("requires an access token"), std::string::npos);
  EXPECT_EQ(recorder.order, std::vector<std::string>{"error"});
}

TEST(ServerFailures, InvalidArgumentNamesTheField) {
  TempFolder folder;
  Client client(connect_to(shared_server().address()));
  GenerateOptions options = small_job(folder.str());
  options.width = 65;  // not a multiple of 16
  Recorder recorder;
  JobHandle job = client.generate(options, recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_TRUE(recorder.error);
  EXPECT_EQ(recorder.error->error.code, StatusCode::kInvalidArgument);
  EXPECT_NE(recorder.error->error.message.find("width"), std::string::npos) << recorder.error->error.message;

  GenerateOptions no_profile = small_job(folder.str(), ExportProfile::kUnspecified);
  Recorder second;
  JobHandle job2 = client.generate(no_profile, second.callbacks());
  ASSERT_TRUE(run_to_end(client, job2));
  ASSERT_TRUE(second.error);
  EXPECT_EQ(second.error->error.code, StatusCode::kInvalidArgument);
  EXPECT_NE(second.error->error.message.find("profile"), std::string::npos) << second.error->error.message;
  EXPECT_TRUE(folder_is_empty(folder.path()));
}

TEST(ServerFailures, LocalProblemsAreReportedWithoutTheServer) {
  // An address nobody listens on: these errors must come before any network traffic.
  ConnectOptions options = connect_to("127.0.0.1:" + std::to_string(unused_port()));
  Client client(options);
  Recorder no_folder;
  JobHandle job = client.generate(small_job(""), no_folder.callbacks());
  ASSERT_TRUE(run_to_end(client, job, std::chrono::seconds(10)));
  ASSERT_TRUE(no_folder.error);
  EXPECT_EQ(no_folder.error->error.code, StatusCode::kInvalidArgument);
  EXPECT_NE(no_folder.error->error.message.find("output_dir"), std::string::npos);

  Recorder no_id;
  WatchOptions watch;
  watch.output_dir = "/tmp";
  JobHandle watched = client.watch("", watch, no_id.callbacks());
  ASSERT_TRUE(run_to_end(client, watched, std::chrono::seconds(10)));
  ASSERT_TRUE(no_id.error);
  EXPECT_EQ(no_id.error->error.code, StatusCode::kInvalidArgument);
  EXPECT_NE(no_id.error->error.message.find("job_id"), std::string::npos);
}

TEST(ServerFailures, RoomTexturingWithoutATexturerOrWithABadMesh) {
  TempFolder folder;
  Client client(connect_to(shared_server().address()));
  RoomOptions options;
  options.prompt = "plaster walls";
  options.profile = ExportProfile::kGodot;
  options.output_dir = folder.str();
  options.mesh.positions = {0, 0, 0, 1, 0, 0, 0, 1, 0};
  options.mesh.indices = {0, 1, 2};
  {
    Recorder bad;
    RoomOptions broken = options;
    broken.mesh.indices = {0, 1};  // not whole triangles: refused before any network traffic
    JobHandle job = client.texture_room(broken, bad.callbacks());
    ASSERT_TRUE(run_to_end(client, job));
    ASSERT_TRUE(bad.error);
    EXPECT_EQ(bad.error->error.code, StatusCode::kInvalidArgument);
    EXPECT_NE(bad.error->error.message.find("mesh.indices"), std::string::npos);
  }
  auto info = client.server_info();
  ASSERT_TRUE(info.ok());
  Recorder recorder;
  JobHandle job = client.texture_room(options, recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job, std::chrono::seconds(120)));
  if (!info.value.room_texturing_available) {
    ASSERT_TRUE(recorder.error);
    EXPECT_EQ(recorder.error->error.code, StatusCode::kUnimplemented) << recorder.error->error.to_string();
  } else {
    ASSERT_TRUE(recorder.done) << (recorder.error ? recorder.error->error.to_string() : "no final event");
  }
}

TEST(ServerFailures, NoServerIsAClearUnavailableError) {
  TempFolder folder;
  const std::string address = "127.0.0.1:" + std::to_string(unused_port());
  ConnectOptions options = connect_to(address);
  options.connect_timeout_ms = 1000;
  options.call_timeout_ms = 2000;
  Client client(options);
  Recorder recorder;
  const auto start = std::chrono::steady_clock::now();
  JobHandle job = client.generate(small_job(folder.str()), recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job, std::chrono::seconds(20)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_TRUE(recorder.error);
  EXPECT_EQ(recorder.error->error.code, StatusCode::kUnavailable);
  EXPECT_NE(recorder.error->error.message.find(address), std::string::npos) << recorder.error->error.message;
  EXPECT_EQ(client.server_info().error.code, StatusCode::kUnavailable);
  EXPECT_EQ(client.health().error.code, StatusCode::kUnavailable);
}

TEST(ServerFailures, ServerDiesMidJobThenRestartsWithTheJobInterrupted) {
  TempFolder data;
  ServerSettings settings;
  settings.tokens = {kToken};
  settings.data_dir = (data.path() / "server").u8string();
  ServerProcess server(settings);
  ASSERT_EQ(server.start(), "");

  TempFolder folder;
  ConnectOptions options = connect_to(server.address());
  options.max_reattach = 2;
  options.connect_timeout_ms = 500;
  Client client(options);
  Recorder recorder;
  recorder.on_progress = [&server](const JobProgressEvent& p) {
    if (p.stage == "denoising") server.kill_hard();
  };
  JobHandle job = client.generate(slow_job(folder.str()), recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job, std::chrono::seconds(60)));
  ASSERT_TRUE(recorder.error);
  EXPECT_EQ(recorder.error->error.code, StatusCode::kUnavailable);
  const std::string job_id = recorder.accepted.at(0).job_id;
  EXPECT_NE(recorder.error->error.message.find(job_id), std::string::npos) << recorder.error->error.message;
  EXPECT_TRUE(folder_is_empty(folder.path()));

  // The server comes back on the same port with the same data: the job is marked interrupted.
  ASSERT_EQ(server.start(), "");
  Recorder again;
  WatchOptions watch;
  watch.output_dir = folder.str();
  JobHandle reattached = client.watch(job_id, watch, again.callbacks());
  ASSERT_TRUE(run_to_end(client, reattached));
  ASSERT_TRUE(again.error);
  EXPECT_EQ(again.error->state, JobState::kInterrupted);
  EXPECT_EQ(again.error->error.code, StatusCode::kAborted);

  // An unknown job id is NOT_FOUND.
  Recorder unknown;
  JobHandle missing = client.watch(std::string(32, 'a'), watch, unknown.callbacks());
  ASSERT_TRUE(run_to_end(client, missing));
  ASSERT_TRUE(unknown.error);
  EXPECT_EQ(unknown.error->error.code, StatusCode::kNotFound);
}

}  // namespace
}  // namespace intrinsix::testing
