// Runs the real IntrinsiX Python server for the tests (POSIX): `python -m intrinsix.server` with
// the tiny random model on a CPU, a free loopback port (the server picks it and writes it to a
// port file), a temporary data directory and optional tokens. start() waits until the standard
// health service answers SERVING; the destructor stops the process (SIGTERM, then SIGKILL) and
// removes the temporary folder.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace intrinsix::testing {

struct ServerSettings {
  std::vector<std::string> tokens;  // accepted bearer tokens; empty = no authentication
  uint32_t chunk_kib = 1;           // small chunks: every result spans many TextureChunk events
  uint16_t port = 0;                // 0 = any free port
  std::string data_dir;             // empty = a fresh temporary folder
  std::string tls_cert;             // PEM files: serve TLS (both or neither)
  std::string tls_key;
};

class ServerProcess {
 public:
  explicit ServerProcess(ServerSettings settings);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Launch and wait until SERVING. Returns "" or a message that says what went wrong, with the
  // tail of the server's log.
  std::string start(std::chrono::seconds timeout = std::chrono::seconds(180));
  // SIGKILL: the server vanishes without a goodbye (a crash, a pulled cable).
  void kill_hard();
  // SIGTERM and wait for the exit.
  void stop();

  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& data_dir() const { return settings_.data_dir; }
  std::string log_tail(size_t bytes = 3000) const;

  // The Python used: $INTRINSIX_TEST_PYTHON, else the interpreter CMake found.
  static std::string python();

 private:
  void wait_exit(std::chrono::milliseconds timeout);

  ServerSettings settings_;
  std::string folder_;  // temporary folder: port file, token file, log, default data dir
  bool own_data_dir_ = false;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// A loopback port with nothing listening on it.
uint16_t unused_port();

}  // namespace intrinsix::testing
