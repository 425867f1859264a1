// The snapshot stream and file (snapshot/state_io.h, snapshot/snapshot_file.h;
// docs/SNAPSHOT.md): what a visitor writes it reads back, and a file that is not what this
// build wrote is refused with a message that says where, never read as something else.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "snapshot/records.h"
#include "snapshot/snapshot_file.h"
#include "snapshot/state_io.h"

using irqremap::snapshot::Io;

namespace {

enum class Mode : uint8_t { A = 0, B = 1, C = 2 };

struct Part {
  bool flag = false;
  uint8_t b = 0;
  uint16_t h = 0;
  uint32_t w = 0;
  uint64_t d = 0;
  int64_t s = 0;
  unsigned __int128 q = 0;
  Mode mode = Mode::A;
  std::array<uint8_t, 5> fixed{};
  std::vector<uint8_t> blob;
  std::string text;
  std::vector<uint32_t> list;

  void state(Io& io) {
    Io::Group g(io, "part");
    io.field("flag", flag);
    io.field("b", b);
    io.field("h", h);
    io.field("w", w);
    io.field("d", d);
    io.field("s", s);
    io.field("q", q);
    io.field("mode", mode);
    io.check(uint8_t(mode) <= uint8_t(Mode::C), "mode out of range");
    io.bytes("fixed", std::span<uint8_t>(fixed));
    io.blob("blob", blob, 16);
    io.text("text", text, 16);
    io.values("list", list, 4);
  }
  bool operator==(const Part&) const = default;
};

Part sample() {
  Part p;
  p.flag = true;
  p.b = 0xab;
  p.h = 0xbeef;
  p.w = 0xdeadbeef;
  p.d = 0x0123'4567'89ab'cdef;
  p.s = -5;
  p.q = (unsigned __int128)1 << 100;
  p.mode = Mode::C;
  p.fixed = {1, 2, 3, 4, 5};
  p.blob = {9, 8, 7};
  p.text = "gits";
  p.list = {10, 20, 30};
  return p;
}

std::vector<uint8_t> save(Part p) {
  Io io = Io::saver();
  p.state(io);
  REQUIRE(io.ok());
  return io.take();
}

std::string load_error(std::span<const uint8_t> bytes) {
  Io io = Io::loader(bytes);
  Part p = sample();
  p.state(io);
  return io.error();
}

// The offset of a record's name in a stream (names are unique in these tests).
size_t offset_of(const std::vector<uint8_t>& s, std::string_view name) {
  const std::string key = std::string(1, char(name.size())) + std::string(name);
  auto it = std::search(s.begin(), s.end(), key.begin(), key.end());
  REQUIRE(it != s.end());
  return size_t(it - s.begin()) + 1;
}

}  // namespace

TEST_CASE("snapshot stream: every record type a part writes is read back as written") {
  const std::vector<uint8_t> bytes = save(sample());
  Io io = Io::loader(bytes);
  Part p;
  p.state(io);
  CHECK(io.ok());
  CHECK(io.at_end());
  CHECK(p == sample());
}

TEST_CASE("snapshot stream: a record of another name is refused with its path and both names") {
  std::vector<uint8_t> bytes = save(sample());
  bytes[offset_of(bytes, "w")] = 'x';
  CHECK(load_error(bytes) == "part/w: expected a u32 record here, the file has u32 \"part/x\"");
}

TEST_CASE("snapshot stream: a record of another type is refused, and every later value reads as zero") {
  std::vector<uint8_t> bytes = save(sample());
  bytes[offset_of(bytes, "h") - 2] = uint8_t(irqremap::snapshot::Kind::U64);
  Io io = Io::loader(bytes);
  Part p = sample();
  p.state(io);
  CHECK(io.error() == "part/h: expected a u16 record here, the file has u64 \"part/h\"");
  CHECK(p.h == 0);
  CHECK(p.d == 0);
  CHECK(p.text.empty());
}

TEST_CASE("snapshot stream: a truncated stream is refused where it ends") {
  const std::vector<uint8_t> bytes = save(sample());
  const std::span<const uint8_t> cut(bytes.data(), offset_of(bytes, "d") + 3);
  CHECK(load_error(cut) == "part/: the file ends in the middle of the state");
}

TEST_CASE("snapshot stream: counts and lengths above the part's bound are refused before anything is allocated") {
  Part big = sample();
  big.list = {1, 2, 3, 4, 5};  // the part holds at most 4
  CHECK(load_error(save(big)) == "part/list/: count: 5 elements, more than the 4 this machine has");
  big = sample();
  big.blob.assign(17, 0);
  CHECK(load_error(save(big)) == "part/: blob: 17 bytes, more than the 16 it holds");
  big = sample();
  big.text.assign(40, 'a');
  CHECK(load_error(save(big)) == "part/: text: text of 40 bytes, more than the 16 it holds");
}

TEST_CASE("snapshot stream: a value the part cannot take (an enumeration out of range, a boolean of 2) is refused") {
  Part odd = sample();
  odd.mode = Mode(7);
  CHECK(load_error(save(odd)) == "part/: mode out of range");
  std::vector<uint8_t> bytes = save(sample());
  bytes[offset_of(bytes, "flag") + 4] = 2;
  CHECK(load_error(bytes) == "part/: flag: a boolean of value 2");
}

TEST_CASE("snapshot stream: a fixed-size record of another length is refused") {
  std::vector<uint8_t> bytes = save(sample());
  bytes[offset_of(bytes, "fixed") + 5] = 6;  // the length's low byte
  CHECK(load_error(bytes) == "part/: fixed: 6 bytes in the file, 5 expected");
}

namespace {

// A machine as snapshot::save/restore see one.
struct FakeMachine {
  std::string configuration = "fake cpus=1";
  Part part;
  std::string snapshot_configuration() const { return configuration; }
  void state(Io& io) { part.state(io); }
};

}  // namespace

TEST_CASE("snapshot file: a machine saved is restored into a fresh one of the same configuration") {
  FakeMachine a;
  a.part = sample();
  auto file = irqremap::snapshot::save(a);
  REQUIRE(file);
  CHECK(std::memcmp(file->data(), "IRQRSNAP", 8) == 0);
  FakeMachine b;
  REQUIRE(irqremap::snapshot::restore(b, *file));
  CHECK(b.part == sample());
}

TEST_CASE("snapshot file: another configuration, format version, a damaged or truncated file are refused by name") {
  FakeMachine a;
  a.part = sample();
  const std::vector<uint8_t> file = *irqremap::snapshot::save(a);
  FakeMachine other;
  other.configuration = "fake cpus=2";
  CHECK(irqremap::snapshot::restore(other, file).error() ==
        "the snapshot is of another machine: it was saved on \"fake cpus=1\", this machine is \"fake cpus=2\"");
  FakeMachine b;
  std::vector<uint8_t> bad = file;
  bad[8] = 9;  // the version
  CHECK(irqremap::snapshot::restore(b, bad).error() ==
        "the snapshot is of format version 9; this irqremap reads version 2");
  bad = file;
  bad[bad.size() / 2] ^= 0x40;
  CHECK(irqremap::snapshot::restore(b, bad).error() == "the snapshot is damaged: its CRC-32 does not match its contents");
  bad.assign(file.begin(), file.end() - 10);
  CHECK(irqremap::snapshot::restore(b, bad).error().starts_with("the snapshot is truncated: its state should be"));
  bad.assign(file.begin(), file.begin() + 5);
  CHECK(irqremap::snapshot::restore(b, bad).error() == "not an irqremap snapshot (it does not start with IRQRSNAP)");
  bad = file;
  bad.push_back(0);
  CHECK(irqremap::snapshot::restore(b, bad).error() == "the snapshot has 1 bytes after its state");
}

TEST_CASE("snapshot file: a stream with records this build does not restore is refused") {
  Io io = Io::saver();
  Part p = sample();
  p.state(io);
  uint32_t extra = 1;
  io.field("extra", extra);
  const std::vector<uint8_t> file = irqremap::snapshot::encode("fake cpus=1", io.take());
  FakeMachine b;
  CHECK(irqremap::snapshot::restore(b, file).error() ==
        "the snapshot holds more than this machine restores (records left over)");
}

TEST_CASE("snapshot records: a stream is read without its machine, every record by path and value (docs/SNAPSHOT.md)") {
  const std::vector<uint8_t> bytes = save(sample());
  const auto rs = irqremap::snapshot::records(bytes);
  REQUIRE(rs);
  REQUIRE(rs->size() == 15);  // 11 fields, the list's count and its 3 values, no group markers
  CHECK((*rs)[0].path == "part/flag");
  CHECK((*rs)[0].value == "true");
  CHECK((*rs)[3].path == "part/w");
  CHECK((*rs)[3].value == "3735928559 (0xdeadbeef)");
  CHECK((*rs)[6].value == "0x10000000000000000000000000");  // 1 << 100
  CHECK((*rs)[8].value == "<5 bytes> 01 02 03 04 05");
  CHECK((*rs)[10].value == "\"gits\"");
  CHECK((*rs)[11].path == "part/list/count");
  CHECK((*rs)[14].path == "part/list/v");
}

TEST_CASE("snapshot records: a stream cut short, with an unknown record type or an unbalanced group is refused where it breaks") {
  std::vector<uint8_t> bytes = save(sample());
  CHECK(irqremap::snapshot::records(std::span(bytes).first(bytes.size() - 3)).error().find("ends inside") !=
        std::string::npos);
  std::vector<uint8_t> odd = bytes;
  odd[0] = 77;
  CHECK(irqremap::snapshot::records(odd).error() == "offset 0: record type 77 is none this format has");
  const std::vector<uint8_t> end_only{uint8_t(irqremap::snapshot::Kind::End), 0};
  CHECK(irqremap::snapshot::records(end_only).error() == "offset 0: a group ends that never began");
}
