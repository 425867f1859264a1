#include "arch/common/gdb/tcp.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace irqremap::gdb {

TcpConnection::~TcpConnection() { ::close(fd_); }

std::optional<char> TcpConnection::read_byte() {
  while (at_ == have_) {
    const ssize_t n = ::recv(fd_, buf_, sizeof buf_, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    have_ = std::size_t(n);
    at_ = 0;
  }
  return buf_[at_++];
}

void TcpConnection::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(std::size_t(n));
  }
}

bool TcpConnection::readable() {
  if (at_ != have_) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

std::expected<std::unique_ptr<TcpListener>, std::string> TcpListener::open(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(fmt::format("socket: {}", std::strerror(errno)));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return std::unexpected(fmt::format("cannot listen on 127.0.0.1:{}: {}", port, why));
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);  // port 0: the one the kernel chose
  return std::unique_ptr<TcpListener>(new TcpListener(fd, ntohs(a.sin_port)));
}

TcpListener::~TcpListener() { ::close(fd_); }

std::unique_ptr<TcpConnection> TcpListener::accept(bool wait) {
  pollfd p{fd_, POLLIN, 0};
  // A signal (Ctrl-C in the terminal) ends the wait: the run then stops as it would
  // without a debugger (host_stop.h).
  if (::poll(&p, 1, wait ? -1 : 0) <= 0) return nullptr;
  const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) return nullptr;
  // Replies are small and each waits for the client's next packet: send them at once.
  const int one = 1;
  ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return std::make_unique<TcpConnection>(c);
}

}  // namespace irqremap::gdb
