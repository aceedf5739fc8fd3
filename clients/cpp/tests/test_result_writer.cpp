// Reassembly of result files: order, resume overlap, checksum failures, and that nothing is
// written outside the output folder or over a user's file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "intrinsix/sha256.h"
#include "result_writer.h"

namespace intrinsix {
namespace {
namespace fs = std::filesystem;

std::string random_bytes(size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = char(random());
  return bytes;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Files in the folder, hidden staging files included.
std::vector<std::string> listing(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class ResultWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("intrinsix_writer_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    out_ = root_ / "out";
  }
  void TearDown() override { fs::remove_all(root_); }

  // Headers of files laid end to end in the result stream.
  std::vector<TextureFileInfo> headers(const std::vector<std::pair<std::string, std::string>>& files) {
    std::vector<TextureFileInfo> result;
    uint64_t offset = 0;
    for (size_t i = 0; i < files.size(); ++i) {
      TextureFileInfo info;
      info.file_index = uint32_t(i);
      info.file_count = uint32_t(files.size());
      info.name = files[i].first;
      info.byte_size = files[i].second.size();
      info.sha256 = sha256_hex(files[i].second.data(), files[i].second.size());
      info.result_offset = offset;
      offset += info.byte_size;
      result.push_back(info);
    }
    return result;
  }

  // Send one file in chunks of `chunk` bytes, starting at byte `from`.
  Error send(ResultWriter& writer, const TextureFileInfo& info, const std::string& data, size_t chunk,
             size_t from = 0, std::optional<uint32_t>* completed = nullptr) {
    std::optional<uint32_t> local;
    if (completed == nullptr) completed = &local;
    if (Error e = writer.on_header(info); !e.ok()) return e;
    if (data.empty()) return writer.on_chunk(info.file_index, 0, "", 0, true, info.result_offset, completed);
    for (size_t at = from; at < data.size(); at += chunk) {
      const size_t n = std::min(chunk, data.size() - at);
      Error e = writer.on_chunk(info.file_index, at, data.data() + at, n, at + n == data.size(),
                                info.result_offset + at, completed);
      if (!e.ok()) return e;
    }
    return {};
  }

  fs::path root_, out_;
};

TEST_F(ResultWriterTest, WritesVerifiedFilesInOrder) {
  const std::string a = random_bytes(5000, 1), b = random_bytes(0, 2), c = random_bytes(70000, 3);
  auto infos = headers({{"T_A_BC.png", a}, {"empty.bin", b}, {"material.json", c}});
  ResultWriter writer(out_.u8string(), false);
  ASSERT_TRUE(writer.prepare().ok());
  std::optional<uint32_t> completed;
  ASSERT_TRUE(send(writer, infos[0], a, 999, 0, &completed).ok());
  EXPECT_EQ(completed, 0u);
  EXPECT_EQ(writer.resume_offset(), 5000u);
  ASSERT_TRUE(send(writer, infos[1], b, 10, 0, &completed).ok());
  EXPECT_EQ(completed, 1u);
  ASSERT_TRUE(send(writer, infos[2], c, 4096, 0, &completed).ok());
  EXPECT_EQ(completed, 2u);
  EXPECT_TRUE(writer.on_completed(3, 75000).ok());
  EXPECT_EQ(read_file(out_ / "T_A_BC.png"), a);
  EXPECT_EQ(read_file(out_ / "empty.bin"), b);
  EXPECT_EQ(read_file(out_ / "material.json"), c);
  EXPECT_EQ(listing(out_), (std::vector<std::string>{"T_A_BC.png", "empty.bin", "material.json"}));
  EXPECT_EQ(writer.path_of(2), (out_ / "material.json").u8string());
}

TEST_F(ResultWriterTest, ResumeContinuesInsideAFileAndSkipsRepeatedBytes) {
  const std::string a = random_bytes(10000, 4);
  auto infos = headers({{"big.png", a}});
  ResultWriter writer(out_.u8string(), false);
  ASSERT_TRUE(writer.prepare().ok());
  ASSERT_TRUE(writer.on_header(infos[0]).ok());
  std::optional<uint32_t> completed;
  ASSERT_TRUE(writer.on_chunk(0, 0, a.data(), 3000, false, 0, &completed).ok());
  EXPECT_EQ(writer.resume_offset(), 3000u);
  // The stream drops; a re-attached stream repeats the header and starts a little earlier.
  ASSERT_TRUE(writer.on_header(infos[0]).ok());
  ASSERT_TRUE(writer.on_chunk(0, 2500, a.data() + 2500, 7500, true, 2500, &completed).ok());
  EXPECT_EQ(completed, 0u);
  EXPECT_EQ(read_file(out_ / "big.png"), a);
  // A header of a stored file repeated after a resume is accepted and its chunks ignored.
  EXPECT_TRUE(writer.on_header(infos[0]).ok());
  EXPECT_TRUE(writer.on_chunk(0, 0, a.data(), 100, false, 0, &completed).ok());
  EXPECT_FALSE(completed.has_value());
}

TEST_F(ResultWriterTest, ChecksumMismatchLeavesNothing) {
  const std::string a = random_bytes(3000, 5);
  auto infos = headers({{"T_A_N.png", a}});
  std::string corrupted = a;
  corrupted[1234] ^= 0x40;
  ResultWriter writer(out_.u8string(), false);
  ASSERT_TRUE(writer.prepare().ok());
  const Error error = send(writer, infos[0], corrupted, 1000);
  EXPECT_EQ(error.code, StatusCode::kDataLoss);
  EXPECT_NE(error.message.find("T_A_N.png"), std::string::npos);
  EXPECT_NE(error.message.find(infos[0].sha256), std::string::npos);
  EXPECT_TRUE(listing(out_).empty()) << "neither the file nor its staging file may remain";
}

TEST_F(ResultWriterTest, ProtocolViolationsAreDataLoss) {
  const std::string a = random_bytes(2000, 6), b = random_bytes(100, 7);
  auto infos = headers({{"a.png", a}, {"b.png", b}});
  {
    ResultWriter writer(out_.u8string(), false);
    ASSERT_TRUE(writer.prepare().ok());
    ASSERT_TRUE(writer.on_header(infos[0]).ok());
    std::optional<uint32_t> completed;
    // A gap: bytes 0..999 never arrived.
    EXPECT_EQ(writer.on_chunk(0, 1000, a.data() + 1000, 1000, true, 1000, &completed).code, StatusCode::kDataLoss);
    // A chunk past the end, a wrong result_offset, a wrong last flag.
    EXPECT_EQ(writer.on_chunk(0, 1, a.data(), 2000, true, 1, &completed).code, StatusCode::kDataLoss);
    EXPECT_EQ(writer.on_chunk(0, 0, a.data(), 500, false, 7, &completed).code, StatusCode::kDataLoss);
    EXPECT_EQ(writer.on_chunk(0, 0, a.data(), 2000, false, 0, &completed).code, StatusCode::kDataLoss);
    // The next file before this one is complete.
    EXPECT_EQ(writer.on_header(infos[1]).code, StatusCode::kDataLoss);
    // Completion with a missing file.
    EXPECT_EQ(writer.on_completed(2, 2100).code, StatusCode::kDataLoss);
  }
  EXPECT_TRUE(listing(out_).empty()) << "the staged partial file is removed with the writer";
}

TEST_F(ResultWriterTest, UnsafeNamesNeverLeaveTheFolder) {
  ResultWriter writer(out_.u8string(), false);
  ASSERT_TRUE(writer.prepare().ok());
  for (const char* name : {"../escape.png", "/tmp/abs.png", "sub/dir.png", "..", ".hidden", "nul.png"}) {
    TextureFileInfo info = headers({{"x", "data"}})[0];
    info.name = name;
    const Error error = writer.on_header(info);
    EXPECT_EQ(error.code, StatusCode::kDataLoss) << name;
  }
  EXPECT_FALSE(fs::exists(root_ / "escape.png"));
  EXPECT_TRUE(listing(out_).empty());
}

TEST_F(ResultWriterTest, ExistingFilesAreProtected) {
  const std::string a = random_bytes(500, 8);
  auto infos = headers({{"T_A_BC.png", a}});
  fs::create_directories(out_);
  {
    std::ofstream(out_ / "T_A_BC.png", std::ios::binary) << "the user's own file";
  }
  {
    ResultWriter writer(out_.u8string(), /*overwrite=*/false);
    ASSERT_TRUE(writer.prepare().ok());
    const Error error = writer.on_header(infos[0]);
    EXPECT_EQ(error.code, StatusCode::kAlreadyExists);
    EXPECT_EQ(read_file(out_ / "T_A_BC.png"), "the user's own file");
  }
  {
    ResultWriter writer(out_.u8string(), /*overwrite=*/true);
    ASSERT_TRUE(writer.prepare().ok());
    ASSERT_TRUE(send(writer, infos[0], a, 100).ok());
    EXPECT_EQ(read_file(out_ / "T_A_BC.png"), a);
  }
  {
    // Identical content is fine without overwrite (a repeated download).
    ResultWriter writer(out_.u8string(), false);
    ASSERT_TRUE(writer.prepare().ok());
    ASSERT_TRUE(send(writer, infos[0], a, 100).ok());
    EXPECT_EQ(listing(out_), (std::vector<std::string>{"T_A_BC.png"}));
  }
}

TEST_F(ResultWriterTest, SymlinksAreNeverFollowed) {
  const std::string a = random_bytes(500, 9);
  auto infos = headers({{"T_A_BC.png", a}});
  fs::create_directories(out_);
  const fs::path outside = root_ / "outside.txt";
  {
    std::ofstream(outside) << "keep";
  }
  fs::create_symlink(outside, out_ / "T_A_BC.png");
  ResultWriter writer(out_.u8string(), /*overwrite=*/true);
  ASSERT_TRUE(writer.prepare().ok());
  EXPECT_EQ(writer.on_header(infos[0]).code, StatusCode::kAlreadyExists);
  EXPECT_EQ(read_file(outside), "keep");
}

TEST_F(ResultWriterTest, AdoptExistingResumesAfterPresentFiles) {
  const std::string a = random_bytes(1000, 10), b = random_bytes(2000, 11), c = random_bytes(300, 12);
  auto infos = headers({{"a.png", a}, {"b.png", b}, {"material.json", c}});
  fs::create_directories(out_);
  {
    std::ofstream(out_ / "a.png", std::ios::binary) << a;
    std::ofstream(out_ / "b.png", std::ios::binary) << b.substr(0, 10);  // truncated: fetched again
  }
  ResultWriter writer(out_.u8string(), /*overwrite=*/true);
  ASSERT_TRUE(writer.prepare().ok());
  ASSERT_TRUE(writer.adopt_existing(infos).ok());
  EXPECT_EQ(writer.resume_offset(), 1000u);
  ASSERT_TRUE(send(writer, infos[1], b, 512).ok());
  ASSERT_TRUE(send(writer, infos[2], c, 512).ok());
  EXPECT_TRUE(writer.on_completed(3, 3300).ok());
  EXPECT_EQ(read_file(out_ / "b.png"), b);
}

TEST_F(ResultWriterTest, EmptyOrUnusableFolder) {
  ResultWriter empty("", false);
  EXPECT_EQ(empty.prepare().code, StatusCode::kInvalidArgument);
  fs::create_directories(root_);
  {
    std::ofstream(root_ / "file") << "x";
  }
  ResultWriter not_a_folder((root_ / "file").u8string(), false);
  EXPECT_EQ(not_a_folder.prepare().code, StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace intrinsix
