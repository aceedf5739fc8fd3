// Jobs against the real server: generate, events, files, engine decisions on real headers,
// re-attaching, delivery threads.
#include <filesystem>
#include <fstream>
#include <regex>

#include "intrinsix/engine_import.h"
#include "intrinsix/sha256.h"
#include "server_fixture.h"

namespace intrinsix::testing {
namespace {
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool is_png(const std::vector<uint8_t>& bytes) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return bytes.size() > 8 && std::equal(kSignature, kSignature + 8, bytes.begin());
}

TEST(ServerJobs, ServerInfoAndHealth) {
  Client client(connect_to(shared_server().address()));
  auto health = client.health();
  ASSERT_TRUE(health.ok()) << health.error.to_string();
  EXPECT_EQ(health.value, ServingStatus::kServing);
  auto info = client.server_info();
  ASSERT_TRUE(info.ok()) << info.error.to_string();
  EXPECT_EQ(info.value.api_version, "intrinsix.v1");
  EXPECT_TRUE(info.value.ready);
  EXPECT_TRUE(info.value.auth_required);
  EXPECT_EQ(info.value.chunk_size, 1024u);
  EXPECT_GE(info.value.limits.max_size, 64u);
  EXPECT_EQ(info.value.limits.size_multiple, 16u);
}

TEST(ServerJobs, GenerateGodotWritesVerifiedFilesInOrder) {
  TempFolder folder;
  Client client(connect_to(shared_server().address()));
  GenerateOptions options = small_job(folder.str(), ExportProfile::kGodot);
  options.preview_every = 1;
  Recorder recorder;
  JobHandle job = client.generate(options, recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_FALSE(recorder.error) << recorder.error->error.to_string();
  ASSERT_TRUE(recorder.done);
  const JobDoneEvent& done = *recorder.done;

  // Event order: accepted first, done last, every file before done.
  ASSERT_FALSE(recorder.order.empty());
  EXPECT_EQ(recorder.order.front(), "accepted");
  EXPECT_EQ(recorder.order.back(), "done");
  ASSERT_EQ(recorder.accepted.size(), 1u);
  EXPECT_TRUE(std::regex_match(recorder.accepted[0].job_id, std::regex("[0-9a-f]{32}")));
  EXPECT_EQ(recorder.accepted[0].seed, 1234u);
  EXPECT_FALSE(recorder.accepted[0].reattached);
  EXPECT_EQ(job.job_id(), recorder.accepted[0].job_id);

  // Progress is monotonic in [0, 1]; previews are PNGs of the three branches.
  ASSERT_FALSE(recorder.progress.empty());
  for (size_t i = 1; i < recorder.progress.size(); ++i) {
    EXPECT_GE(recorder.progress[i].overall, recorder.progress[i - 1].overall);
  }
  EXPECT_LE(recorder.progress.back().overall, 1.0f);
  ASSERT_EQ(recorder.previews.size(), 2u) << "preview_every = 1 with 2 steps";
  for (const JobPreviewEvent& preview : recorder.previews) {
    ASSERT_EQ(preview.images.size(), 3u);
    for (const PreviewImage& image : preview.images) {
      EXPECT_TRUE(is_png(image.png)) << to_string(image.branch);
      EXPECT_GT(image.width, 0u);
    }
  }

  // Files: the godot profile's names, each verified on disk, manifest last.
  EXPECT_EQ(done.material_name, "RedBrick");
  EXPECT_EQ(done.profile, ExportProfile::kGodot);
  EXPECT_EQ(done.reattach_count, 0u);
  ASSERT_EQ(done.files.size(), recorder.files.size());
  ASSERT_EQ(done.files.size(), done.paths.size());
  std::vector<std::string> names;
  uint64_t total = 0;
  for (size_t i = 0; i < done.files.size(); ++i) {
    names.push_back(done.files[i].name);
    EXPECT_EQ(recorder.files[i].info.name, done.files[i].name);
    EXPECT_EQ(fs::path(done.paths[i]), folder.path() / done.files[i].name);
    const std::string bytes = read_file(done.paths[i]);
    EXPECT_EQ(bytes.size(), done.files[i].byte_size);
    EXPECT_EQ(sha256_hex(bytes.data(), bytes.size()), done.files[i].sha256) << done.files[i].name;
    total += bytes.size();
  }
  EXPECT_EQ(total, done.total_bytes);
  EXPECT_GT(total, 4096u) << "several 1 KiB chunks per result";
  for (const char* expected : {"RedBrick_albedo.png", "RedBrick_normal.png", "RedBrick_orm.png", "RedBrick_height.exr"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  EXPECT_EQ(names.back(), "material.json");
  EXPECT_EQ(read_file(folder.path() / "material.json"), done.manifest_json);
  // No staging files are left behind.
  for (const auto& entry : fs::directory_iterator(folder.path())) {
    EXPECT_NE(entry.path().filename().string().front(), '.') << entry.path();
  }

  // The engine decisions on the server's real headers.
  auto plan = material_plan(Engine::kGodot, done.files);
  ASSERT_TRUE(plan.ok()) << plan.error.to_string();
  EXPECT_EQ(plan.value.material_class, "ORMMaterial3D");
  for (const MaterialBinding& binding : plan.value.bindings) EXPECT_TRUE(fs::exists(folder.path() / binding.file_name));
  for (const TextureFileInfo& info : done.files) {
    auto settings = import_settings(Engine::kGodot, info);
    ASSERT_TRUE(settings.ok()) << settings.error.to_string();
    if (info.semantic == TextureSemantic::kNormal) {
      EXPECT_EQ(info.normal_convention, NormalConvention::kOpenGl);
      EXPECT_FALSE(settings.value.flip_green);
    }
    if (info.semantic == TextureSemantic::kBaseColor) EXPECT_TRUE(settings.value.srgb);
    if (info.semantic == TextureSemantic::kOrm) EXPECT_FALSE(settings.value.srgb);
  }

  // kPoll delivery: every callback ran on this thread.
  EXPECT_EQ(recorder.threads, (std::set<std::thread::id>{std::this_thread::get_id()}));
}

TEST(ServerJobs, GenerateUnrealProfileMatchesUnrealDecisions) {
  TempFolder folder;
  Client client(connect_to(shared_server().address()));
  Recorder recorder;
  JobHandle job = client.generate(small_job(folder.str(), ExportProfile::kUnreal), recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_TRUE(recorder.done) << (recorder.error ? recorder.error->error.to_string() : "no final event");
  auto plan = material_plan(Engine::kUnreal, recorder.done->files);
  ASSERT_TRUE(plan.ok()) << plan.error.to_string();
  ASSERT_EQ(plan.value.bindings.size(), 3u);
  EXPECT_EQ(plan.value.bindings[0].file_name, "T_RedBrick_BC.png");
  EXPECT_EQ(plan.value.bindings[1].file_name, "T_RedBrick_N.png");
  EXPECT_EQ(plan.value.bindings[2].file_name, "T_RedBrick_ORM.png");
  for (const TextureFileInfo& info : recorder.done->files) {
    auto settings = import_settings(Engine::kUnreal, info);
    ASSERT_TRUE(settings.ok());
    if (info.semantic == TextureSemantic::kNormal) {
      EXPECT_EQ(info.normal_convention, NormalConvention::kDirectX);
      EXPECT_FALSE(settings.value.flip_green) << "already DirectX";
      EXPECT_STREQ(unreal_compression_name(settings.value.compression), "TC_Normalmap");
    }
  }
}

TEST(ServerJobs, SameSeedGivesIdenticalFiles) {
  TempFolder first, second;
  Client client(connect_to(shared_server().address()));
  Recorder a, b;
  JobHandle job_a = client.generate(small_job(first.str()), a.callbacks());
  JobHandle job_b = client.generate(small_job(second.str()), b.callbacks());
  ASSERT_TRUE(run_to_end(client, job_a));
  ASSERT_TRUE(run_to_end(client, job_b));
  ASSERT_TRUE(a.done && b.done);
  EXPECT_NE(a.done->job_id, b.done->job_id);
  ASSERT_EQ(a.done->files.size(), b.done->files.size());
  for (size_t i = 0; i < a.done->files.size(); ++i) {
    if (a.done->files[i].name == "material.json") continue;  // carries the job's own metadata
    EXPECT_EQ(a.done->files[i].sha256, b.done->files[i].sha256) << a.done->files[i].name;
  }
}

TEST(ServerJobs, WatchResumesFromFilesOnDisk) {
  TempFolder folder;
  std::string job_id;
  std::vector<TextureFileInfo> files;
  {
    Client client(connect_to(shared_server().address()));
    Recorder recorder;
    JobHandle job = client.generate(small_job(folder.str()), recorder.callbacks());
    ASSERT_TRUE(run_to_end(client, job));
    ASSERT_TRUE(recorder.done);
    job_id = recorder.done->job_id;
    files = recorder.done->files;
  }
  // A new session (another Client) re-attaches: everything is on disk, nothing is fetched again.
  Client client(connect_to(shared_server().address()));
  WatchOptions watch;
  watch.output_dir = folder.str();
  {
    Recorder recorder;
    JobHandle job = client.watch(job_id, watch, recorder.callbacks());
    ASSERT_TRUE(run_to_end(client, job));
    ASSERT_TRUE(recorder.done) << (recorder.error ? recorder.error->error.to_string() : "no final event");
    EXPECT_TRUE(recorder.files.empty());
    ASSERT_EQ(recorder.accepted.size(), 1u);
    EXPECT_TRUE(recorder.accepted[0].reattached);
    EXPECT_EQ(recorder.accepted[0].resume_offset, recorder.done->total_bytes);
    EXPECT_EQ(recorder.done->files.size(), files.size());
  }
  // The second file is lost: only it and the files after it come again.
  const fs::path lost = folder.path() / files[1].name;
  fs::remove(lost);
  {
    Recorder recorder;
    JobHandle job = client.watch(job_id, watch, recorder.callbacks());
    ASSERT_TRUE(run_to_end(client, job));
    ASSERT_TRUE(recorder.done) << (recorder.error ? recorder.error->error.to_string() : "no final event");
    EXPECT_EQ(recorder.accepted[0].resume_offset, files[1].result_offset);
    ASSERT_EQ(recorder.files.size(), files.size() - 1);
    EXPECT_EQ(recorder.files[0].info.name, files[1].name);
    const std::string bytes = read_file(lost);
    EXPECT_EQ(sha256_hex(bytes.data(), bytes.size()), files[1].sha256);
  }
  // get_job reports the stored record.
  auto info = client.get_job(job_id);
  ASSERT_TRUE(info.ok()) << info.error.to_string();
  EXPECT_EQ(info.value.state, JobState::kSucceeded);
  EXPECT_EQ(info.value.files.size(), files.size());
  EXPECT_FLOAT_EQ(info.value.progress, 1.0f);
}

TEST(ServerJobs, CallbackThreadDeliversOnOneOtherThread) {
  TempFolder folder;
  ConnectOptions options = connect_to(shared_server().address());
  options.delivery = Delivery::kCallbackThread;
  Client client(options);
  Recorder recorder;
  GenerateOptions job_options = small_job(folder.str());
  job_options.preview_every = 1;
  JobHandle job = client.generate(job_options, recorder.callbacks());
  ASSERT_TRUE(job.wait(std::chrono::seconds(60)));  // nobody polls: the client's thread delivers
  EXPECT_EQ(client.poll_events(), 0u);
  std::lock_guard<std::mutex> lock(recorder.mutex);
  ASSERT_TRUE(recorder.done);
  ASSERT_EQ(recorder.threads.size(), 1u);
  EXPECT_NE(*recorder.threads.begin(), std::this_thread::get_id());
}

TEST(ServerJobs, StopWatchingLeavesTheJobRunning) {
  TempFolder folder;
  Client client(connect_to(shared_server().address()));
  GenerateOptions options = small_job(folder.str());
  options.steps = 30;
  options.width = options.height = 128;
  Recorder recorder;
  JobHandle job;
  recorder.on_accepted = [&job](const JobAcceptedEvent&) { job.stop_watching(); };
  job = client.generate(options, recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_TRUE(recorder.error);
  EXPECT_EQ(recorder.error->error.code, StatusCode::kCancelled);
  EXPECT_NE(recorder.error->error.message.find("goes on"), std::string::npos) << recorder.error->error.message;
  const std::string job_id = recorder.accepted.at(0).job_id;
  // The job went on; re-attaching brings its result.
  Recorder again;
  WatchOptions watch;
  watch.output_dir = folder.str();
  JobHandle second = client.watch(job_id, watch, again.callbacks());
  ASSERT_TRUE(run_to_end(client, second));
  ASSERT_TRUE(again.done) << (again.error ? again.error->error.to_string() : "no final event");
  EXPECT_EQ(again.done->job_id, job_id);
}

}  // namespace
}  // namespace intrinsix::testing
