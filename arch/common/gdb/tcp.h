#pragma once
// The stub's transport: a TCP listener on 127.0.0.1 only (a debugger can read and write
// all of guest memory, so the port is not offered to the network; QEMU's `-gdb tcp::N`
// listens on every address, irqremap deliberately does not) and one connection at a time.
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>

#include "arch/common/gdb/stub.h"

namespace irqremap::gdb {

class TcpConnection final : public Connection {
 public:
  explicit TcpConnection(int fd) : fd_(fd) {}
  ~TcpConnection() override;
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;
  std::optional<char> read_byte() override;
  // A client that has gone makes writes fail quietly (MSG_NOSIGNAL: no SIGPIPE); the
  // next read reports it.
  void write(std::string_view bytes) override;
  // Whether a byte can be read without waiting (the client closing counts).
  bool readable();

 private:
  int fd_;
  char buf_[4096];
  std::size_t have_ = 0, at_ = 0;
};

class TcpListener {
 public:
  // Listens on 127.0.0.1:port (SO_REUSEADDR, so a restarted run gets the port back).
  static std::expected<std::unique_ptr<TcpListener>, std::string> open(uint16_t port);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  // A client, waiting for one when `wait`, else only one already knocking.
  std::unique_ptr<TcpConnection> accept(bool wait);
  uint16_t port() const { return port_; }

 private:
  TcpListener(int fd, uint16_t port) : fd_(fd), port_(port) {}
  int fd_;
  uint16_t port_;
};

}  // namespace irqremap::gdb
