// A loopback TCP proxy between the client and the server (POSIX), used to break connections the
// way a network does: cut_after(n) closes every connection once n bytes have flowed from the
// server to the client (once), so a job's stream drops in the middle of its result.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace intrinsix::testing {

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }
  // Close all connections when the server->client byte count (since this call) reaches `bytes`;
  // later connections pass untouched.
  void cut_after(uint64_t bytes);
  // Bytes forwarded from the server to the client so far, over all connections.
  uint64_t downstream_bytes() const { return downstream_.load(); }
  int cuts() const { return cuts_.load(); }
  int connections() const { return connections_.load(); }

 private:
  void accept_loop();
  void pump(int client, int server);

  uint16_t target_port_;
  uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> downstream_{0};
  std::atomic<int64_t> cut_at_{-1};  // downstream byte count at which to cut; -1 = never
  std::atomic<int> cuts_{0};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<std::thread> pumps_;
  std::vector<int> sockets_;  // open sockets, shut down on a cut or at the end
  std::thread acceptor_;
};

}  // namespace intrinsix::testing
