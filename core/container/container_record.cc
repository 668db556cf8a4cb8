#include "core/container/container_record.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus {
namespace {

using json = nlohmann::json;

// Like runc, the root and any missing parents are created (containerd's shim passes
// /run/containerd/runc/<namespace>).
void ensure_root(const std::string& root) {
  for (size_t slash = root.find('/', 1); slash != std::string::npos; slash = root.find('/', slash + 1)) {
    std::string parent = root.substr(0, slash);
    if (::mkdir(parent.c_str(), 0711) != 0 && errno != EEXIST) throw_errno("create the state directory", parent);
  }
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create the state directory", root);
  struct stat st;
  if (::lstat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
    throw Error("state directory " + root, "is not a directory owned by this user");
  }
}

bool lock_is_free(const std::string& dir) {
  UniqueFd lock(::open((dir + "/lock").c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (!lock) return errno == ENOENT;  // a record without a lock never finished being made
  return ::flock(lock.get(), LOCK_EX | LOCK_NB) == 0;
}

void remove_tree(const std::string& dir) noexcept {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

// Moves a dead nucleus's record aside (only one claimant wins the rename) and removes it.
// OCI records are never stale: they wait for `delete`.
bool collect_if_stale(const std::string& root, const std::string& dir) {
  if (!lock_is_free(dir)) return false;
  try {
    if (record_from_json(sys::read_file(dir + "/state.json", 1u << 20, "read the container state")).persistent) return false;
  } catch (const Error&) {
    return false;
  }
  std::string aside = root + "/.stale-XXXXXX";
  if (::mkdtemp(aside.data()) == nullptr) return false;
  bool moved = ::rename(dir.c_str(), (aside + "/r").c_str()) == 0;
  remove_tree(aside);
  return moved;
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
  if (r.persistent) {
    j["persistent"] = true;
    j["pid"] = r.pid;
    j["pid_start_time"] = r.pid_start_time;
    j["bundle"] = r.bundle;
    j["created"] = r.created;
    j["annotations"] = r.annotations;
    j["data"] = r.data;
  }
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
    r.persistent = j.value("persistent", false);
    if (r.persistent) {
      r.pid = j.at("pid").get<pid_t>();
      r.pid_start_time = j.at("pid_start_time").get<uint64_t>();
      r.bundle = j.at("bundle").get<std::string>();
      r.created = j.at("created").get<std::string>();
      r.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
      r.data = j.value("data", "");
    }
    return r;
  } catch (const json::exception& e) {
    throw Error("container state", std::string("corrupted state.json: ") + e.what());
  }
}

NamedContainer::NamedContainer(const std::string& root, ContainerRecord record) : record_(std::move(record)) {
  require_plain_name(record_.name);
  ensure_root(root);
  std::string target = root + "/" + record_.name;
  std::string staging = root + "/.new-XXXXXX";
  if (::mkdtemp(staging.data()) == nullptr) throw_errno("create the container record", root);
  path_ = staging;
  lock_.reset(::open((staging + "/lock").c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!lock_ || ::flock(lock_.get(), LOCK_EX) != 0) {
    int err = errno;
    remove_tree(staging);
    throw Error("create the container record", staging, err);
  }
  save();
  for (int attempt = 0;; ++attempt) {
    if (::rename(staging.c_str(), target.c_str()) == 0) break;
    int err = errno;
    if ((err == EEXIST || err == ENOTEMPTY) && attempt == 0 && collect_if_stale(root, target)) continue;
    remove_tree(staging);
    path_.clear();
    if (err == EEXIST || err == ENOTEMPTY) {
      if (record_.persistent) throw Error(record_.name, "a container with this id already exists");
      throw Error("--name", "'" + record_.name + "' is already in use by a running container");
    }
    throw Error("create the container record", target, err);
  }
  path_ = target;
}

NamedContainer::~NamedContainer() {
  if (!path_.empty() && !kept_) remove_tree(path_);
}

namespace {

void write_state(const std::string& dir, const ContainerRecord& record) {
  std::string text = to_json(record);
  std::string tmp = dir + "/state.json.tmp";
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out || sys::write_all(out.get(), text.data(), text.size()) != 0) throw_errno("write the container state", tmp);
  out.reset();
  if (::rename(tmp.c_str(), (dir + "/state.json").c_str()) != 0) throw_errno("write the container state", dir);
}

}  // namespace

void NamedContainer::save() { write_state(path_, record_); }

LockedContainer::LockedContainer(const std::string& root, const std::string& id, bool tolerate_corruption) {
  require_plain_name(id);
  path_ = root + "/" + id;
  lock_.reset(::open((path_ + "/lock").c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (!lock_) {
    struct stat st;
    if (::lstat(path_.c_str(), &st) != 0) throw Error(id, "no such container");
    if (!tolerate_corruption) throw Error(id, "corrupted container state (no lock file); delete --force removes it");
    corrupted_ = true;
    record_.name = id;
    return;
  }
  while (::flock(lock_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_errno("lock the container state", path_);
  }
  try {
    record_ = record_from_json(sys::read_file(path_ + "/state.json", 1u << 20, "read the container state"));
    if (record_.name != id) throw Error("container state", "state.json names another container");
  } catch (const Error& e) {
    if (!tolerate_corruption) throw Error(id, std::string(e.what()) + "; delete --force removes it");
    corrupted_ = true;
    record_ = ContainerRecord{};
    record_.name = id;
  }
}

void LockedContainer::save() { write_state(path_, record_); }

void LockedContainer::remove() noexcept {
  remove_tree(path_);
  lock_.reset();
}

ContainerRecord read_container(const std::string& root, const std::string& id) {
  require_plain_name(id);
  std::string dir = root + "/" + id;
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) throw Error(id, "no such container");
  try {
    return record_from_json(sys::read_file(dir + "/state.json", 1u << 20, "read the container state"));
  } catch (const Error& e) {
    throw Error(id, std::string(e.what()) + "; delete --force removes it");
  }
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

void NamedContainer::finish(int exit_code, bool oom_killed) noexcept {
  record_.status = "stopped";
  record_.exit_code = exit_code;
  record_.oom_killed = oom_killed;
  try {
    save();
  } catch (const Error&) {
  }
}

ContainerRecord read_running_container(const std::string& root, const std::string& name) {
  require_plain_name(name);
  std::string dir = root + "/" + name;
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0 || lock_is_free(dir)) {
    throw Error(name, "no running container has this name");
  }
  return record_from_json(sys::read_file(dir + "/state.json", 1u << 20, "read the container state"));
}

void remove_stale_record(const std::string& dir) {
  if (lock_is_free(dir)) remove_tree(dir);
}

std::string rfc3339_now() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

}  // namespace nucleus
