#include "core/sys/private_dir.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include <spdlog/spdlog.h>

#include "core/sys/sys.h"

namespace nucleus::sys {
namespace {

// A directory component, opened beneath `at` without following a symlink.
UniqueFd open_component(int at, const std::string& name) {
  return UniqueFd(::openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

std::optional<std::string> check_dir(int fd, const std::string& what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return what + " cannot be inspected";
  if (!S_ISDIR(st.st_mode)) return what + " is not a directory";
  return unsafe_owner_or_mode(st, what);
}

// Walks an absolute path from / without following symlinks: every component is checked
// (owner root or us, not writable by others; a sticky directory such as /tmp is fine,
// where only root and we may replace what is ours).
UniqueFd open_checked_path(const std::string& path, std::string* why, bool* hostile) {
  if (path.empty() || path[0] != '/') {
    *why = path + " is not an absolute path";
    return UniqueFd();
  }
  UniqueFd at(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string walked;
  for (size_t start = 1; start < path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string name = path.substr(start, slash - start);
    start = slash + 1;
    if (name.empty() || name == ".") continue;
    walked += "/" + name;
    if (name == "..") {
      *why = path + " has a '..' component";
      return UniqueFd();
    }
    UniqueFd next = open_component(at.get(), name);
    if (!next) {
      *hostile = errno == ELOOP || errno == ENOTDIR;
      *why = walked + (*hostile ? " is a symlink or not a directory" : ": " + std::string(strerror(errno)));
      return UniqueFd();
    }
    struct stat st;
    if (::fstat(next.get(), &st) != 0) {
      *why = walked + " cannot be inspected";
      return UniqueFd();
    }
    bool sticky = (st.st_mode & S_ISVTX) != 0;
    if (auto problem = unsafe_owner_or_mode(st, walked); problem && !(sticky && st.st_uid == 0)) {
      *why = *problem;
      return UniqueFd();
    }
    at = std::move(next);
  }
  return at;
}

std::string temporary_name(const std::string& name) {
  unsigned char bytes[6];
  if (::getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != sizeof bytes) return name + ".tmp-" + std::to_string(::getpid());
  char hex[13];
  for (size_t i = 0; i < sizeof bytes; ++i) std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return "." + name + ".tmp-" + hex;
}

}  // namespace

std::optional<std::string> unsafe_owner_or_mode(const struct stat& st, const std::string& what) {
  if (st.st_uid != ::geteuid() && st.st_uid != 0) return what + " belongs to uid " + std::to_string(st.st_uid);
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return what + " is writable by group or others";
  return std::nullopt;
}

std::optional<PrivateDir> PrivateDir::open(const std::string& base, std::initializer_list<std::string_view> subdirs,
                                           std::string* why, bool* hostile) {
  *hostile = true;  // unless it is only missing or out of reach
  UniqueFd at = open_checked_path(base, why, hostile);
  if (!at) return std::nullopt;
  std::string path = base;
  for (std::string_view sub : subdirs) {
    std::string name(sub);
    path += "/" + name;
    if (::mkdirat(at.get(), name.c_str(), 0700) != 0 && errno != EEXIST) {
      *why = path + ": " + strerror(errno);
      *hostile = false;
      return std::nullopt;
    }
    UniqueFd next = open_component(at.get(), name);
    if (!next) {
      *why = path + " is a symlink or not a directory";
      return std::nullopt;
    }
    // What nucleus made is the caller's own: nobody else's, whoever made the base.
    struct stat st;
    if (::fstat(next.get(), &st) != 0 || st.st_uid != ::geteuid()) {
      *why = path + " belongs to uid " + std::to_string(st.st_uid);
      return std::nullopt;
    }
    if (auto problem = check_dir(next.get(), path)) {
      *why = *problem;
      return std::nullopt;
    }
    at = std::move(next);
  }
  return PrivateDir(std::move(at), path);
}

std::optional<std::string> PrivateDir::read(const std::string& name, size_t max_bytes) const {
  UniqueFd file(::openat(fd_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!file) return std::nullopt;
  struct stat st;
  if (::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 || static_cast<size_t>(st.st_size) > max_bytes) {
    return std::nullopt;
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  if (::pread(file.get(), data.data(), data.size(), 0) != st.st_size) return std::nullopt;
  return data;
}

bool PrivateDir::write(const std::string& name, std::string_view data, mode_t mode) const {
  std::string tmp = temporary_name(name);
  UniqueFd out(::openat(fd_.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!out) return false;
  bool ok = write_all(out.get(), data.data(), data.size()) == 0 && ::fchmod(out.get(), mode) == 0;
  out.reset();
  if (ok && ::renameat(fd_.get(), tmp.c_str(), fd_.get(), name.c_str()) == 0) return true;
  ::unlinkat(fd_.get(), tmp.c_str(), 0);
  return false;
}

std::optional<PrivateDir> open_cache_dir(std::string_view kind) {
  std::string base;
  static constexpr std::string_view kNucleus = "nucleus";
  if (const char* test = ::getenv("NUCLEUS_TEST_CACHE_DIR"); test != nullptr && test[0] == '/') {
    base = test;
  } else if (::geteuid() == 0) {
    base = "/var/cache";
  } else if (const char* xdg = ::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    base = xdg;
  } else if (const char* home = ::getenv("HOME"); home != nullptr && home[0] == '/') {
    std::string why;
    bool hostile = false;
    if (!PrivateDir::open(home, {".cache"}, &why, &hostile)) return std::nullopt;
    base = std::string(home) + "/.cache";
  } else {
    return std::nullopt;
  }
  std::string why;
  bool hostile = false;
  std::optional<PrivateDir> dir = PrivateDir::open(base, {kNucleus, kind}, &why, &hostile);
  // A cache that cannot be made (no HOME, no permission) is only slower; one that someone
  // else could have written is worth a word, once per process and cache.
  static std::set<std::string> said;
  if (!dir && hostile && said.insert(std::string(kind)).second) spdlog::warn("not using the {} cache: {}", kind, why);
  return dir;
}

}  // namespace nucleus::sys
