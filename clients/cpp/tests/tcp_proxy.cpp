#include "tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace intrinsix::testing {
namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}

}  // namespace

TcpProxy::TcpProxy(uint16_t target_port) : target_port_(target_port) {
  listener_ = socket(AF_INET, SOCK_STREAM, 0);
  const int yes = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in address = loopback(0);
  if (bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || listen(listener_, 16) != 0) {
    throw std::runtime_error("TcpProxy: cannot listen on loopback");
  }
  socklen_t length = sizeof(address);
  getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpProxy::~TcpProxy() {
  stopping_.store(true);
  shutdown(listener_, SHUT_RDWR);
  close(listener_);
  acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : sockets_) shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& pump : pumps_) pump.join();
}

void TcpProxy::cut_after(uint64_t bytes) { cut_at_.store(int64_t(downstream_.load() + bytes)); }

void TcpProxy::accept_loop() {
  for (;;) {
    const int client = accept(listener_, nullptr, nullptr);
    if (client < 0) {
      if (stopping_.load()) return;
      continue;
    }
    const int server = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in target = loopback(target_port_);
    if (connect(server, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
      close(client);
      close(server);
      continue;
    }
    const int yes = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    connections_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex_);
    sockets_.push_back(client);
    sockets_.push_back(server);
    pumps_.emplace_back([this, client, server] { pump(client, server); });
  }
}

void TcpProxy::pump(int client, int server) {
  char buffer[16384];
  pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
  bool open = true;
  while (open && !stopping_.load()) {
    if (poll(fds, 2, 100) < 0) break;
    for (int i = 0; i < 2 && open; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t got = recv(fds[i].fd, buffer, sizeof(buffer), 0);
      if (got <= 0) {
        open = false;
        break;
      }
      ssize_t length = got;
      if (i == 1) {  // server -> client: count, and cut when the limit is reached
        const int64_t cut_at = cut_at_.load();
        const uint64_t before = downstream_.fetch_add(uint64_t(got));
        if (cut_at >= 0 && before + uint64_t(got) >= uint64_t(cut_at)) {
          length = ssize_t(std::max<int64_t>(0, cut_at - int64_t(before)));  // forward up to the limit only
          cut_at_.store(-1);
          cuts_.fetch_add(1);
          if (length > 0) send(fds[0].fd, buffer, size_t(length), MSG_NOSIGNAL);
          // Close every connection, like a network failure (RST: SO_LINGER 0).
          std::lock_guard<std::mutex> lock(mutex_);
          for (int fd : sockets_) {
            linger hard{1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
            shutdown(fd, SHUT_RDWR);
          }
          open = false;
          break;
        }
      }
      if (send(fds[1 - i].fd, buffer, size_t(length), MSG_NOSIGNAL) != length) open = false;
    }
  }
  shutdown(client, SHUT_RDWR);
  shutdown(server, SHUT_RDWR);
  std::lock_guard<std::mutex> lock(mutex_);
  sockets_.erase(std::remove(sockets_.begin(), sockets_.end(), client), sockets_.end());
  sockets_.erase(std::remove(sockets_.begin(), sockets_.end(), server), sockets_.end());
  close(client);
  close(server);
}

}  // namespace intrinsix::testing
