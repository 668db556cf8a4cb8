#include "core/cgroup/cgroupfs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <sstream>
#include <thread>

#include "core/sys/error.h"
#include "core/sys/unique_fd.h"

namespace nucleus::cgroupfs {

std::optional<std::string> Fs::read(const std::string& path) const {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::nullopt;
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

int Fs::write(const std::string& path, const std::string& value) const {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return errno;
  return ::write(fd.get(), value.data(), value.size()) < 0 ? errno : 0;
}

bool Fs::exists(const std::string& path) const {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

int Fs::make_dir(const std::string& path) const { return ::mkdir(path.c_str(), 0755) == 0 ? 0 : errno; }

int Fs::remove_dir(const std::string& path) const { return ::rmdir(path.c_str()) == 0 ? 0 : errno; }

int Fs::open_dir(const std::string& path) const { return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }

namespace {
constexpr const char* kMarkNames[] = {"trusted.nucleus.made", "user.nucleus.made"};
}  // namespace

int Fs::mark_made_parent(const std::string& path) const {
  int err = ENOTSUP;
  for (const char* name : kMarkNames) {
    if (::lsetxattr(path.c_str(), name, "1", 1, 0) == 0) return 0;
    err = errno;
  }
  return err;
}

bool Fs::is_made_parent(const std::string& path) const {
  char value[2];
  for (const char* name : kMarkNames) {
    if (::lgetxattr(path.c_str(), name, value, sizeof value) == 1 && value[0] == '1') return true;
  }
  return false;
}

const Fs& real() {
  static const Fs fs;
  return fs;
}

void write(const Fs& fs, const std::string& path, const std::string& value) {
  if (int err = fs.write(path, value); err != 0) throw Error("cgroups: write '" + value + "' to " + path, "", err);
}

std::optional<uint64_t> read_number(const Fs& fs, const std::string& path) {
  auto text = fs.read(path);
  if (!text || text->empty() || (*text)[0] < '0' || (*text)[0] > '9') return std::nullopt;
  return std::stoull(*text);
}

std::optional<uint64_t> read_key(const Fs& fs, const std::string& path, const std::string& key) {
  auto text = fs.read(path);
  if (!text) return std::nullopt;
  std::stringstream ss(*text);
  for (std::string k, v; ss >> k >> v;) {
    if (k == key) return std::stoull(v);
  }
  return std::nullopt;
}

size_t kill_procs(const Fs& fs, const std::string& dir) noexcept {
  size_t count = 0;
  if (auto procs = fs.read(dir + "/cgroup.procs")) {
    std::stringstream ss(*procs);
    for (long pid; ss >> pid; ++count) ::kill(static_cast<pid_t>(pid), SIGKILL);
  }
  return count;
}

void kill_and_remove(const Fs& fs, const std::string& dir) noexcept {
  for (int attempt = 0; attempt < 200; ++attempt) {
    int err = fs.remove_dir(dir);
    if (err == 0 || err == ENOENT || err != EBUSY) return;
    // Only this container's processes can be here: the rest of a pid namespace whose PID 1
    // has gone, or a sandbox whose runsc was killed.
    kill_procs(fs, dir);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void remove_made_parents(const Fs& fs, const std::string& dir) noexcept {
  std::string at = dir;
  for (size_t slash; (slash = at.find_last_of('/')) != std::string::npos && slash > 0;) {
    at.resize(slash);
    if (!fs.is_made_parent(at) || fs.remove_dir(at) != 0) return;
  }
}

}  // namespace nucleus::cgroupfs
