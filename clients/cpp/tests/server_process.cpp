#include "server_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "intrinsix/client.h"

namespace intrinsix::testing {
namespace fs = std::filesystem;

std::string ServerProcess::python() {
  if (const char* env = std::getenv("INTRINSIX_TEST_PYTHON"); env != nullptr && *env != '\0') return env;
  return INTRINSIX_TEST_PYTHON;  // compile definition: the Python3_EXECUTABLE of the build
}

ServerProcess::ServerProcess(ServerSettings settings) : settings_(std::move(settings)) {
  std::string pattern = (fs::temp_directory_path() / "intrinsix_server_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  folder_ = pattern;
  if (settings_.data_dir.empty()) {
    settings_.data_dir = folder_ + "/data";
    own_data_dir_ = true;
  }
}

ServerProcess::~ServerProcess() {
  stop();
  std::error_code ignored;
  fs::remove_all(folder_, ignored);  // holds the data dir unless the caller gave one
}

std::string ServerProcess::log_tail(size_t bytes) const {
  std::ifstream in(folder_ + "/server.log", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

std::string ServerProcess::start(std::chrono::seconds timeout) {
  const std::string port_file = folder_ + "/port";
  const std::string token_file = folder_ + "/tokens";
  fs::remove(port_file);
  {
    std::ofstream tokens(token_file);
    for (const std::string& token : settings_.tokens) tokens << token << "\n";
  }
  std::vector<std::string> args = {python(), "-m", "intrinsix.server",
                                   "--tiny-random-model", "0",
                                   "--devices", "cpu",
                                   "--address", "127.0.0.1:" + std::to_string(settings_.port),
                                   "--port-file", port_file,
                                   "--data-dir", settings_.data_dir,
                                   "--chunk-kib", std::to_string(settings_.chunk_kib),
                                   "--shutdown-grace", "0",
                                   "--log-level", "WARNING"};
  if (!settings_.tokens.empty()) {
    args.push_back("--token-file");
    args.push_back(token_file);
  }
  if (!settings_.tls_cert.empty()) {
    args.insert(args.end(), {"--tls-cert", settings_.tls_cert, "--tls-key", settings_.tls_key});
  }
  const std::string log = folder_ + "/server.log";
  unsetenv("INTRINSIX_TOKENS");  // tokens come only from --token-file
  // Everything the child needs is prepared before fork(): between fork and exec a child of a
  // multi-threaded process may only make async-signal-safe calls (no allocation).
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test binary
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execvp(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!fs::exists(port_file)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return "the server exited during start-up (is the intrinsix package importable by " + python() +
             "? install it, or source tools/dev_env.sh). Log:\n" + log_tail();
    }
    if (std::chrono::steady_clock::now() > deadline) return "the server did not write its port file. Log:\n" + log_tail();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::ifstream(port_file) >> port_;
  settings_.port = port_;  // a restart reuses the port

  // Health over plain HTTP/2 cannot reach a TLS server: there the port file (written once the
  // server listens) is the signal, and the tests wait for SERVING with their own TLS client.
  if (!settings_.tls_cert.empty()) return "";
  ConnectOptions options;
  options.address = address();
  Client probe(options);
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  const Error ready = probe.wait_until_ready(left);
  if (!ready.ok()) return "the server did not become SERVING: " + ready.to_string() + "\nLog:\n" + log_tail();
  return "";
}

void ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void ServerProcess::kill_hard() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  wait_exit(std::chrono::seconds(10));
}

void ServerProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  wait_exit(std::chrono::seconds(15));
}

uint16_t unused_port() {
  // Bind port 0, read the port the kernel chose, close: nothing listens there afterwards.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace intrinsix::testing
