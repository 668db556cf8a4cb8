// The native launch plan, built against a fake host (no root, no kernel).
#include "backends/native/plan/launch_plan.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include <future>
#include <map>
#include <thread>

#include "backends/native/child/child_steps.h"
#include "backends/native/child/clone.h"
#include "config/presets.h"
#include "config/resolve.h"
#include "core/sys/error.h"

namespace nucleus::native {
namespace {

// A merged-/usr Debian host.
std::map<std::string, HostEntry> debian_host() {
  return {
      {"/tmp", {HostEntry::kDirectory, "", ""}},
      {"/usr", {HostEntry::kDirectory, "", ""}},
      {"/bin", {HostEntry::kSymlink, "usr/bin", "/usr/bin"}},
      {"/lib", {HostEntry::kSymlink, "usr/lib", "/usr/lib"}},
      {"/lib64", {HostEntry::kSymlink, "usr/lib64", "/usr/lib64"}},
      {"/etc/passwd", {HostEntry::kFile, "", ""}},
      {"/etc/group", {HostEntry::kFile, "", ""}},
      {"/etc/localtime", {HostEntry::kSymlink, "/usr/share/zoneinfo/Etc/UTC", "/usr/share/zoneinfo/Etc/UTC"}},
      {"/etc/hosts", {HostEntry::kSymlink, "/run/hosts", "/run/hosts"}},
      {"/run/hosts", {HostEntry::kFile, "", ""}},
      {"/etc/ssl/certs", {HostEntry::kDirectory, "", ""}},
      {"/etc/resolv.conf", {HostEntry::kFile, "", ""}},
      // An image with the usual mount points (a --read-only root needs no layer).
      {"/srv/rootfs/proc", {HostEntry::kDirectory, "", ""}},
      {"/srv/rootfs/sys", {HostEntry::kDirectory, "", ""}},
      {"/srv/rootfs/dev", {HostEntry::kDirectory, "", ""}},
      {"/srv/rootfs/tmp", {HostEntry::kDirectory, "", ""}},
  };
}

// What resolution (config/resolve.h) and the plan read of a host.
struct FakeHost {
  HostFacts facts;
  HostContext context;
};

FakeHost fake_host(bool root) {
  FakeHost host;
  host.facts.caller_is_root = host.context.caller_is_root = root;
  host.facts.uid = host.context.uid = root ? 0 : 1000;
  host.facts.gid = host.context.gid = root ? 0 : 1000;
  auto entries = debian_host();
  host.context.probe = [entries](const std::string& path) -> std::optional<HostEntry> {
    auto it = entries.find(path);
    if (it == entries.end()) return std::nullopt;
    return it->second;
  };
  host.facts.read_container_file = [](const std::string& rel) -> std::string {
    if (rel == "etc/passwd") return "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
    if (rel == "etc/group") return "root:x:0:\ntty:x:5:\napp:x:1000:\n";
    return "";
  };
  host.facts.container_has_dir = [](const std::string& p) { return p == "/" || p == "/tmp"; };
  host.context.landlock_abi = 6;
  host.context.last_cap = 40;
  host.facts.load_seccomp_profile = [](const std::string&) { return seccomp::default_profile(); };
  return host;
}

// A request resolved at a level (config/resolve.h), then planned: the path of `run`.
LaunchPlan build_launch_plan(WorkloadSpec request, const Preset& preset, const FakeHost& host) {
  request.isolation = preset.level;
  return build_launch_plan(resolve_workload(request, host.facts), host.context, LaunchMode{.tied_to_parent = true});
}

WorkloadSpec spec_of(std::vector<std::string> command) {
  WorkloadSpec spec;
  spec.command = std::move(command);
  return spec;
}

const MountOp* find(const std::vector<MountOp>& ops, const std::string& target, MountKind kind) {
  for (const MountOp& op : ops) {
    if (op.target == target && op.kind == kind) return &op;
  }
  return nullptr;
}

size_t index_of(const std::vector<MountOp>& ops, const std::string& target) {
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].target == target) return i;
  }
  return ops.size();
}

TEST(LaunchPlan, StandardUsesAUserNamespaceWithTheSubordinateRange) {
  WorkloadSpec spec = spec_of({"true"});
  LaunchPlan plan = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
  EXPECT_TRUE(plan.user_namespace);
  EXPECT_EQ(plan.clone_flags & (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET),
            static_cast<uint64_t>(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC));
  // --network none: the child makes its network namespace, off the clone.
  EXPECT_TRUE(plan.unshare_network);
  ASSERT_EQ(plan.ids.uid_map.size(), 1u);
  EXPECT_EQ(plan.ids.uid_map[0].outside, kSubordinateBase);
  EXPECT_EQ(plan.ids.uid_map[0].count, kSubordinateCount);
  EXPECT_FALSE(plan.ids.deny_setgroups);
  EXPECT_TRUE(plan.bring_up_loopback);
  EXPECT_TRUE(plan.init);
}

// netd's bridge and pasta configure the container's network namespace from outside as soon
// as the clone returns: for them the clone makes it.
TEST(LaunchPlan, AConfiguredNetworkNamespaceComesWithTheClone) {
  for (NetworkMode mode : {NetworkMode::kBridge, NetworkMode::kPasta}) {
    WorkloadSpec spec = spec_of({"true"});
    spec.network = mode;
    LaunchPlan plan = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
    EXPECT_NE(plan.clone_flags & CLONE_NEWNET, 0u) << to_string(mode);
    EXPECT_FALSE(plan.unshare_network) << to_string(mode);
  }
}

// --network bridge: /etc/resolv.conf, hosts and hostname are files the parent makes
// (native_network.h), attached read-only after /dev and the volumes, and before the host
// view's root becomes read-only (the last op); nothing of them is a host path the child opens.
TEST(LaunchPlan, ABridgesEtcFilesAreAttachedFromTheParentAfterTheVolumes) {
  WorkloadSpec spec = spec_of({"true"});
  spec.network = NetworkMode::kBridge;
  spec.volumes.push_back({.source = "/tmp", .destination = "/data"});
  LaunchPlan plan = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
  const auto& ops = plan.root.root_ops;
  std::vector<std::string> attached;
  for (const MountOp& op : ops) {
    if (op.kind != MountKind::kAttachTree) continue;
    attached.push_back(op.target);
    EXPECT_EQ(op.target_kind, TargetKind::kFile) << op.target;
    EXPECT_TRUE(op.replace_link) << op.target;  // over a file of the root's own, never through a link
    EXPECT_TRUE(op.attr & MOUNT_ATTR_RDONLY) << op.target;
    EXPECT_TRUE(op.attr & MOUNT_ATTR_NOSUID) << op.target;
  }
  EXPECT_EQ(attached, (std::vector<std::string>{"etc/resolv.conf", "etc/hosts", "etc/hostname"}));
  const size_t first = index_of(ops, "etc/resolv.conf");
  EXPECT_LT(index_of(ops, "data"), first);
  ASSERT_TRUE(plan.root.dev.has_value());
  EXPECT_LE(plan.root.dev_at, first);
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(ops.back().kind, MountKind::kReadOnly);
  EXPECT_LT(index_of(ops, "etc/hostname"), ops.size() - 1);
  spec.network = NetworkMode::kNone;
  LaunchPlan none = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
  for (const MountOp& op : none.root.root_ops) EXPECT_NE(op.kind, MountKind::kAttachTree) << op.target;
}

TEST(LaunchPlan, TrustedAsRootHasNoUserNamespace) {
  LaunchPlan plan = build_launch_plan(spec_of({"true"}), preset_for(IsolationLevel::kTrusted), fake_host(true));
  EXPECT_FALSE(plan.user_namespace);
  EXPECT_EQ(plan.clone_flags & CLONE_NEWUSER, 0u);
}

TEST(LaunchPlan, RootlessMapsOnlyTheCaller) {
  LaunchPlan plan = build_launch_plan(spec_of({"true"}), preset_for(IsolationLevel::kTrusted), fake_host(false));
  EXPECT_TRUE(plan.user_namespace);
  EXPECT_TRUE(plan.ids.deny_setgroups);
  EXPECT_EQ(plan.ids.uid_map[0].outside, 1000u);
  EXPECT_EQ(plan.ids.uid_map[0].count, 1u);
  WorkloadSpec spec = spec_of({"true"});
  spec.user = "1000";
  EXPECT_THROW(build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(false)), Error);
}

TEST(LaunchPlan, UidsOutsideTheRangeAreRefused) {
  WorkloadSpec spec = spec_of({"true"});
  spec.user = "70000";
  try {
    build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("uid 70000 is outside the container's uids 0-65535"), std::string::npos);
  }
}

TEST(LaunchPlan, HostViewIsReadOnlyAndCurated) {
  LaunchPlan plan = build_launch_plan(spec_of({"true"}), preset_for(IsolationLevel::kStandard), fake_host(true));
  const auto& ops = plan.root.root_ops;
  EXPECT_TRUE(plan.root.root_subdir.empty());
  EXPECT_EQ(plan.root.staging, "/tmp");
  const MountOp* usr = find(ops, "usr", MountKind::kBind);
  ASSERT_NE(usr, nullptr);
  EXPECT_TRUE(usr->attr & MOUNT_ATTR_RDONLY);
  ASSERT_NE(find(ops, "bin", MountKind::kSymlink), nullptr);
  EXPECT_EQ(find(ops, "bin", MountKind::kSymlink)->data, "usr/bin");
  EXPECT_NE(find(ops, "etc/passwd", MountKind::kBind), nullptr);
  // A link into /usr stays a link; one elsewhere is bound through to its target.
  EXPECT_NE(find(ops, "etc/localtime", MountKind::kSymlink), nullptr);
  const MountOp* hosts = find(ops, "etc/hosts", MountKind::kBind);
  ASSERT_NE(hosts, nullptr);
  EXPECT_EQ(hosts->source, "/run/hosts");
  EXPECT_EQ(hosts->target_kind, TargetKind::kFile);
  EXPECT_EQ(find(ops, "etc/resolv.conf", MountKind::kBind), nullptr);  // only with --network host
  for (const char* secret : {"etc/shadow", "root", "home", "var", "run"}) {
    EXPECT_EQ(index_of(ops, secret), ops.size()) << secret;
  }
  EXPECT_NE(find(ops, "proc", MountKind::kProc), nullptr);
  EXPECT_NE(find(ops, "sys", MountKind::kSysfs), nullptr);
  const MountOp* tmp = find(ops, "tmp", MountKind::kTmpfs);
  ASSERT_NE(tmp, nullptr);
  EXPECT_NE(tmp->data.find("size=67108864"), std::string::npos);
  EXPECT_TRUE(tmp->flags & MS_NOSUID);
  EXPECT_TRUE(tmp->flags & MS_NODEV);
  // The view's own tmpfs becomes read-only last, after every mount point exists.
  EXPECT_EQ(ops.back().kind, MountKind::kReadOnly);
  EXPECT_EQ(ops.back().target, "");
}

TEST(LaunchPlan, DevHasOnlyTheAllowList) {
  LaunchPlan plan = build_launch_plan(spec_of({"true"}), preset_for(IsolationLevel::kStandard), fake_host(true));
  // Every bind beneath /dev, wherever the plan holds it: the root's ops, or /dev's own tree
  // (targets relative to /dev there).
  std::vector<std::string> nodes;
  for (const MountOp& op : plan.root.root_ops) {
    if (op.kind == MountKind::kBind && op.target.rfind("dev/", 0) == 0) nodes.push_back(op.target);
  }
  ASSERT_TRUE(plan.root.dev.has_value());
  EXPECT_EQ(plan.root.dev->tmpfs.target, "dev");
  for (const MountOp& op : plan.root.dev->inside) {
    if (op.kind == MountKind::kBind) nodes.push_back("dev/" + op.target);
  }
  EXPECT_EQ(nodes, (std::vector<std::string>{"dev/null", "dev/zero", "dev/full", "dev/random", "dev/urandom", "dev/tty"}));
  const MountOp* pts = find(plan.root.root_ops, "dev/pts", MountKind::kDevpts);
  ASSERT_NE(pts, nullptr);
  EXPECT_NE(pts->data.find("newinstance"), std::string::npos);
  EXPECT_NE(pts->data.find("gid=5"), std::string::npos);
}

TEST(LaunchPlan, RootfsGetsAnIdMappedOverlay) {
  WorkloadSpec spec = spec_of({"true"});
  spec.rootfs = "/srv/rootfs";
  LaunchPlan plan = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
  EXPECT_TRUE(plan.idmapped_rootfs);
  EXPECT_EQ(plan.root.root_subdir, "root");
  const auto& staging = plan.root.staging_ops;
  ASSERT_NE(find(staging, "lower", MountKind::kMoveTree), nullptr);
  const MountOp* overlay = find(staging, "root", MountKind::kOverlay);
  ASSERT_NE(overlay, nullptr);
  EXPECT_EQ(overlay->data, "lowerdir=/tmp/lower,upperdir=/tmp/upper,workdir=/tmp/work,userxattr");
  EXPECT_NE(plan.root.root_ops.back().kind, MountKind::kReadOnly);  // the layer stays writable

  spec.read_only = true;
  plan = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
  EXPECT_EQ(find(plan.root.staging_ops, "root", MountKind::kOverlay), nullptr);
  ASSERT_NE(find(plan.root.staging_ops, "root", MountKind::kMoveTree), nullptr);
  EXPECT_TRUE(find(plan.root.staging_ops, "root", MountKind::kMoveTree)->attr & MOUNT_ATTR_RDONLY);

  plan = build_launch_plan(spec, preset_for(IsolationLevel::kTrusted), fake_host(true));
  EXPECT_FALSE(plan.idmapped_rootfs);  // no user namespace, nothing to map through
  EXPECT_NE(find(plan.root.staging_ops, "root", MountKind::kBind), nullptr);
}

TEST(LaunchPlan, UserMountsGoParentsFirstAndReplaceTheDefaultTmp) {
  WorkloadSpec spec = spec_of({"true"});
  spec.volumes = {{"/srv/cache", "/data/cache", true}, {"/srv/data", "/data", false}};
  spec.tmpfs = {{"/tmp", 8u << 20}};
  LaunchPlan plan = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
  const auto& ops = plan.root.root_ops;
  EXPECT_LT(index_of(ops, "data"), index_of(ops, "data/cache"));
  const MountOp* tmp = find(ops, "tmp", MountKind::kTmpfs);
  ASSERT_NE(tmp, nullptr);
  EXPECT_NE(tmp->data.find("size=8388608"), std::string::npos);
  int tmp_mounts = 0;
  for (const MountOp& op : ops) tmp_mounts += op.target == "tmp";
  EXPECT_EQ(tmp_mounts, 1);
  EXPECT_TRUE(find(ops, "data", MountKind::kBind)->attr & MOUNT_ATTR_NOSUID);
  EXPECT_FALSE(find(ops, "data", MountKind::kBind)->attr & MOUNT_ATTR_RDONLY);
  EXPECT_TRUE(find(ops, "data/cache", MountKind::kBind)->attr & MOUNT_ATTR_RDONLY);
}

TEST(LaunchPlan, HostNetworkSharesTheHostsSysfsAndResolvConf) {
  WorkloadSpec spec = spec_of({"true"});
  spec.network = NetworkMode::kHost;
  LaunchPlan plan = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
  EXPECT_EQ(plan.clone_flags & CLONE_NEWNET, 0u);
  EXPECT_FALSE(plan.bring_up_loopback);
  EXPECT_NE(find(plan.root.root_ops, "sys", MountKind::kBind), nullptr);
  EXPECT_NE(find(plan.root.root_ops, "etc/resolv.conf", MountKind::kBind), nullptr);

  // An image on the host's network gets the host's resolver and hosts files too (its own
  // know nothing of this network), read-only, through the host's links, before the volumes.
  spec.rootfs = "/srv/rootfs";
  spec.volumes.push_back({.source = "/tmp", .destination = "/data"});
  plan = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
  const MountOp* resolv = find(plan.root.root_ops, "etc/resolv.conf", MountKind::kBind);
  const MountOp* hosts = find(plan.root.root_ops, "etc/hosts", MountKind::kBind);
  ASSERT_NE(resolv, nullptr);
  ASSERT_NE(hosts, nullptr);
  EXPECT_EQ(resolv->source, "/etc/resolv.conf");
  EXPECT_EQ(hosts->source, "/run/hosts");  // the fake host's /etc/hosts is a link there
  EXPECT_TRUE(hosts->attr & MOUNT_ATTR_RDONLY);
  EXPECT_TRUE(hosts->replace_link);
  EXPECT_LT(index_of(plan.root.root_ops, "etc/hosts"), index_of(plan.root.root_ops, "data"));
  spec.network = NetworkMode::kNone;
  plan = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
  EXPECT_EQ(find(plan.root.root_ops, "etc/hosts", MountKind::kBind), nullptr);
}

TEST(LaunchPlan, EnvironmentAndArgv) {
  WorkloadSpec spec = spec_of({"sh", "-c", "echo"});
  spec.env = {{"LD_PRELOAD", "/evil.so"}, {"PATH", "/opt/bin"}, {"A", "1"}};
  spec.user = "app";
  LaunchPlan plan = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
  plan.finalize();
  for (const std::string& e : plan.env_storage) EXPECT_NE(e.rfind("LD_PRELOAD=", 0), 0u) << "the filter drops it";
  EXPECT_EQ(plan.search_path, "/opt/bin");
  EXPECT_EQ(plan.identity.uid, 1000u);
  EXPECT_EQ(plan.child_identity.gid, 1000u);
  ASSERT_EQ(plan.argv.size(), 4u);
  EXPECT_STREQ(plan.argv[2], "echo");
  EXPECT_EQ(plan.argv[3], nullptr);
  EXPECT_STREQ(plan.envp[1], "HOME=/");  // /home/app is not in the view
  EXPECT_EQ(plan.envp.back(), nullptr);
  EXPECT_EQ(plan.root_source_fds.size(), plan.root.root_ops.size());
}

TEST(LaunchPlan, LayersFollowThePresetAndTheOptions) {
  LaunchPlan standard = build_launch_plan(spec_of({"true"}), preset_for(IsolationLevel::kStandard), fake_host(true));
  EXPECT_TRUE(standard.no_new_privs);
  EXPECT_EQ(standard.capabilities.permitted, 0u);
  EXPECT_TRUE(standard.landlock.enabled);
  EXPECT_TRUE(standard.seccomp_profile != nullptr);
  EXPECT_FALSE(standard.seccomp_conditions.trusted);
  EXPECT_NE(find(standard.root.root_ops, "proc/sys/user/max_user_namespaces", MountKind::kWriteFile), nullptr);
  EXPECT_NE(find(standard.root.root_ops, "proc/kcore", MountKind::kMask), nullptr);
  EXPECT_NE(find(standard.root.root_ops, "proc/sys", MountKind::kReadOnlyRebind), nullptr);
  // The clamp is written before /proc/sys turns read-only.
  EXPECT_LT(index_of(standard.root.root_ops, "proc/sys/user/max_user_namespaces"),
            index_of(standard.root.root_ops, "proc/sys"));

  LaunchPlan trusted = build_launch_plan(spec_of({"true"}), preset_for(IsolationLevel::kTrusted), fake_host(true));
  EXPECT_EQ(trusted.capabilities.permitted, 0xa80425fbull);
  EXPECT_EQ(trusted.capabilities.ambient, 0u);
  EXPECT_FALSE(trusted.landlock.enabled);
  EXPECT_TRUE(trusted.seccomp_conditions.trusted);
  // Never the host's user namespace limit.
  EXPECT_EQ(find(trusted.root.root_ops, "proc/sys/user/max_user_namespaces", MountKind::kWriteFile), nullptr);

  WorkloadSpec spec = spec_of({"true"});
  spec.user = "1000";
  spec.capabilities.add = {"NET_BIND_SERVICE"};
  spec.seccomp.mode = SeccompMode::kUnconfined;
  spec.landlock = false;
  LaunchPlan opted = build_launch_plan(spec, preset_for(IsolationLevel::kStandard), fake_host(true));
  EXPECT_EQ(opted.capabilities.permitted, CapSet{1} << 10);
  EXPECT_EQ(opted.capabilities.ambient, CapSet{1} << 10);  // a non-root workload keeps it across exec
  EXPECT_FALSE(opted.seccomp_profile != nullptr);
  EXPECT_FALSE(opted.landlock.enabled);
}

TEST(LaunchPlan, MissingLandlockIsAnErrorNotADowngrade) {
  FakeHost host = fake_host(true);
  host.context.landlock_abi = 0;
  EXPECT_THROW(build_launch_plan(spec_of({"true"}), preset_for(IsolationLevel::kStandard), host), Error);
  WorkloadSpec off = spec_of({"true"});
  off.landlock = false;
  EXPECT_NO_THROW(build_launch_plan(off, preset_for(IsolationLevel::kStandard), host));
  EXPECT_NO_THROW(build_launch_plan(spec_of({"true"}), preset_for(IsolationLevel::kTrusted), host));
}

TEST(LaunchPlan, AblationsAreTestOnlyAndExplicit) {
  FakeHost host = fake_host(true);
  host.context.ablation.masks = true;
  host.context.ablation.userns_clamp = true;
  host.context.ablation.no_new_privs = true;
  LaunchPlan plan = build_launch_plan(spec_of({"true"}), preset_for(IsolationLevel::kStandard), host);
  EXPECT_FALSE(plan.no_new_privs);
  EXPECT_EQ(find(plan.root.root_ops, "proc/kcore", MountKind::kMask), nullptr);
  EXPECT_EQ(find(plan.root.root_ops, "proc/sys/user/max_user_namespaces", MountKind::kWriteFile), nullptr);
}

TEST(LaunchPlan, ChildFailuresAreWordedByTheParent) {
  LaunchPlan plan = build_launch_plan(spec_of({"/bin/app"}), preset_for(IsolationLevel::kStandard), fake_host(true));
  ChildReport report;
  report.step = static_cast<uint16_t>(ChildStep::kRootMount);
  report.index = static_cast<int32_t>(index_of(plan.root.root_ops, "proc"));
  report.err = EPERM;
  Error e = describe_child_failure(plan, report);
  EXPECT_STREQ(e.what(), "mount proc at /proc: Operation not permitted");
  // /dev's fixed tree, made by the child: its ops are relative to /dev, the words are not.
  report.step = static_cast<uint16_t>(ChildStep::kDevMount);
  report.index = 0;
  EXPECT_STREQ(describe_child_failure(plan, report).what(), "bind /dev/null at /dev/null: Operation not permitted");
  report.index = -1;
  EXPECT_STREQ(describe_child_failure(plan, report).what(), "mount tmpfs at /dev: Operation not permitted");
  report.step = static_cast<uint16_t>(ChildStep::kExec);
  report.err = ENOENT;
  e = describe_child_failure(plan, report);
  EXPECT_STREQ(e.what(), "exec /bin/app: No such file or directory");
  EXPECT_EQ(e.exit_code(), 127);
  report.err = EACCES;
  EXPECT_EQ(describe_child_failure(plan, report).exit_code(), 126);
}

// clone_container's precondition: a clone from a multi-threaded nucleus could inherit a lock
// another thread held. The check trusts glibc's single-thread flag only while no thread was
// ever made, and reads /proc otherwise.
TEST(RequireSingleThread, RefusesWhileAnotherThreadRunsAndAcceptsAfterItEnds) {
  EXPECT_NO_THROW(require_single_thread());
  std::promise<void> done;
  std::thread other([f = done.get_future()]() mutable { f.wait(); });
  EXPECT_THROW(require_single_thread(), Error);
  done.set_value();
  other.join();
  EXPECT_NO_THROW(require_single_thread());
}

}  // namespace
}  // namespace nucleus::native
