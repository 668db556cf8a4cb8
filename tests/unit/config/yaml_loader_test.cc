// The loader against the config cases of security-bar §4 (B01-B06, B08, B10, B12).
#include "config/yaml_loader.h"

#include <gtest/gtest.h>

#include <string>

#include "core/sys/error.h"

namespace nucleus {
namespace {

WorkloadFile parse(const std::string& text) { return parse_workload_file(text, "/srv/nucleus/w.yaml"); }

// Expects an Error whose message starts with "w.yaml:LINE:COL" and mentions `needle`.
void expect_error(const std::string& text, const std::string& where, const std::string& needle) {
  try {
    parse(text);
    FAIL() << "accepted:\n" << text;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("/srv/nucleus/w.yaml" + where, 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
}

constexpr const char* kHeader = "version: 1\nworkloads:\n  w:\n";

TEST(YamlLoader, LoadsTheContractExample) {
  WorkloadFile f = parse(R"yaml(version: 1
defaults:
  isolation: standard
workloads:
  hello:
    command: ["/bin/echo", "hello"]
  agent:
    isolation: untrusted
    backend: gvisor
    command: ["python3", "-c", "print(2 + 2)"]
    rootfs: ./rootfs
    read_only: true
    user: "1000:1000"
    groups: [1000]
    env: {PYTHONUNBUFFERED: "1"}
    workdir: /work
    hostname: agent
    resources: {memory: 256M, cpus: 0.5, pids: 128}
    network: none
    volumes: ["./work:/work:rw"]
    tmpfs: ["/tmp:64M"]
    capabilities: {add: [], drop: [ALL]}
    seccomp: default
    landlock: true
    init: true
    sd_notify: false
    timeout: 30
)yaml");
  ASSERT_EQ(f.workloads.size(), 2u);
  const WorkloadSpec& hello = f.get("hello");
  EXPECT_EQ(hello.command, (std::vector<std::string>{"/bin/echo", "hello"}));
  EXPECT_EQ(hello.isolation, IsolationLevel::kStandard);
  const WorkloadSpec& agent = f.get("agent");
  EXPECT_EQ(agent.isolation, IsolationLevel::kUntrusted);
  EXPECT_EQ(agent.backend, BackendKind::kGvisor);
  EXPECT_EQ(agent.rootfs, "/srv/nucleus/rootfs");  // relative to the file
  EXPECT_TRUE(agent.read_only);
  EXPECT_EQ(agent.user, "1000:1000");
  EXPECT_EQ(agent.groups, (std::vector<std::string>{"1000"}));
  ASSERT_EQ(agent.env.size(), 1u);
  EXPECT_EQ(agent.env[0].second, "1");
  EXPECT_EQ(agent.resources.memory_bytes, 256ull << 20);
  EXPECT_DOUBLE_EQ(*agent.resources.cpus, 0.5);
  EXPECT_EQ(agent.resources.pids, 128);
  ASSERT_EQ(agent.volumes.size(), 1u);
  EXPECT_EQ(agent.volumes[0].source, "/srv/nucleus/work");
  EXPECT_EQ(agent.volumes[0].destination, "/work");
  EXPECT_FALSE(agent.volumes[0].read_only);
  EXPECT_EQ(agent.tmpfs[0].size_bytes, 64ull << 20);
  EXPECT_EQ(agent.capabilities.drop, (std::vector<std::string>{"ALL"}));
  EXPECT_EQ(agent.landlock, true);
  EXPECT_EQ(agent.timeout_seconds, 30u);
}

TEST(YamlLoader, DefaultsApplyAndWorkloadsOverride) {
  WorkloadFile f = parse("version: 1\ndefaults:\n  hostname: base\n  isolation: trusted\n"
                         "workloads:\n  a:\n    command: [x]\n  b:\n    command: [y]\n    hostname: own\n");
  EXPECT_EQ(f.get("a").hostname, "base");
  EXPECT_EQ(f.get("a").isolation, IsolationLevel::kTrusted);
  EXPECT_EQ(f.get("b").hostname, "own");
}

// B01: malformed YAML, empty file, non-mapping root, several documents, non-UTF-8, BOM.
TEST(YamlLoader, B01MalformedDocumentsAreErrors) {
  expect_error("version: 1\nworkloads:\n  w:\n    hostname: 'unclosed\n", ":4:15", "unclosed quote");
  expect_error("version: 1\nworkloads:\n  w:\n    hostname: \"unclosed\n", ":4:15", "unclosed quote");
  expect_error("version: 1\nworkloads:\n\tw: {}\n", ":3:", "");
  expect_error("version: 1\nworkloads:\n  w:\n    command: *nope\n", ":4:", "anchor");
  expect_error("version: 1\nworkloads: [1, 2\n", ":", "");
  expect_error("", ":1:1", "empty");
  expect_error("- a\n- b\n", ":1:1", "mapping");
  expect_error("version: 1\n---\nversion: 1\n", ":", "2 YAML documents");
  expect_error("version: 1\nworkloads:\n  w:\n    hostname: \xff\xfe\n", ":4:15", "invalid UTF-8");
  expect_error("\xEF\xBB\xBFversion: 1\n", ":1:1", "byte-order mark");
}

// B02: unknown keys, top-level and nested, typos named with their full path.
TEST(YamlLoader, B02UnknownKeysNameTheirPath) {
  expect_error("version: 1\nworkload: {}\n", ":2:1", "workload: unknown key");
  expect_error(std::string(kHeader) + "    command: [x]\n    resources: {memroy: 64M}\n", ":5:17",
               "workloads.w.resources.memroy: unknown key (did you mean 'memory'?)");
  expect_error(std::string(kHeader) + "    comand: [x]\n", ":4:5", "workloads.w.comand: unknown key");
}

// B03: duplicate keys (yaml-cpp 0.7 keeps them silently).
TEST(YamlLoader, B03DuplicateKeys) {
  expect_error(std::string(kHeader) + "    hostname: a\n    hostname: b\n", ":5:5",
               "workloads.w.hostname: duplicate key");
  expect_error(std::string(kHeader) + "    resources:\n      memory: 64M\n      memory: 128M\n", ":6:7",
               "duplicate key");
  expect_error("version: 1\nversion: 1\nworkloads: {w: {}}\n", ":2:1", "duplicate key");
  expect_error(std::string(kHeader) + "    env: {A: 1, A: 2}\n", ":4:", "workloads.w.env.A: duplicate key");
}

// B04: deep nesting, alias bombs and oversize files end in a one-line error, never a crash.
TEST(YamlLoader, B04DeepNestingAndAliasBombs) {
  expect_error(std::string(100000, '['), ":", "");
  std::string bomb = "version: 1\na: &a [x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'k'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [" ;
    for (int i = 0; i < 9; ++i) bomb += std::string(i ? ", *" : "*") + static_cast<char>(c - 1);
    bomb += "]\n";
  }
  bomb += "workloads:\n  w:\n    command: *k\n";
  expect_error(bomb, ":", "");
}

TEST(YamlLoader, B04OversizeFileIsRefused) {
  char path[] = "/tmp/nucleus-unit-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string big(kMaxWorkloadFileBytes + 1, '#');
  ASSERT_EQ(::write(fd, big.data(), big.size()), static_cast<ssize_t>(big.size()));
  ::close(fd);
  try {
    load_workload_file(path);
    ADD_FAILURE() << "accepted an oversize file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("larger than"), std::string::npos) << e.what();
  }
  ::unlink(path);
}

// B05: wrong types and out-of-range values name the field.
TEST(YamlLoader, B05WrongTypesAndRanges) {
  const std::string h = std::string(kHeader) + "    command: [x]\n";
  expect_error(h + "    resources: {memory: lots}\n", ":5:", "workloads.w.resources.memory: invalid size 'lots'");
  expect_error(h + "    resources: {memory: -1}\n", ":5:", "resources.memory");
  expect_error(h + "    resources: {memory: 0}\n", ":5:", "below the minimum");
  for (const char* cpus : {"0", "-0.5", "NaN", "inf", "1e309", ".nan"}) {
    expect_error(h + "    resources: {cpus: " + cpus + "}\n", ":5:", "resources.cpus: invalid CPU count");
  }
  expect_error(h + "    resources: {pids: -2}\n", ":5:", "resources.pids: invalid pids limit");
  expect_error(h + "    resources: {pids: 0}\n", ":5:", "resources.pids");
  expect_error(h + "    timeout: 0\n", ":5:", "workloads.w.timeout: invalid timeout");
  expect_error(h + "    read_only: yes\n", ":5:", "expected true or false");
  expect_error(h + "    command: x\n", ":5:", "duplicate key");
  expect_error(std::string(kHeader) + "    command: x\n", ":4:14", "expected a list");
  expect_error(std::string(kHeader) + "    command: []\n", ":4:", "must name a program");
  expect_error(std::string(kHeader) + "    hostname: [a]\n", ":4:", "expected a single value");
  expect_error(std::string(kHeader) + "    hostname:\n", ":4:5", "workloads.w.hostname: expected a value");
  expect_error(std::string(kHeader) + "    isolation: paranoid\n", ":4:", "trusted, standard or untrusted");
  expect_error(std::string(kHeader) + "    hostname: !!binary aGk=\n", ":4:", "explicit YAML tags");
  expect_error("version: 2\nworkloads: {w: {}}\n", ":1:10", "unsupported version '2'");
  expect_error("version: '1'\nworkloads: {w: {}}\n", ":1:10", "unsupported version");
  expect_error("workloads: {w: {}}\n", ":1:1", "version: missing");
}

// B06: overflow, over-long hostnames and names.
TEST(YamlLoader, B06HugeValues) {
  const std::string h = std::string(kHeader) + "    command: [x]\n";
  expect_error(h + "    resources: {memory: 99999999999999999999G}\n", ":5:", "invalid size");
  expect_error(h + "    resources: {memory: 17179869184G}\n", ":5:", "invalid size");
  expect_error(h + "    resources: {pids: 18446744073709551616}\n", ":5:", "invalid pids limit");
  expect_error(h + "    hostname: " + std::string(65, 'a') + "\n", ":5:", "longer than 64");
  expect_error(h + "    hostname: a/b\n", ":5:", "invalid hostname");
  expect_error("version: 1\nworkloads:\n  " + std::string(129, 'n') + ": {command: [x]}\n", ":3:3",
               "invalid container name");
}

// B08: paths with "..", denied sources and destinations, relative destinations.
TEST(YamlLoader, B08PathsAreNormalizedThenChecked) {
  const std::string h = std::string(kHeader) + "    command: [x]\n";
  expect_error(h + "    volumes: ['/tmp/../etc:/data']\n", ":5:", "under /etc");
  expect_error(h + "    volumes: ['/:/data']\n", ":5:", "host's root");
  expect_error(h + "    volumes: ['/proc/1:/data']\n", ":5:", "under /proc");
  expect_error(h + "    volumes: ['/srv:/proc/../proc/sys']\n", ":5:", "under /proc");
  expect_error(h + "    volumes: ['/srv:/usr/lib']\n", ":5:", "under /usr");
  expect_error(h + "    volumes: ['/srv:data']\n", ":5:", "must be absolute");
  expect_error(h + "    volumes: ['/srv:/data:rx']\n", ":5:", "mode must be ro or rw");
  expect_error(h + "    tmpfs: ['/dev/shm2']\n", ":5:", "under /dev");
  WorkloadFile f = parse(h + "    volumes: ['../../srv/./data:/data/../data2:ro']\n    rootfs: ../../../r\n");
  EXPECT_EQ(f.get("w").volumes[0].source, "/srv/data");
  EXPECT_EQ(f.get("w").volumes[0].destination, "/data2");
  EXPECT_TRUE(f.get("w").volumes[0].read_only);
  EXPECT_EQ(f.get("w").rootfs, "/r");
}

// B10: NUL bytes, bad env keys, malformed users.
TEST(YamlLoader, B10NulBytesAndMalformedIds) {
  const std::string h = std::string(kHeader) + "    command: [x]\n";
  expect_error(std::string(kHeader) + "    command: [\"a\\0b\"]\n", ":4:", "NUL byte");
  expect_error(h + "    env: {\"A\\0B\": x}\n", ":5:", "NUL");
  expect_error(h + "    env: {A: \"x\\0y\"}\n", ":5:", "NUL");
  expect_error(h + "    env: {\"\": x}\n", ":5:", "empty environment variable name");
  expect_error(h + "    env: {\"A=B\": x}\n", ":5:", "contains '='");
  expect_error(h + "    volumes: [\"/srv\\0:/x\"]\n", ":5:", "NUL");
  for (const char* user : {"'1000:'", "':0'", "'abc:1x'", "'-1'", "'1 000'", "4294967295"}) {
    expect_error(h + "    user: " + user + "\n", ":5:", "workloads.w.user");
  }
  WorkloadFile f = parse(h + "    env: {A: \"line1\\nline2\"}\n");
  EXPECT_EQ(f.get("w").env[0].second, "line1\nline2");  // a newline in a value is fine
}

// B12: invalid workload (container) names.
TEST(YamlLoader, B12InvalidNames) {
  for (const char* name : {"'.'", "'..'", "'.foo'", "'foo bar'", "'foo/bar'", "''", "'caf\xc3\xa9'"}) {
    expect_error(std::string("version: 1\nworkloads:\n  ") + name + ": {command: [x]}\n", ":3:3",
                 "invalid container name");
  }
}

// docs/yaml-reference.md refuses explicit tags: a mapping, a list or a key carrying one
// too, not only a value (issue 13).
TEST(YamlLoader, TagsAreRefusedOnEveryNode) {
  expect_error("version: 1\nworkloads: !!python/object/apply:os.system\n  w: {command: [x]}\n", ":2:12",
               "explicit YAML tags are not supported");
  expect_error(std::string(kHeader) + "    command: !!python/object/apply:os.system [x]\n", ":4:14",
               "explicit YAML tags are not supported");
  expect_error(std::string(kHeader) + "    !!binary Y29tbWFuZA==: [x]\n", ":4:5", "explicit YAML tags are not supported");
  expect_error("!!map\nversion: 1\nworkloads:\n  w: {command: [x]}\n", ":1:1", "explicit YAML tags are not supported");
  expect_error(std::string(kHeader) + "    command: [!custom x]\n", ":4:15", "explicit YAML tags are not supported");
  // Quoting is no tag.
  EXPECT_EQ(parse(std::string(kHeader) + "    command: ['x', \"y\"]\n").get("w").command,
            (std::vector<std::string>{"x", "y"}));
}

TEST(YamlLoader, LayerSize) {
  EXPECT_EQ(parse(std::string(kHeader) + "    command: [x]\n    layer_size: 2G\n").get("w").layer_size, 2ull << 30);
  EXPECT_EQ(parse(std::string(kHeader) + "    command: [x]\n").get("w").layer_size, std::nullopt);
  expect_error(std::string(kHeader) + "    command: [x]\n    layer_size: 10K\n", ":5:17", "at least 1M");
}

// compose's two forms of extra_hosts: a list of NAME:IP, or a map.
TEST(YamlLoader, ExtraHostsAsAListOrAMap) {
  const std::vector<ExtraHost> want = {{"db", parse_ip("192.0.2.7")}, {"gw", std::nullopt}};
  EXPECT_EQ(parse(std::string(kHeader) + "    command: [x]\n    extra_hosts: [\"db:192.0.2.7\", \"gw=host-gateway\"]\n")
                .get("w").bridge.extra_hosts, want);
  EXPECT_EQ(parse(std::string(kHeader) + "    command: [x]\n    extra_hosts: {db: 192.0.2.7, gw: host-gateway}\n")
                .get("w").bridge.extra_hosts, want);
  expect_error(std::string(kHeader) + "    command: [x]\n    extra_hosts: {db: nope}\n", ":5:", "'nope' is not an IP address");
}

TEST(YamlLoader, GetNamesAFewOfManyWorkloads) {
  std::string text = "version: 1\nworkloads:\n";
  for (int i = 0; i < 20000; ++i) text += "  w" + std::to_string(i) + ": {command: [x]}\n";
  WorkloadFile f = parse(text);
  try {
    f.get(std::string(100000, 'n'));
    FAIL();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_LT(msg.size(), 1000u) << "one readable line, not 149 KB";
    EXPECT_NE(msg.find("(it has: w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, ... 19990 more)"), std::string::npos) << msg;
  }
}

TEST(YamlLoader, GetNamesTheWorkloadsThereAre) {
  WorkloadFile f = parse(std::string(kHeader) + "    command: [x]\n");
  try {
    f.get("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no workload named 'nope' (it has: w)"), std::string::npos);
  }
}

}  // namespace
}  // namespace nucleus
