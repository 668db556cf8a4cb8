// The check of an archive before it is extracted in a sandbox (daemon/files/tar_check.cc):
// absolute members, '..', links leaving the extraction directory, devices, GNU long names
// and pax paths that climb, bad checksums and truncation are refused; ordinary archives
// (files, directories, links that stay inside) pass.
#include <gtest/gtest.h>

#include <cstring>

#include "daemon/files/tar_check.h"
#include "daemon/http/api_error.h"

namespace nucleus::daemon {
namespace {

std::string header(const std::string& name, char type, const std::string& link = "", size_t size = 0) {
  char h[512] = {};
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(h + 100, 8, "%07o", 0644);
  std::snprintf(h + 124, 12, "%011zo", size);
  h[156] = type;
  std::memcpy(h + 157, link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(h + 257, "ustar", 6);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : std::string_view(h, 512)) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  return std::string(h, 512);
}

std::string member(const std::string& name, char type, const std::string& data = "", const std::string& link = "") {
  std::string out = header(name, type, link, data.size()) + data;
  out.append((512 - data.size() % 512) % 512, '\0');
  return out;
}

std::string archive(std::initializer_list<std::string> members) {
  std::string out;
  for (const std::string& m : members) out += m;
  return out + std::string(1024, '\0');
}

std::string refusal(const std::string& tar) {
  try {
    check_tar(tar);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400);
    return e.code;
  }
  return "accepted";
}

TEST(DaemonTarCheck, OrdinaryArchivesPass) {
  TarSummary s = check_tar(archive({member("dir/", '5'), member("dir/a.txt", '0', "hello"), member("dir/link", '2', "", "a.txt"),
                                    member("dir/up", '2', "", "../dir/a.txt"), member("dir/hard", '1', "", "dir/a.txt")}));
  EXPECT_EQ(s.members, 5u);
  EXPECT_EQ(s.bytes, 5u);
  EXPECT_EQ(refusal(make_tar({{"/w/a", "x"}, {"/b", "yy"}})), "accepted");
}

TEST(DaemonTarCheck, TraversalIsRefused) {
  EXPECT_EQ(refusal(archive({member("/etc/passwd", '0', "x")})), "path_traversal");
  EXPECT_EQ(refusal(archive({member("a/../../etc/passwd", '0', "x")})), "path_traversal");
  EXPECT_EQ(refusal(archive({member("..", '5')})), "path_traversal");
  EXPECT_EQ(refusal(archive({member("esc", '2', "", "/etc")})), "path_traversal");
  EXPECT_EQ(refusal(archive({member("a/esc", '2', "", "../../etc")})), "path_traversal");
  EXPECT_EQ(refusal(archive({member("hard", '1', "", "../outside")})), "path_traversal");
  EXPECT_EQ(refusal(archive({member("hard", '1', "", "/etc/shadow")})), "path_traversal");
}

TEST(DaemonTarCheck, LongNamesAndPaxPathsAreCheckedToo) {
  EXPECT_EQ(refusal(archive({member("././@LongLink", 'L', "../../x"), member("short", '0', "x")})), "path_traversal");
  std::string record = "path=../../x\n";
  std::string pax = std::to_string(record.size() + 3) + " " + record;
  EXPECT_EQ(refusal(archive({member("pax", 'x', pax), member("short", '0', "x")})), "path_traversal");
  std::string link = "linkpath=/etc\n";
  std::string pax_link = std::to_string(link.size() + 3) + " " + link;
  EXPECT_EQ(refusal(archive({member("pax", 'x', pax_link), member("l", '2', "", "ok")})), "path_traversal");
}

TEST(DaemonTarCheck, DevicesAndGarbageAreRefused) {
  EXPECT_EQ(refusal(archive({member("null", '3')})), "bad_archive");
  EXPECT_EQ(refusal(archive({member("fifo", '6')})), "bad_archive");
  EXPECT_EQ(refusal("not a tar"), "bad_archive");
  std::string bad = archive({member("a", '0', "x")});
  bad[0] = 'b';  // checksum no longer matches
  EXPECT_EQ(refusal(bad), "bad_archive");
  std::string truncated = member("a", '0', std::string(2000, 'x')).substr(0, 1024);
  EXPECT_EQ(refusal(truncated), "bad_archive");
}

TEST(DaemonTarCheck, LinkTargets) {
  EXPECT_TRUE(link_stays_inside("a/b/l", "../c"));
  EXPECT_TRUE(link_stays_inside("a/l", "./x/../y"));
  EXPECT_FALSE(link_stays_inside("a/l", "../../c"));
  EXPECT_FALSE(link_stays_inside("l", ".."));
  EXPECT_FALSE(link_stays_inside("l", "/"));
  EXPECT_FALSE(link_stays_inside("l", ""));
}

}  // namespace
}  // namespace nucleus::daemon
