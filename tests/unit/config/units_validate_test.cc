#include <gtest/gtest.h>

#include "core/sys/units.h"
#include "config/validate.h"
#include "core/sys/error.h"

namespace nucleus {
namespace {

TEST(Units, ParseSize) {
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("64K"), 64u << 10);
  EXPECT_EQ(parse_size("64m"), 64u << 20);
  EXPECT_EQ(parse_size("1G"), 1ull << 30);
  EXPECT_EQ(parse_size("2MiB"), 2u << 20);
  EXPECT_EQ(parse_size("2MB"), 2u << 20);
  EXPECT_EQ(parse_size("16777215T"), 16777215ull << 40);
  for (const char* bad : {"", "-1", "+1", "1.5G", "G", "1X", "1GG", "1BB", "16777216T", "99999999999999999999"}) {
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
  }
}

TEST(Units, ParseCpus) {
  EXPECT_DOUBLE_EQ(*parse_cpus("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_cpus("2"), 2.0);
  for (const char* bad : {"0", "0.0", "-1", "nan", "inf", "1e3", "1025", ""}) {
    EXPECT_FALSE(parse_cpus(bad).has_value()) << bad;
  }
}

TEST(Units, FormatSize) {
  EXPECT_EQ(format_size(64u << 20), "64MiB");
  EXPECT_EQ(format_size(1ull << 30), "1GiB");
  EXPECT_EQ(format_size(1000), "1000B");
}

TEST(Validate, Hostnames) {
  EXPECT_FALSE(check_hostname("nucleus"));
  EXPECT_FALSE(check_hostname("a-b.example.com"));
  EXPECT_FALSE(check_hostname(std::string(63, 'a')));
  for (const std::string& bad : {std::string(), std::string(65, 'a'), std::string(64, 'a'),
                                 std::string("-a"), std::string("a-"), std::string("a/b"),
                                 std::string("a b"), std::string("a\0b", 3), std::string("a..b"),
                                 std::string("a.")}) {
    EXPECT_TRUE(check_hostname(bad).has_value()) << bad;
  }
}

TEST(Validate, ContainerNames) {
  EXPECT_FALSE(check_container_name("web-1_a.b"));
  EXPECT_FALSE(check_container_name(std::string(128, 'x')));
  for (std::string bad : {".", "..", ".foo", "foo bar", "foo/bar", "", "-x", "caf\xc3\xa9"}) {
    EXPECT_TRUE(check_container_name(bad).has_value()) << bad;
  }
  EXPECT_TRUE(check_container_name(std::string(129, 'x')).has_value());
}

TEST(Validate, NormalizePath) {
  EXPECT_EQ(normalize_path("/a/./b/../c//"), "/a/c");
  EXPECT_EQ(normalize_path("/.."), "/");
  EXPECT_EQ(normalize_path("/proc/../proc/sys"), "/proc/sys");
  EXPECT_EQ(absolute_path("x/../y", "/base"), "/base/y");
  EXPECT_FALSE(absolute_path("x", "").has_value());
}

TEST(Validate, Volumes) {
  VolumeSpec v = parse_volume("/srv/data:/data:ro", "", "--volume");
  EXPECT_EQ(v.source, "/srv/data");
  EXPECT_TRUE(v.read_only);
  EXPECT_THROW(parse_volume("rel:/data", "", "--volume"), Error);  // relative on the CLI
  EXPECT_THROW(parse_volume("/run/docker.sock:/s", "", "--volume"), Error);
  EXPECT_THROW(parse_volume("/var/run/docker.sock:/s", "", "--volume"), Error);
  EXPECT_THROW(parse_volume("/srv:/dev/sda", "", "--volume"), Error);
  EXPECT_THROW(parse_volume("/srv:/", "", "--volume"), Error);
  EXPECT_THROW(parse_volume("/srv", "", "--volume"), Error);
  EXPECT_THROW(parse_volume("/srv:/a:ro:x", "", "--volume"), Error);
}

TEST(Validate, Tmpfs) {
  TmpfsSpec t = parse_tmpfs("/scratch:8M", "--tmpfs");
  EXPECT_EQ(t.destination, "/scratch");
  EXPECT_EQ(t.size_bytes, 8u << 20);
  EXPECT_EQ(parse_tmpfs("/tmp", "--tmpfs").size_bytes, kDefaultTmpSize);
  EXPECT_THROW(parse_tmpfs("/tmp:lots", "--tmpfs"), Error);
  EXPECT_THROW(parse_tmpfs("/tmp:1", "--tmpfs"), Error);
  EXPECT_THROW(parse_tmpfs("tmp", "--tmpfs"), Error);
  EXPECT_THROW(parse_tmpfs("/proc/x", "--tmpfs"), Error);
}

TEST(Validate, SpecLevelChecks) {
  WorkloadSpec spec;
  EXPECT_THROW(validate_spec(spec), Error);  // no command
  spec.command = {"true"};
  EXPECT_NO_THROW(validate_spec(spec));
  spec.workdir = "/proc/self/fd/7";
  EXPECT_THROW(validate_spec(spec), Error);  // B22, CVE-2024-21626
  spec.workdir = "relative";
  EXPECT_THROW(validate_spec(spec), Error);
  spec.workdir = "/";
  spec.env.assign(kMaxEnvVars + 1, {"A", "b"});
  EXPECT_THROW(validate_spec(spec), Error);  // B06: 10 000 env vars
  spec.env.clear();
  spec.command = {"echo", std::string(kMaxArgEnvBytes, 'x')};
  EXPECT_THROW(validate_spec(spec), Error);  // B06: argv above what exec takes
  spec.command = {"true"};
  spec.volumes = {{"/srv", "/data", false}};
  spec.tmpfs = {{"/data", 4096}};
  EXPECT_THROW(validate_spec(spec), Error);  // two mounts at one place
}

TEST(Validate, ErrorsAreOneLineAndNameTheInput) {
  try {
    parse_memory("abc", "--memory");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--memory: invalid size 'abc' (an integer with K, M, G or T)");
    EXPECT_EQ(e.exit_code(), 125);
  }
}

}  // namespace
}  // namespace nucleus
