// A --read-only image root (plan/rootfs.h): no writable layer while the image has every
// mount point; one made read-only at the end when it lacks some (a bridge's /etc files).
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <map>

#include "backends/native/plan/rootfs.h"

namespace nucleus::native {
namespace {

// An image at /img with the usual mount points; `extra` adds entries ("etc/hosts": a file).
HostProbe image_probe(std::map<std::string, HostEntry> extra = {}) {
  std::map<std::string, HostEntry> entries = {
      {"/tmp", {HostEntry::kDirectory, "", ""}},     {"/img/proc", {HostEntry::kDirectory, "", ""}},
      {"/img/sys", {HostEntry::kDirectory, "", ""}}, {"/img/dev", {HostEntry::kDirectory, "", ""}},
      {"/img/tmp", {HostEntry::kDirectory, "", ""}}, {"/img/etc", {HostEntry::kDirectory, "", ""}},
  };
  for (auto& [path, entry] : extra) entries["/img/" + path] = entry;
  return [entries](const std::string& path) -> std::optional<HostEntry> {
    auto it = entries.find(path);
    if (it == entries.end()) return std::nullopt;
    return it->second;
  };
}

RootOptions read_only_image(NetworkMode network) {
  RootOptions options;
  options.rootfs = "/img";
  options.read_only = true;
  options.network = network;
  options.mounts = {{.destination = "/tmp", .type = "tmpfs"}};
  return options;
}

bool has_layer(const RootPlan& plan) {
  for (const MountOp& op : plan.staging_ops) {
    if (op.kind == MountKind::kOverlay) return true;
  }
  return false;
}

TEST(ReadOnlyRoot, AnImageWithEveryMountPointIsTheRootItself) {
  RootPlan plan = plan_root(read_only_image(NetworkMode::kNone), image_probe());
  EXPECT_FALSE(has_layer(plan));
  ASSERT_FALSE(plan.staging_ops.empty());
  EXPECT_EQ(plan.staging_ops[0].target, "root");
  EXPECT_TRUE(plan.staging_ops[0].attr & MOUNT_ATTR_RDONLY);
  EXPECT_NE(plan.root_ops.back().kind, MountKind::kReadOnly);
}

TEST(ReadOnlyRoot, AnImageLackingAMountPointGetsALayerMadeReadOnlyLast) {
  // A bridge's /etc/hosts, resolv.conf and hostname: this image has none of them.
  RootPlan plan = plan_root(read_only_image(NetworkMode::kBridge), image_probe());
  EXPECT_TRUE(has_layer(plan));
  EXPECT_EQ(plan.staging_ops[0].target, "lower");
  EXPECT_TRUE(plan.staging_ops[0].attr & MOUNT_ATTR_RDONLY);
  EXPECT_EQ(plan.root_ops.back().kind, MountKind::kReadOnly);
  EXPECT_EQ(plan.root_ops.back().target, "");

  // Every one there: no layer. A link counts as missing (it may lead nowhere), and so
  // does a path through one (never followed with the host's meaning).
  const HostEntry file{HostEntry::kFile, "", ""};
  std::map<std::string, HostEntry> all = {{"etc/hosts", file}, {"etc/resolv.conf", file}, {"etc/hostname", file}};
  EXPECT_FALSE(has_layer(plan_root(read_only_image(NetworkMode::kBridge), image_probe(all))));
  all["etc/resolv.conf"] = {HostEntry::kSymlink, "../run/systemd/resolve/stub-resolv.conf", ""};
  EXPECT_TRUE(has_layer(plan_root(read_only_image(NetworkMode::kBridge), image_probe(all))));

  RootOptions volume = read_only_image(NetworkMode::kNone);
  volume.mounts.push_back({.destination = "/var/cache/app", .type = "tmpfs"});
  std::map<std::string, HostEntry> var = {{"var", {HostEntry::kSymlink, "/srv/var", "/srv/var"}},
                                          {"var/cache/app", {HostEntry::kDirectory, "", ""}}};
  EXPECT_TRUE(has_layer(plan_root(volume, image_probe(var))));
  var["var"] = {HostEntry::kDirectory, "", ""};
  var["var/cache"] = {HostEntry::kDirectory, "", ""};
  EXPECT_FALSE(has_layer(plan_root(volume, image_probe(var))));
}

TEST(ReadOnlyRoot, MountPointsBeneathAnEarlierMountNeedNothingOfTheImage) {
  // /tmp/sub lands in the /tmp tmpfs, /dev's entries in nucleus's /dev.
  RootOptions options = read_only_image(NetworkMode::kNone);
  options.mounts.push_back({.destination = "/tmp/sub", .type = "tmpfs"});
  EXPECT_FALSE(has_layer(plan_root(options, image_probe())));
}

}  // namespace
}  // namespace nucleus::native
