#include "core/policy/host_view.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace nucleus {
namespace {

// Shared read-only when they are directories; recreated as links when the host has merged
// them into /usr.
constexpr std::string_view kSystemDirs[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};

// The curated /etc: what the loader, name services and TLS need, what common tools read as
// they start (Python's platform and pip read os-release, getaddrinfo host.conf and gai.conf,
// OpenSSL openssl.cnf, mimetypes mime.types, getservbyname/getprotobyname services and
// protocols), and nothing about the host's users, secrets or services: no shadow or
// gshadow, no ssh, no machine-id, no sudoers, and no pip.conf or gitconfig, which may carry
// an index's or a forge's credentials (pip and git run without them).
constexpr std::string_view kEtcEntries[] = {
    "etc/passwd",      "etc/group",          "etc/hosts",        "etc/nsswitch.conf", "etc/host.conf",
    "etc/gai.conf",    "etc/ld.so.cache",    "etc/ld.so.conf",   "etc/ld.so.conf.d",  "etc/localtime",
    "etc/ssl/certs",   "etc/ssl/openssl.cnf", "etc/alternatives", "etc/os-release",    "etc/debian_version",
    "etc/services",    "etc/protocols",      "etc/mime.types",
};
constexpr std::string_view kHostNetworkEtcEntries[] = {"etc/resolv.conf"};

// Where a link's text leads from its own directory, without following anything: the same
// place inside the container, whose /usr is the host's.
std::string lexical_target(const std::string& entry, const std::string& link) {
  std::string path = link.rfind('/', 0) == 0 ? link : "/" + entry.substr(0, entry.rfind('/') + 1) + link;
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

HostViewItem bind_item(const std::string& target, const std::string& source, HostEntry::Type type) {
  return {type == HostEntry::kDirectory ? HostViewItem::kBindDirectory : HostViewItem::kBindFile, target, source};
}

}  // namespace

std::optional<HostEntry> probe_host(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  HostEntry entry;
  if (S_ISDIR(st.st_mode)) {
    entry.type = HostEntry::kDirectory;
  } else if (S_ISREG(st.st_mode)) {
    entry.type = HostEntry::kFile;
  } else if (S_ISLNK(st.st_mode)) {
    entry.type = HostEntry::kSymlink;
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n > 0) entry.link.assign(buf, static_cast<size_t>(n));
    if (::realpath(path.c_str(), buf) != nullptr) entry.resolved = buf;
  }
  return entry;
}

std::optional<std::pair<std::string, HostEntry::Type>> bindable_source(const std::string& path, const HostProbe& probe) {
  auto entry = probe(path);
  if (!entry) return std::nullopt;
  std::string source = path;
  if (entry->type == HostEntry::kSymlink) {  // bound through to its target; dangling: none
    source = entry->resolved;
    entry = source.empty() ? std::nullopt : probe(source);
    if (!entry) return std::nullopt;
  }
  if (entry->type != HostEntry::kFile && entry->type != HostEntry::kDirectory) return std::nullopt;
  return std::pair{source, entry->type};
}

std::vector<HostViewItem> host_view_items(bool host_network, const HostProbe& probe) {
  std::vector<HostViewItem> items;
  for (std::string_view dir : kSystemDirs) {
    std::string name(dir);
    auto entry = probe("/" + name);
    if (!entry) continue;
    if (entry->type == HostEntry::kSymlink) {
      items.push_back({HostViewItem::kSymlink, name, entry->link});
    } else if (entry->type == HostEntry::kDirectory) {
      items.push_back(bind_item(name, "/" + name, HostEntry::kDirectory));
    }
  }
  auto add_etc = [&](std::string_view rel) {
    std::string name(rel);
    auto entry = probe("/" + name);
    if (!entry) return;
    if (entry->type == HostEntry::kSymlink) {
      // Links into /usr stay links (visible through the /usr bind: /etc/os-release ->
      // ../usr/lib/os-release); others are bound through to their target, or left out when
      // dangling.
      if (entry->resolved.rfind("/usr/", 0) == 0 && lexical_target(name, entry->link).rfind("/usr/", 0) == 0) {
        items.push_back({HostViewItem::kSymlink, name, entry->link});
        return;
      }
    }
    if (auto source = bindable_source("/" + name, probe)) items.push_back(bind_item(name, source->first, source->second));
  };
  for (std::string_view rel : kEtcEntries) add_etc(rel);
  if (host_network) {
    for (std::string_view rel : kHostNetworkEtcEntries) add_etc(rel);
  }
  return items;
}

}  // namespace nucleus
