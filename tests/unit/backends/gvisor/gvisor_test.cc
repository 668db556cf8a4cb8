// The gVisor backend's pure parts: runsc's command lines (security-bar GV-03), platform
// choice, the trust check on runsc, and the OCI config written from a spec.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "backends/gvisor/gvisor_pod.h"
#include "backends/gvisor/init_filters.h"
#include "backends/gvisor/oci_bundle.h"
#include "core/policy/masked_paths.h"
#include "backends/gvisor/runsc/runsc_args.h"
#include "backends/gvisor/runsc/runsc_gaps.h"
#include "backends/gvisor/runsc/runsc_locate.h"
#include "core/init/filter_file.h"
#include "core/sys/error.h"
#include "core/sys/scoped.h"
#include "core/policy/seccomp_profile.h"

namespace nucleus::gvisor {
namespace {

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

TEST(RunscArgs, SecureDefaults) {
  RunscConfig c;
  c.runsc = "/usr/bin/runsc";
  c.root = "/run/nucleus-gvisor-x/runsc";
  c.log_fd = 7;
  auto args = run_args(c, "/b", "nucleus-1");
  EXPECT_FALSE(has(args, "--oci-seccomp"));  // nucleus-init loads nucleus's own filter
  EXPECT_TRUE(has(args, "--network=none"));
  EXPECT_TRUE(has(args, "--platform=ptrace"));
  EXPECT_TRUE(has(args, "--log-fd=7"));
  EXPECT_TRUE(has(args, "--root=/run/nucleus-gvisor-x/runsc"));
  EXPECT_TRUE(has(args, "--overlay2=none"));
  for (const std::string& a : args) {
    EXPECT_EQ(a.find("host-uds"), std::string::npos) << a;
    EXPECT_EQ(a.find("host-fifo"), std::string::npos) << a;
    EXPECT_EQ(a.find("net-raw"), std::string::npos) << a;
  }
  std::vector<std::string> tail(args.end() - 4, args.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"run", "--bundle", "/b", "nucleus-1"}));
  c.network = NetworkMode::kHost;
  c.memory_overlay = true;
  c.oci_seccomp = true;  // the OCI verbs: the orchestrator's profile
  args = run_args(c, "/b", "nucleus-1");
  EXPECT_TRUE(has(args, "--network=host"));
  EXPECT_TRUE(has(args, "--overlay2=root:memory"));
  EXPECT_TRUE(has(args, "--oci-seccomp"));
  EXPECT_EQ(kill_args(c, "nucleus-1", 15), (std::vector<std::string>{"--root=" + c.root, "kill", "nucleus-1", "15"}));
  EXPECT_EQ(delete_args(c, "nucleus-1"), (std::vector<std::string>{"--root=" + c.root, "delete", "--force", "nucleus-1"}));
}

// The runsc information cache: an entry that is not what nucleus writes is not believed.
TEST(RunscLocate, CacheEntriesAreParsedStrictly) {
  auto info = parse_runsc_info("0.0~20221219.0\nptrace\nkvm\n");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->version, "0.0~20221219.0");
  EXPECT_EQ(info->platforms, (std::vector<std::string>{"ptrace", "kvm"}));
  EXPECT_FALSE(parse_runsc_info("0.0\nnosuchplatform\n"));
  EXPECT_FALSE(parse_runsc_info("0.0\n"));
  EXPECT_FALSE(parse_runsc_info(""));
}

TEST(RunscArgs, SandboxNetworkForAJoinedNamespace) {
  RunscConfig c;
  c.root = "/r";
  c.sandbox_network = true;  // a CNI pod's namespace, by path
  EXPECT_TRUE(has(global_args(c), "--network=sandbox"));
  c.network = NetworkMode::kHost;
  EXPECT_TRUE(has(global_args(c), "--network=sandbox"));
  c.sandbox_network = false;
  EXPECT_TRUE(has(global_args(c), "--network=host"));
}

TEST(GvisorPod, TheCrisAnnotationsNameThePod) {
  using Kind = PodRole::Kind;
  EXPECT_EQ(pod_role({}, "c1").kind, Kind::kNone);
  PodRole sandbox = pod_role({{"io.kubernetes.cri.container-type", "sandbox"}, {"io.kubernetes.cri.sandbox-id", "sb"}}, "sb");
  EXPECT_EQ(sandbox.kind, Kind::kSandbox);
  EXPECT_EQ(sandbox.sandbox_id, "sb");
  PodRole member = pod_role({{"io.kubernetes.cri.container-type", "container"}, {"io.kubernetes.cri.sandbox-id", "sb"}}, "app");
  EXPECT_EQ(member.kind, Kind::kMember);
  EXPECT_EQ(member.sandbox_id, "sb");
  EXPECT_THROW(pod_role({{"io.kubernetes.cri.container-type", "container"}}, "app"), Error);
  EXPECT_THROW(pod_role({{"io.kubernetes.cri.container-type", "other"}}, "app"), Error);
  EXPECT_THROW(pod_role({{"io.kubernetes.cri.container-type", "container"}, {"io.kubernetes.cri.sandbox-id", "../x"}}, "a"), Error);
}

TEST(GvisorPod, RunscStateIsFoundPerContainer) {
  TempDir root("/tmp", "nucleus-unit-");
  std::ofstream(root.path() + "/app_sandbox:sb.state") << "{}";
  std::ofstream(root.path() + "/app_sandbox:sb.lock");
  EXPECT_TRUE(has_runsc_state(root.path(), "app"));
  EXPECT_FALSE(has_runsc_state(root.path(), "ap"));
  EXPECT_FALSE(has_runsc_state(root.path(), "sb"));
}

TEST(RunscArgs, PlatformChoice) {
  EXPECT_EQ(choose_platform(GvisorPlatform::kAuto, {"ptrace", "kvm"}), "ptrace");
  EXPECT_EQ(choose_platform(GvisorPlatform::kAuto, {"ptrace", "kvm", "systrap"}), "systrap");
  EXPECT_EQ(choose_platform(GvisorPlatform::kKvm, {"ptrace", "kvm"}), "kvm");
  EXPECT_THROW(choose_platform(GvisorPlatform::kSystrap, {"ptrace", "kvm"}), Error);
  EXPECT_EQ(parse_platforms("  -platform string\n    \tspecifies which platform to use: ptrace (default), kvm.\n"),
            (std::vector<std::string>{"ptrace", "kvm"}));
  EXPECT_EQ(parse_platforms("nothing"), (std::vector<std::string>{"ptrace"}));
}

TEST(RunscLocate, RefusesBinariesOthersCouldReplace) {
  TempDir dir("/tmp", "nucleus-unit-");
  std::string bin = dir.path() + "/runsc";
  std::ofstream(bin) << "#!/bin/sh\n";
  ::chmod(dir.path().c_str(), 0755);
  ::chmod(bin.c_str(), 0755);
  if (::geteuid() == 0) {
    EXPECT_FALSE(untrusted_reason(bin).has_value()) << untrusted_reason(bin).value_or("");  // sticky /tmp is fine
  }
  ::chmod(bin.c_str(), 0777);
  EXPECT_NE(untrusted_reason(bin).value_or("").find("writable by group or others"), std::string::npos);
  ::chmod(bin.c_str(), 0755);
  ::chown(bin.c_str(), 1000, 1000);
  EXPECT_NE(untrusted_reason(bin).value_or("").find("not owned by root"), std::string::npos);
}

BundleSpec sample() {
  BundleSpec b;
  b.command = {"/bin/app", "--flag"};
  b.env = {"PATH=/usr/bin", "HOME=/"};
  b.cwd = "/work";
  b.identity.uid = 1000;
  b.identity.gid = 1000;
  b.identity.groups = {2000};
  b.rlimits = {{7 /* RLIMIT_NOFILE */, 1024, 4096}};
  b.hostname = "box";
  b.root_path = "/run/nucleus-gvisor-x/bundle/rootfs";
  b.host_view = {{HostViewItem::kBindDirectory, "usr", "/usr"}, {HostViewItem::kSymlink, "bin", "usr/bin"}};
  b.mounts = {{"/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777", "size=67108864"}},
              {"/data", "bind", "/srv/data", {"rbind", "ro", "nosuid", "nodev"}}};
  for (std::string_view path : masked_paths()) b.masked_paths.emplace_back(path);
  for (std::string_view path : read_only_paths()) b.readonly_paths.emplace_back(path);
  b.init_source = "/opt/nucleus/nucleus-init";
  b.seccomp = seccomp::resolve(seccomp::default_profile(), {});
  b.init_filters = "/run/nucleus-gvisor-x/bundle/init-filters";
  return b;
}

TEST(OciBundle, ProcessCarriesTheSharedLayers) {
  auto c = make_config(sample());
  const auto& p = c["process"];
  EXPECT_EQ(p["args"], nlohmann::json({kInitPath, "--filters", kFiltersPath, "--", "/bin/app", "--flag"}));
  EXPECT_EQ(p["user"]["uid"], 1000);
  EXPECT_EQ(p["user"]["additionalGids"], nlohmann::json({2000}));
  EXPECT_EQ(p["cwd"], "/work");
  EXPECT_EQ(p["noNewPrivileges"], true);
  EXPECT_TRUE(p["capabilities"]["bounding"].empty());
  EXPECT_TRUE(p["capabilities"]["inheritable"].empty());
  EXPECT_EQ(p["rlimits"][0]["type"], "RLIMIT_NOFILE");
  EXPECT_EQ(p["rlimits"][0]["soft"], 1024);
  EXPECT_EQ(c["hostname"], "box");
  EXPECT_EQ(c["root"]["readonly"], true);
}

TEST(OciBundle, MountsNamespacesMasksAndTheFilterFile) {
  auto c = make_config(sample());
  auto mount = [&](const std::string& dst) {
    for (const auto& m : c["mounts"]) if (m["destination"] == dst) return m;
    return nlohmann::json();
  };
  EXPECT_EQ(mount("/usr")["options"], nlohmann::json({"rbind", "ro", "nosuid", "nodev"}));
  EXPECT_TRUE(mount("/bin").is_null());  // a symlink of the skeleton, not a mount
  EXPECT_EQ(mount("/data")["options"][1], "ro");
  EXPECT_EQ(mount("/tmp")["type"], "tmpfs");
  EXPECT_EQ(mount(kInitPath)["source"], "/opt/nucleus/nucleus-init");
  EXPECT_EQ(mount(kInitPath)["options"][1], "ro");
  EXPECT_EQ(mount("/sys")["options"].back(), "ro");
  const auto& linux = c["linux"];
  EXPECT_EQ(linux["namespaces"].size(), 5u);  // pid, ipc, uts, mount, network
  EXPECT_TRUE(std::find(linux["maskedPaths"].begin(), linux["maskedPaths"].end(), "/proc/kcore") != linux["maskedPaths"].end());
  EXPECT_TRUE(std::find(linux["readonlyPaths"].begin(), linux["readonlyPaths"].end(), "/proc/sys") !=
              linux["readonlyPaths"].end());
  // The filter is nucleus-init's to load, from a read-only file (runsc's loader is not used);
  // config.json states the profile for the record.
  EXPECT_EQ(linux["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
  bool clone3_enosys = false;
  for (const auto& rule : linux["seccomp"]["syscalls"]) {
    if (rule["names"] == nlohmann::json({"clone3"})) clone3_enosys = rule["errnoRet"] == 38;
  }
  EXPECT_TRUE(clone3_enosys);
  EXPECT_EQ(mount(kFiltersPath)["source"], "/run/nucleus-gvisor-x/bundle/init-filters");
  EXPECT_EQ(mount(kFiltersPath)["options"][1], "ro");

  BundleSpec host = sample();
  host.network = NetworkMode::kHost;
  host.seccomp.reset();
  auto h = make_config(host);
  EXPECT_EQ(h["linux"]["namespaces"].size(), 4u);
  EXPECT_FALSE(h["linux"].contains("seccomp"));
}

TEST(OciBundle, WrittenPrivatelyAndOnce) {
  TempDir dir("/tmp", "nucleus-unit-");
  write_config(dir.path(), make_config(sample()));
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THROW(write_config(dir.path(), make_config(sample())), Error);  // O_EXCL: never over a planted file
  TempDir root("/tmp", "nucleus-unit-");
  make_skeleton(root.path(), sample().host_view, "/work/sub");
  EXPECT_EQ(::lstat((root.path() + "/bin").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(::stat((root.path() + "/work/sub").c_str(), &st), 0);
  EXPECT_EQ(::stat((root.path() + "/proc").c_str(), &st), 0);
}

// The gap table is read by release date: the Debian 12 runsc has every gap, a release after
// the statx fix no longer gets the tracer, and a version nucleus cannot date is treated as
// the oldest.
TEST(RunscGaps, ByReleaseDate) {
  EXPECT_EQ(runsc_release_date("0.0~20221219.0"), 20221219);
  EXPECT_EQ(runsc_release_date("release-20240101.0"), 20240101);
  EXPECT_EQ(runsc_release_date("unknown"), 0);
  EXPECT_EQ(runsc_release_date("1.2.3"), 0);
  seccomp::SentryGaps debian = sentry_gaps("0.0~20221219.0");
  EXPECT_TRUE(debian.rejects_no_automount);
  EXPECT_TRUE(debian.unchecked_mknod);
  EXPECT_EQ(runsc_gaps("0.0~20221219.0").size(), 5u);
  seccomp::SentryGaps newer = sentry_gaps("release-20240101.0");
  EXPECT_FALSE(newer.rejects_no_automount);
  EXPECT_TRUE(newer.unchecked_mknod);  // not known to be fixed
  EXPECT_EQ(runsc_gaps("release-20240101.0").size(), 4u);
  EXPECT_TRUE(sentry_gaps("unknown").rejects_no_automount);
  // The sandbox network's root-namespace probe (kubernetes_test's PodNetwork).
  EXPECT_TRUE(mistakes_every_netns_for_the_hosts("0.0~20221219.0"));
  EXPECT_TRUE(mistakes_every_netns_for_the_hosts("unknown"));
  EXPECT_FALSE(mistakes_every_netns_for_the_hosts("release-20250101.0"));
  EXPECT_EQ(runsc_gaps("release-20250101.0").size(), 3u);
}

// What nucleus writes, nucleus-init reads back exactly; anything else it refuses.
TEST(InitFilters, RoundTripAndRefusals) {
  InitFilters f;
  f.workload = {{{0x06, 0, 0, 0x7fff0000}}, {{0x20, 0, 0, 4}, {0x06, 0, 0, 0x7fff0000}}};
  f.supervisor = {{0x06, 0, 0, 0x00050001}};
  f.trace_no_automount = true;
  std::string bytes = encode_init_filters(f);
  init::FilterSet set;
  ASSERT_EQ(init::parse_filter_file(bytes.data(), bytes.size(), &set), 0);
  EXPECT_EQ(set.flags, uint32_t{init::kTraceNoAutomount});
  ASSERT_EQ(set.count, 3u);
  EXPECT_EQ(set.programs[0].role, uint32_t{init::kWorkloadFilter});
  EXPECT_EQ(set.programs[1].length, 2u);
  EXPECT_EQ(set.programs[1].code[0].k, 4u);
  EXPECT_EQ(set.programs[2].role, uint32_t{init::kSupervisorFilter});
  EXPECT_EQ(set.programs[2].code[0].k, 0x00050001u);
  auto refused = [&](std::string b) { return init::parse_filter_file(b.data(), b.size(), &set) == EINVAL; };
  EXPECT_TRUE(refused(bytes.substr(0, bytes.size() - 1)));  // truncated
  EXPECT_TRUE(refused(bytes + "x"));                        // trailing bytes
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  EXPECT_TRUE(refused(bad_magic));
  std::string bad_role = bytes;
  bad_role[16] = 9;  // the first program's role
  EXPECT_TRUE(refused(bad_role));
  InitFilters none;
  none.supervisor = f.supervisor;
  std::string only = encode_init_filters(none);
  ASSERT_EQ(init::parse_filter_file(only.data(), only.size(), &set), 0);
  EXPECT_EQ(set.count, 1u);
  EXPECT_EQ(set.flags, 0u);
}

// `nucleus-init --exec` has no tracer: a trace row would answer ENOSYS, so it answers ALLOW
// there (what the Sentry does without the filter); every other verdict and instruction stays.
TEST(InitFilters, UntracedCopyAllowsOnlyWhatWouldBeTraced) {
  const sock_filter code[] = {{0x20, 0, 0, 4},             // ld arch
                              {0x15, 0, 1, 0xc000003e},    // jeq x86_64
                              {0x06, 0, 0, 0x7ff00000},    // ret TRACE
                              {0x06, 0, 0, 0x7ff00005},    // ret TRACE|data
                              {0x06, 0, 0, 0x00050001},    // ret ERRNO(1)
                              {0x06, 0, 0, 0x7fff0000}};   // ret ALLOW
  init::FilterProgram p{init::kWorkloadFilter, 6, code};
  sock_filter out[6];
  init::untrace_program(p, out);
  EXPECT_EQ(out[2].k, 0x7fff0000u);
  EXPECT_EQ(out[3].k, 0x7fff0000u);
  for (int i : {0, 1, 4, 5}) {
    EXPECT_EQ(out[i].code, code[i].code);
    EXPECT_EQ(out[i].k, code[i].k) << i;
    EXPECT_EQ(out[i].jt, code[i].jt);
    EXPECT_EQ(out[i].jf, code[i].jf);
  }
}

// The file in the bundle: read-only, created once, and what nucleus-init reads.
TEST(InitFilters, WrittenReadOnlyAndOnce) {
  TempDir dir("/tmp", "nucleus-unit-");
  InitFilters f = compile_init_filters(seccomp::resolve(seccomp::default_profile(), {}), sentry_gaps("0.0~20221219.0"), 0);
  EXPECT_EQ(f.workload.size(), 1u);  // one program: nucleus's writer folds the argument exceptions in
  EXPECT_TRUE(f.trace_no_automount);
  std::string path = write_init_filters(dir.path(), f);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  init::FilterSet set;
  EXPECT_EQ(init::read_filter_file(path.c_str(), &set), 0);
  EXPECT_EQ(set.count, 2u);
  EXPECT_THROW(write_init_filters(dir.path(), f), Error);
  // --seccomp unconfined on a runsc without gaps: only PID 1's own program.
  EXPECT_TRUE(compile_init_filters(std::nullopt, {}, 0).workload.empty());
}

}  // namespace
}  // namespace nucleus::gvisor
