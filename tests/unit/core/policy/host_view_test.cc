// The host view's table against a fake Debian host: what programs read at start is there,
// secrets and credentials are not, and links into /usr stay links.
#include "core/policy/host_view.h"

#include <gtest/gtest.h>

#include <map>

namespace nucleus {
namespace {

const HostViewItem* find(const std::vector<HostViewItem>& items, const std::string& target) {
  for (const HostViewItem& i : items) {
    if (i.target == target) return &i;
  }
  return nullptr;
}

std::vector<HostViewItem> debian_view() {
  std::map<std::string, HostEntry> host = {
      {"/usr", {HostEntry::kDirectory, "", ""}},
      {"/bin", {HostEntry::kSymlink, "usr/bin", "/usr/bin"}},
      {"/etc/passwd", {HostEntry::kFile, "", ""}},
      {"/etc/os-release", {HostEntry::kSymlink, "../usr/lib/os-release", "/usr/lib/os-release"}},
      {"/usr/lib/os-release", {HostEntry::kFile, "", ""}},
      {"/etc/debian_version", {HostEntry::kFile, "", ""}},
      {"/etc/ssl/openssl.cnf", {HostEntry::kFile, "", ""}},
      {"/etc/services", {HostEntry::kFile, "", ""}},
      {"/etc/mime.types", {HostEntry::kFile, "", ""}},
      // A relative link that leaves /usr lexically but resolves into it is bound, not linked.
      {"/etc/alternatives", {HostEntry::kSymlink, "../opt/alt", "/usr/share/alt"}},
      {"/usr/share/alt", {HostEntry::kDirectory, "", ""}},
      {"/etc/shadow", {HostEntry::kFile, "", ""}},
      {"/etc/gshadow", {HostEntry::kFile, "", ""}},
      {"/etc/pip.conf", {HostEntry::kFile, "", ""}},
      {"/etc/gitconfig", {HostEntry::kFile, "", ""}},
      {"/etc/machine-id", {HostEntry::kFile, "", ""}},
  };
  return host_view_items(false, [host](const std::string& p) -> std::optional<HostEntry> {
    auto it = host.find(p);
    if (it == host.end()) return std::nullopt;
    return it->second;
  });
}

TEST(HostView, HasWhatProgramsReadAtStart) {
  std::vector<HostViewItem> v = debian_view();
  const HostViewItem* os = find(v, "etc/os-release");
  ASSERT_NE(os, nullptr);
  EXPECT_EQ(os->kind, HostViewItem::kSymlink);  // resolves through the /usr bind inside
  EXPECT_EQ(os->source, "../usr/lib/os-release");
  for (const char* f : {"etc/debian_version", "etc/ssl/openssl.cnf", "etc/services", "etc/mime.types", "etc/passwd"}) {
    ASSERT_NE(find(v, f), nullptr) << f;
    EXPECT_EQ(find(v, f)->kind, HostViewItem::kBindFile) << f;
  }
  const HostViewItem* alt = find(v, "etc/alternatives");
  ASSERT_NE(alt, nullptr);
  EXPECT_EQ(alt->kind, HostViewItem::kBindDirectory);
  EXPECT_EQ(alt->source, "/usr/share/alt");
}

TEST(HostView, KeepsSecretsAndCredentialsOut) {
  std::vector<HostViewItem> v = debian_view();
  for (const char* f : {"etc/shadow", "etc/gshadow", "etc/pip.conf", "etc/gitconfig", "etc/machine-id"}) {
    EXPECT_EQ(find(v, f), nullptr) << f;
  }
}

}  // namespace
}  // namespace nucleus
