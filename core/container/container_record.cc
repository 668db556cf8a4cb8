#include "core/container/container_record.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <sys/random.h>
#include <ctime>
#include <algorithm>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/cgroup/cgroupfs.h"
#include "core/cgroup/self_cgroup.h"
#include "core/container/record_checks.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

using json = nlohmann::json;

// Like runc, the root and any missing parents are created (containerd's shim passes
// /run/containerd/runc/<namespace>).
void ensure_root(const std::string& root) {
  // 0711: nobody else may list the records, but a container's uid may reach the files of
  // its own record it is given by name (exec.fifo, which an OCI create's workload opens).
  struct stat st;
  if (::lstat(root.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid()) {
    if ((st.st_mode & 07777) != 0711 && ::chmod(root.c_str(), 0711) != 0) throw_errno("create the state directory", root);
    return;  // the usual case
  }
  for (size_t slash = root.find('/', 1); slash != std::string::npos; slash = root.find('/', slash + 1)) {
    std::string parent = root.substr(0, slash);
    if (::mkdir(parent.c_str(), 0711) != 0 && errno != EEXIST) throw_errno("create the state directory", parent);
  }
  if (::mkdir(root.c_str(), 0711) != 0 && errno != EEXIST) throw_errno("create the state directory", root);
  if (::lstat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
    throw Error("state directory " + root, "is not a directory owned by this user");
  }
}

// A lock file that never exists unlocked: made anonymous (O_TMPFILE), locked, then linked
// into place under `name`.
UniqueFd make_held_lock(const std::string& dir, const char* name) {
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!fd || ::flock(fd.get(), LOCK_EX) != 0) throw_errno("create the container record", dir);
  char proc[32];
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd.get());
  if (::linkat(AT_FDCWD, proc, AT_FDCWD, (dir + "/" + name).c_str(), AT_SYMLINK_FOLLOW) != 0) {
    throw_errno("create the container record", dir + "/" + name);
  }
  return fd;
}

// Whether nobody holds the lock file dir/name. Absent: free only once the record is old
// enough not to be one being made (its owner lock comes a moment after its directory).
bool lock_is_free(const std::string& dir, const char* name) {
  UniqueFd lock(::open((dir + "/" + name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!lock) {
    struct stat st;
    return errno == ENOENT && ::lstat(dir.c_str(), &st) == 0 && ::time(nullptr) - st.st_mtime > 30;
  }
  return ::flock(lock.get(), LOCK_SH | LOCK_NB) == 0;
}

// The mutation lock: an flock of the record's directory itself.
UniqueFd lock_directory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return fd;
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_errno("lock the container state", dir);
  }
  return fd;
}

void remove_tree(const std::string& dir) noexcept {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

// Moves dir aside (only one of several concurrent callers wins the rename) and removes it.
bool move_aside_and_remove(const std::string& root, const std::string& dir) noexcept {
  std::string aside = root + "/.gone-XXXXXX";
  if (::mkdtemp(aside.data()) == nullptr) return false;
  bool moved = ::rename(dir.c_str(), (aside + "/r").c_str()) == 0;
  remove_tree(aside);
  return moved;
}

// Test-only (NUCLEUS_TEST_CLAIM_DELAY_MS, like NUCLEUS_TEST_ABLATE): a pause between the
// mkdir that claims an id and the locks that show it live, the window in which another
// start's collector could mistake the record for a stale one. The concurrency test widens
// it so that a collector that would take a live record does, every time.
void widen_claim_window_for_tests() {
  const char* text = ::getenv("NUCLEUS_TEST_CLAIM_DELAY_MS");
  if (text == nullptr) return;
  long ms = std::strtol(text, nullptr, 10);
  if (ms > 0 && ms <= 10000) ::usleep(static_cast<useconds_t>(ms) * 1000);
}

void require_plain_name(const std::string& name) {
  if (name.empty() || name[0] == '.' || name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
    throw Error("container name", "'" + name + "' cannot name a state directory");
  }
}

}  // namespace

std::string to_json(const ContainerRecord& r) {
  json j = {{"name", r.name},          {"backend", r.backend}, {"status", r.status},
            {"nucleus_pid", r.nucleus_pid}, {"cgroup", r.cgroup},   {"oom_killed", r.oom_killed}};
  if (r.exit_code) j["exit_code"] = *r.exit_code;
  j["persistent"] = r.persistent;
  j["pid"] = r.pid;
  j["pid_start_time"] = r.pid_start_time;
  j["bundle"] = r.bundle;
  j["created"] = r.created;
  j["annotations"] = r.annotations;
  j["data"] = r.data;
  if (!r.cgroups_path.empty()) j["cgroups_path"] = r.cgroups_path;
  return j.dump(2) + "\n";
}

std::string oci_state_json(const ContainerRecord& r, const std::string& status, bool pretty) {
  json j = {{"ociVersion", "1.0.2"}, {"id", r.name},           {"status", status},
            {"pid", status == "stopped" ? 0 : r.pid}, {"bundle", r.bundle}, {"created", r.created}};
  if (!r.annotations.empty()) j["annotations"] = r.annotations;
  return pretty ? j.dump(2) + "\n" : j.dump();
}

ContainerRecord record_from_json(const std::string& text) {
  try {
    json j = json::parse(text);
    ContainerRecord r;
    r.name = j.at("name").get<std::string>();
    r.backend = j.at("backend").get<std::string>();
    r.status = j.at("status").get<std::string>();
    r.nucleus_pid = j.at("nucleus_pid").get<pid_t>();
    r.cgroup = j.at("cgroup").get<std::vector<std::string>>();
    r.oom_killed = j.value("oom_killed", false);
    if (j.contains("exit_code")) r.exit_code = j["exit_code"].get<int>();
    r.persistent = j.at("persistent").get<bool>();
    r.pid = j.at("pid").get<pid_t>();
    r.pid_start_time = j.at("pid_start_time").get<uint64_t>();
    r.bundle = j.at("bundle").get<std::string>();
    r.created = j.at("created").get<std::string>();
    r.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    r.data = j.at("data").get<std::string>();
    r.cgroups_path = j.value("cgroups_path", "");
    return r;
  } catch (const json::exception& e) {
    throw Error("container state", std::string("corrupted state.json: ") + e.what());
  }
}

namespace {

void write_state(const std::string& dir, const ContainerRecord& record) {
  sys::replace_file(dir + "/state.json", to_json(record), "write the container state");
}

ContainerRecord read_state(const std::string& dir) {
  return record_from_json(sys::read_file(dir + "/state.json", 1u << 20, "read the container state"));
}

}  // namespace

// The id is claimed by mkdir(2), which one of several concurrent claimants wins; the
// directory is locked at once and the owner lock linked into it already held. A collector
// takes a record without its owner lock for one being made (lock_is_free).
LockedContainer LockedContainer::claim(const std::string& root, ContainerRecord record) {
  require_plain_name(record.name);
  ensure_root(root);
  LockedContainer c;
  c.root_ = root;
  c.record_ = std::move(record);
  const std::string target = root + "/" + c.record_.name;
  for (int attempt = 0;; ++attempt) {
    if (::mkdir(target.c_str(), 0711) == 0) break;
    int err = errno;
    if (err == EEXIST && attempt == 0 && record_is_stale(target) && move_aside_and_remove(root, target)) continue;
    if (err == EEXIST) {
      if (c.record_.persistent) throw Error(c.record_.name, "a container with this id already exists");
      throw Error("--name", "'" + c.record_.name + "' is already in use by a running container");
    }
    throw Error("create the container record", target, err);
  }
  c.path_ = target;
  c.kept_ = false;  // from here on, a failure removes it
  widen_claim_window_for_tests();
  c.lock_ = lock_directory(target);
  if (!c.lock_) throw_errno("lock the container state", target);
  if (!c.record_.persistent) c.owner_ = make_held_lock(target, "owner");
  UniqueFd out(::open((target + "/state.json").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  std::string text = to_json(c.record_);
  if (!out || sys::write_all(out.get(), text.data(), text.size()) != 0) throw_errno("write the container state", target);
  return c;
}

LockedContainer LockedContainer::pending(const std::string& root, ContainerRecord record) {
  LockedContainer c;
  c.root_ = root;
  c.record_ = std::move(record);
  return c;
}

void LockedContainer::claim_now() {
  // Only a pending record: a claimed one would be dropped, its lock with it.
  if (!path_.empty()) throw Error(record_.name, "claimed already");
  *this = claim(root_, std::move(record_));
}

LockedContainer::LockedContainer(const std::string& root, const std::string& id, bool tolerate_corruption) : root_(root) {
  require_plain_name(id);
  path_ = root + "/" + id;
  lock_ = lock_directory(path_);
  if (!lock_) {
    struct stat st;
    if (::lstat(path_.c_str(), &st) != 0) throw Error(id, "container does not exist");
    if (!tolerate_corruption) throw Error(id, "corrupted container state (not a directory); delete --force removes it");
    corrupted_ = true;
    corruption_ = "corrupted container state (not a directory)";
    record_.name = id;
    return;
  }
  try {
    record_ = read_state(path_);
    check_record(record_, path_, id);
  } catch (const Error& e) {
    if (!tolerate_corruption) throw Error(id, std::string(e.what()) + "; delete --force removes it");
    corrupted_ = true;
    corruption_ = e.what();
    record_ = ContainerRecord{};
    record_.name = id;
  }
}

LockedContainer::~LockedContainer() {
  if (!kept_ && !path_.empty()) remove();
}

void LockedContainer::refuse_corrupted() const {
  throw Error(record_.name, (corruption_.empty() ? std::string("corrupted container state") : corruption_) +
                                "; delete --force removes it");
}

void LockedContainer::relock() {
  if (lock_) return;
  lock_ = lock_directory(path_);
  if (!lock_) throw_errno("lock the container state", path_);
}

void LockedContainer::save() { write_state(path_, record_); }

void LockedContainer::remove() noexcept {
  if (path_.empty()) return;
  if (!move_aside_and_remove(root_, path_)) remove_tree(path_);
  path_.clear();
  lock_.reset();
  owner_.reset();
}

std::string LockedContainer::set_aside() noexcept {
  if (path_.empty()) return {};
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "-%d-%lx", static_cast<int>(::getpid()), static_cast<long>(::time(nullptr)));
  std::string aside = root_ + "/.gone-" + record_.name + suffix;
  std::string out = ::rename(path_.c_str(), aside.c_str()) == 0 ? aside : std::string();
  path_.clear();
  lock_.reset();
  owner_.reset();
  return out;
}

ContainerRecord read_container(const std::string& root, const std::string& id) {
  require_plain_name(id);
  std::string dir = root + "/" + id;
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) throw Error(id, "container does not exist");
  try {
    ContainerRecord r = read_state(dir);
    check_record(r, dir, id);
    return r;
  } catch (const Error& e) {
    throw Error(id, std::string(e.what()) + "; delete --force removes it");
  }
}

bool record_is_stale(const std::string& dir) {
  try {
    if (read_state(dir).persistent) return false;
  } catch (const Error&) {
    // A record being made has its state from the start; one without is not ours to judge
    // by its state: its owner lock decides.
  }
  return lock_is_free(dir, "owner");
}

std::vector<std::string> list_records(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    std::string name = e.path().filename().string();
    if (!name.empty() && name[0] != '.') out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void remove_stale_record(const std::string& dir) {
  if (record_is_stale(dir)) remove_tree(dir);
}

void collect_abandoned_records(const std::string& root) noexcept {
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr) return;
  std::vector<std::string> abandoned;
  const time_t now = ::time(nullptr);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string dir = root + "/" + name;
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || now - st.st_mtime <= kAbandonedSeconds) continue;
    if (name.rfind(".gone-", 0) == 0) {
      abandoned.push_back(dir);
      continue;
    }
    if (name[0] == '.' || !record_is_stale(dir)) continue;
    // runsc's state wants `runsc delete` (delete --force does it): not ours to drop here.
    std::error_code ec;
    if (std::filesystem::exists(dir + "/runsc", ec) && !std::filesystem::is_empty(dir + "/runsc", ec)) continue;
    abandoned.push_back(dir);
  }
  ::closedir(d);
  for (const std::string& dir : abandoned) {
    if (dir.find("/.gone-") != std::string::npos) {
      remove_tree(dir);
    } else {
      (void)move_aside_and_remove(root, dir);
    }
  }
}

std::string default_state_root() {
  uid_t uid = ::geteuid();
  if (uid == 0) return kStateRoot;
  const char* runtime = ::getenv("XDG_RUNTIME_DIR");
  struct stat st;
  if (runtime != nullptr && runtime[0] == '/' && ::stat(runtime, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid) {
    return std::string(runtime) + "/nucleus";
  }
  return "/tmp/nucleus-" + std::to_string(uid);
}

std::string generate_container_id() {
  unsigned char bytes[6];
  if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes) throw_errno("getrandom");
  char hex[13];
  for (size_t i = 0; i < sizeof bytes; ++i) std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return hex;
}

}  // namespace nucleus
