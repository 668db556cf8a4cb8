#include "backends/gvisor/runsc/runsc_locate.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process.hpp>
#include <sstream>

#include "core/sys/error.h"
#include "core/sys/private_dir.h"

namespace bp = boost::process;

namespace nucleus::gvisor {
namespace {

constexpr const char* kRunscPaths[] = {"/usr/bin/runsc", "/usr/sbin/runsc", "/usr/local/bin/runsc"};
constexpr const char* kKnownPlatforms[] = {"ptrace", "kvm", "systrap"};

std::string capture(const std::string& runsc, const std::vector<std::string>& args) {
  bp::ipstream out;
  bp::child c(runsc, bp::args(args), (bp::std_out & bp::std_err) > out, bp::std_in < bp::null);
  std::stringstream ss;
  ss << out.rdbuf();
  c.wait();
  return ss.str();
}

}  // namespace

std::optional<std::string> untrusted_reason(const std::string& path) {
  for (std::string p = path; !p.empty();) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) return p + " cannot be inspected";
    if (st.st_uid != 0) return p + " is not owned by root";
    // A sticky directory (like /tmp) lets nobody but root replace root's files in it.
    bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky_dir) return p + " is writable by group or others";
    if (p == "/") break;
    size_t slash = p.find_last_of('/');
    p = slash == 0 ? "/" : p.substr(0, slash);
  }
  return std::nullopt;
}

std::string locate_runsc() {
  for (const char* path : kRunscPaths) {
    struct stat st;
    if (::stat(path, &st) != 0) continue;
    if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)) throw Error("runsc", std::string(path) + " is not executable");
    if (auto why = untrusted_reason(path)) throw Error("runsc", "refusing to run it: " + *why);
    return path;
  }
  throw Error("gvisor backend", "runsc is not installed (looked in /usr/bin, /usr/sbin, /usr/local/bin; "
                                "Debian package runsc)");
}

std::vector<std::string> parse_platforms(const std::string& flags_help) {
  size_t at = flags_help.find("-platform ");
  std::string help = at == std::string::npos ? "" : flags_help.substr(at, 200);
  std::vector<std::string> out;
  for (const char* p : kKnownPlatforms) {
    if (help.find(p) != std::string::npos) out.push_back(p);
  }
  if (out.empty()) out.push_back("ptrace");
  return out;
}

// The cache's entry: the version, then one platform a line. Anything else is not ours.
std::optional<RunscInfo> parse_runsc_info(const std::string& text) {
  RunscInfo info;
  std::istringstream in(text);
  if (!std::getline(in, info.version) || info.version.empty()) return std::nullopt;
  for (std::string p; std::getline(in, p);) {
    if (std::find(std::begin(kKnownPlatforms), std::end(kKnownPlatforms), p) == std::end(kKnownPlatforms)) return std::nullopt;
    info.platforms.push_back(p);
  }
  if (info.platforms.empty()) return std::nullopt;
  return info;
}

RunscInfo runsc_info(const std::string& runsc) {
  struct stat st;
  if (::stat(runsc.c_str(), &st) != 0) throw_errno("runsc", runsc);
  std::string name = "runsc-" + std::to_string(st.st_ino) + "-" + std::to_string(st.st_size) + "-" + std::to_string(st.st_mtime);
  // Root only: what another user cached is not what root's runsc can do.
  std::optional<sys::PrivateDir> cache = ::geteuid() == 0 ? sys::open_cache_dir("gvisor") : std::nullopt;
  if (cache) {
    if (auto text = cache->read(name, 4096)) {
      if (auto info = parse_runsc_info(*text)) return *info;
    }
  }
  RunscInfo info;
  std::string version = capture(runsc, {"--version"});
  size_t v = version.find("version ");
  info.version = v == std::string::npos ? "unknown" : version.substr(v + 8, version.find('\n', v) - v - 8);
  info.platforms = parse_platforms(capture(runsc, {"flags"}));
  if (cache) {
    std::string text = info.version + "\n";
    for (const std::string& p : info.platforms) text += p + "\n";
    (void)cache->write(name, text);
  }
  return info;
}

}  // namespace nucleus::gvisor
