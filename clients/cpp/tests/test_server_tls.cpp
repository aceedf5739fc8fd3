// TLS: a server with a self-signed certificate; the client trusts it through tls_root_certs_pem.
// Also several threads submitting to one Client at once.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "server_fixture.h"

namespace intrinsix::testing {
namespace {
namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ServerTls, SelfSignedServerIsTrustedThroughRootCertificates) {
  if (std::system("command -v openssl > /dev/null 2>&1") != 0) GTEST_SKIP() << "the openssl command is not installed";
  TempFolder certs;
  const fs::path cert = certs.path() / "cert.pem", key = certs.path() / "key.pem";
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                              "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + key.string() +
                              " -out " + cert.string() + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  ServerSettings settings;
  settings.tokens = {kToken};
  settings.tls_cert = cert.string();
  settings.tls_key = key.string();
  ServerProcess server(settings);
  ASSERT_EQ(server.start(), "");

  ConnectOptions options = connect_to(server.address());
  options.use_tls = true;
  options.tls_root_certs_pem = read_text(cert);
  Client client(options);
  ASSERT_TRUE(client.wait_until_ready(std::chrono::seconds(120)).ok());
  TempFolder folder;
  Recorder recorder;
  JobHandle job = client.generate(small_job(folder.str()), recorder.callbacks());
  ASSERT_TRUE(run_to_end(client, job));
  ASSERT_TRUE(recorder.done) << (recorder.error ? recorder.error->error.to_string() : "no final event");

  // A plain-text client cannot talk to a TLS server: a clear UNAVAILABLE, not a hang.
  ConnectOptions plain = connect_to(server.address());
  plain.connect_timeout_ms = 1000;
  Client plain_client(plain);
  Recorder refused;
  JobHandle refused_job = plain_client.generate(small_job(folder.str()), refused.callbacks());
  ASSERT_TRUE(run_to_end(plain_client, refused_job, std::chrono::seconds(20)));
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->error.code, StatusCode::kUnavailable);
}

TEST(ServerJobs, SeveralThreadsSubmitToOneClient) {
  Client client(connect_to(shared_server().address()));
  constexpr int kThreads = 4;
  TempFolder folders[kThreads];
  Recorder recorders[kThreads];
  JobHandle jobs[kThreads];
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      GenerateOptions options = small_job(folders[i].str());
      options.material_name = "Thread" + std::to_string(i);
      jobs[i] = client.generate(options, recorders[i].callbacks());
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(run_to_end(client, jobs[i])) << i;
    ASSERT_TRUE(recorders[i].done) << i;
    EXPECT_EQ(recorders[i].done->material_name, "Thread" + std::to_string(i));
    EXPECT_TRUE(fs::exists(folders[i].path() / ("Thread" + std::to_string(i) + "_albedo.png")));
  }
}

}  // namespace
}  // namespace intrinsix::testing
