#include "core/service/log_writer.h"
#include "core/sys/rfc3339.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace nucleus::service {
namespace {

class LogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nucleus-unit-log-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/container.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::vector<std::string> lines(const std::string& path) const {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  std::string dir_, path_;
};

TEST(CriFormat, TimestampAndLineRoundTrip) {
  timespec t{1796533200, 5};  // 2026-12-06T05:00:00.000000005Z
  EXPECT_EQ(rfc3339(t), "2026-12-06T05:00:00.000000005Z");
  auto r = parse_cri_line("2026-12-06T05:00:00.000000000Z stdout F hello world\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stream, "stdout");
  EXPECT_FALSE(r->partial);
  EXPECT_EQ(r->content, "hello world");
  auto empty = parse_cri_line("2026-12-06T05:00:00.000000000Z stderr P ");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->partial);
  EXPECT_FALSE(parse_cri_line("not a record"));
  EXPECT_FALSE(parse_cri_line("t stdout X text"));
}

TEST_F(LogWriterTest, WholeLinesOneRecordEachPartialOnesWait) {
  LogWriter w(path_, {});
  w.append("stdout", "one\ntw");
  w.append("stderr", "err\n");
  w.append("stdout", "o\n");
  auto got = lines(path_);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(parse_cri_line(got[0])->content, "one");
  EXPECT_EQ(parse_cri_line(got[1])->stream, "stderr");
  EXPECT_EQ(parse_cri_line(got[2])->content, "two");
  w.append("stdout", "tail without newline");
  EXPECT_EQ(lines(path_).size(), 3u);
  w.flush();
  EXPECT_EQ(parse_cri_line(lines(path_).back())->content, "tail without newline");
}

TEST_F(LogWriterTest, LongLinesBecomePartialRecords) {
  LogWriter w(path_, {});
  w.append("stdout", std::string(kMaxRecordContent * 2 + 10, 'x') + "\n");
  auto got = lines(path_);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(parse_cri_line(got[0])->partial);
  EXPECT_TRUE(parse_cri_line(got[1])->partial);
  EXPECT_FALSE(parse_cri_line(got[2])->partial);
  EXPECT_EQ(parse_cri_line(got[2])->content.size(), 10u);
}

TEST_F(LogWriterTest, RotatesAndKeepsTheTotalUnderTheCap) {
  LogLimits limits{64 * 1024, 3};
  LogWriter w(path_, limits);
  std::string line(100, 'y');
  line += "\n";
  for (int i = 0; i < 10000; ++i) w.append("stdout", line);  // ~1.4 MB of records
  uint64_t total = 0;
  auto files = log_files(path_, limits.max_files);
  EXPECT_EQ(files.size(), 3u);
  for (const std::string& f : files) {
    struct stat st;
    ASSERT_EQ(::stat(f.c_str(), &st), 0);
    EXPECT_LE(static_cast<uint64_t>(st.st_size), limits.max_size);
    total += static_cast<uint64_t>(st.st_size);
  }
  EXPECT_LE(total, limits.max_size * limits.max_files);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".3"));
  EXPECT_EQ(files.back(), path_);  // oldest first, the current last
}

TEST_F(LogWriterTest, OneFileStartsOver) {
  LogWriter w(path_, {64 * 1024, 1});
  for (int i = 0; i < 2000; ++i) w.append("stdout", std::string(100, 'z') + "\n");
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_LE(static_cast<uint64_t>(st.st_size), 64u * 1024);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".1"));
}

}  // namespace
}  // namespace nucleus::service
