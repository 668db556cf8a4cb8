#include "network/ipam/recycle_marks.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "network/naming.h"

namespace nucleus::net {
namespace {

constexpr size_t kMaxMarkBytes = 4096;

std::string entry_path(const std::string& index_dir, unsigned long long inode) { return index_dir + "/" + std::to_string(inode); }

std::string real_state_dir(const LeaseStore& store) {
  char real[PATH_MAX];
  if (::realpath(store.state_dir().c_str(), real) == nullptr) throw_errno("list a recyclable namespace", store.state_dir());
  return real;
}

// An entry's link: "<state>/<key> <pid> <start time>".
struct Entry {
  std::string state_dir, key;
  LeaseOwner owner;
};
std::optional<Entry> read_entry(const std::string& path) {
  char link[PATH_MAX];
  const ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
  if (n <= 0) return std::nullopt;
  link[n] = '\0';
  const std::string text(link, static_cast<size_t>(n));
  const size_t second = text.rfind(' '), first = second == std::string::npos || second == 0 ? std::string::npos : text.rfind(' ', second - 1);
  if (first == std::string::npos) return std::nullopt;
  const std::string where = text.substr(0, first);
  const size_t slash = where.rfind('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  Entry e{where.substr(0, slash), where.substr(slash + 1), {}};
  char* end = nullptr;
  e.owner.pid = static_cast<pid_t>(std::strtol(text.c_str() + first + 1, &end, 10));
  e.owner.start_time = std::strtoull(text.c_str() + second + 1, &end, 10);
  return e;
}


void make_index_dir(const std::string& index_dir) {
  const std::string parent = index_dir.substr(0, index_dir.rfind('/'));
  if (::mkdir(parent.c_str(), 0711) != 0 && errno != EEXIST) throw_errno("create " + parent);
  if (::mkdir(index_dir.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create " + index_dir);
}

// The list's lock (flock on its directory): a listing, a sweep and a removal each read and
// change entries in one hold (a sweep's read of an entry, a new namespace with the freed
// inode listed, the sweep's unlink of it would unlist a live one). Taken only once the
// path still names the directory locked: the last entry's removal takes the directory,
// and another may make it again. Not held (held() false) when there is no list and
// `create` is false: nothing to change.
class IndexLock {
 public:
  IndexLock(const std::string& index_dir, bool create) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      if (create) make_index_dir(index_dir);
      UniqueFd fd(::open(index_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!fd && errno == ENOENT) {
        if (create) continue;
        return;
      }
      if (!fd) throw_errno("open " + index_dir);
      while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR) throw_errno("lock " + index_dir);
      }
      struct stat locked {}, named {};
      if (::fstat(fd.get(), &locked) == 0 && ::stat(index_dir.c_str(), &named) == 0 && locked.st_ino == named.st_ino &&
          locked.st_dev == named.st_dev) {
        fd_ = std::move(fd);
        return;
      }
    }
    if (create) throw Error("lock " + index_dir, "it was removed and made again too often meanwhile");
  }
  bool held() const { return static_cast<bool>(fd_); }

 private:
  UniqueFd fd_;
};

// Under the lock: entries whose netd is gone, and temporary ones (a writer killed between
// its link and its rename: no other writer holds the lock).
void sweep_locked(const std::string& index_dir) {
  DIR* d = ::opendir(index_dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name, path = index_dir + "/" + name;
    if (name[0] == '.') continue;
    if (name.find(".tmp") != std::string::npos) {
      ::unlink(path.c_str());
      continue;
    }
    std::optional<Entry> entry = read_entry(path);
    if (entry && !entry->owner.alive()) ::unlink(path.c_str());
  }
  ::closedir(d);
}

}  // namespace

void index_recyclable(const LeaseStore& store, unsigned long long netns_inode, const std::string& key, const LeaseOwner& owner) {
  const std::string entry = entry_path(store.index_dir(), netns_inode);
  const std::string target = real_state_dir(store) + "/" + key + " " + std::to_string(owner.pid) + " " + std::to_string(owner.start_time);
  const std::string temporary = entry + ".tmp";
  IndexLock lock(store.index_dir(), true);
  sweep_locked(store.index_dir());
  // Renamed over whatever was there: an entry of a namespace freed since, whose inode this
  // one got (its netd alive: a namespace alive keeps its inode).
  if (::symlink(target.c_str(), temporary.c_str()) != 0 || ::rename(temporary.c_str(), entry.c_str()) != 0) {
    const int err = errno;
    ::unlink(temporary.c_str());
    throw Error("list the recyclable namespace of " + key, entry, err);
  }
}

void unindex_recyclable(const LeaseStore& store, unsigned long long netns_inode, const std::string& key) {
  if (netns_inode == 0) return;
  IndexLock lock(store.index_dir(), false);
  if (!lock.held()) return;
  const std::string entry = entry_path(store.index_dir(), netns_inode);
  std::optional<Entry> listed = read_entry(entry);
  char real[PATH_MAX];
  // Only this lease's: a namespace with the same inode since may be another's.
  if (!listed || listed->key != key || ::realpath(store.state_dir().c_str(), real) == nullptr || listed->state_dir != real) return;
  ::unlink(entry.c_str());
  ::rmdir(store.index_dir().c_str());  // only when that was the last (ENOTEMPTY otherwise)
}

void sweep_recyclable_index(const std::string& index_dir) {
  IndexLock lock(index_dir, false);
  if (!lock.held()) return;
  sweep_locked(index_dir);
  ::rmdir(index_dir.c_str());  // only when nothing is left
}

std::string unrecyclable_mark_path(const LeaseStore& store, const Lease& lease) {
  const bool earlier_release = lease.netns_inode == 0 && lease.origin != lease.id;
  return store.state_dir() + "/" + (earlier_release ? network_key(lease.id) : lease.key) + ".unrecyclable";
}

void mark_unrecyclable(const LeaseStore::Lock&, const LeaseStore& store, const Lease& lease, const std::string& why) {
  const std::string path = unrecyclable_mark_path(store, lease);
  sys::overwrite_file(path, why + "\n", 0600, "keep the network namespace of " + lease.id + " from serving another container");
  if (::access(store.file_of(lease).c_str(), F_OK) != 0) ::unlink(path.c_str());
}

std::optional<std::string> unrecyclable_mark(const LeaseStore& store, const Lease& lease) {
  std::optional<std::string> text;
  try {
    text = sys::read_file_if_present(unrecyclable_mark_path(store, lease), kMaxMarkBytes, "read a recycling mark");
  } catch (const Error& e) {
    return std::string("its mark is unreadable: ") + e.what();  // as if it said why
  }
  if (text && !text->empty() && text->back() == '\n') text->pop_back();
  if (text && text->empty()) *text = "it was marked";
  return text;
}


UniqueFd open_network_namespace_to_join(const std::string& path, const std::string& joiner, const std::string& index_dir) {
  const std::string step = "join the network namespace " + path;
  struct stat named {};
  if (::stat(path.c_str(), &named) != 0) throw_errno(step);
  const std::string listing = entry_path(index_dir, named.st_ino);
  std::optional<Entry> entry = read_entry(listing);
  struct stat dir {};
  if (!entry || !entry->owner.alive() || ::stat(entry->state_dir.c_str(), &dir) != 0) {
    // None, or one whose netd is gone (its namespace freed, unless something else holds it:
    // then nothing hands it on either): left to a sweep, under the list's lock.
    return sys::open(path, O_RDONLY | O_CLOEXEC, step);
  }
  LeaseStore store(entry->state_dir, index_dir);
  LeaseStore::Lock lock(store);
  UniqueFd netns = sys::open(path, O_RDONLY | O_CLOEXEC, step);
  struct stat opened {};
  if (::fstat(netns.get(), &opened) != 0) throw_errno(step);
  if (opened.st_ino != named.st_ino || opened.st_dev != named.st_dev) {
    throw Error(step, "it is no longer the namespace it named: the container whose namespace it was has ended");
  }
  // Which lease is on it: the one of its key that names its inode. A lease file is named by
  // its holder's id; a standby's id is its origin.
  std::optional<Lease> on_it;
  for (Lease& lease : store.list()) {
    if (lease.key == entry->key && lease.netns_inode == opened.st_ino) on_it = std::move(lease);
  }
  if (!on_it) throw Error(step, "nucleus-netd is preparing it or tearing it down: no container holds it");
  if (on_it->id == on_it->origin) throw Error(step, "it is a namespace nucleus-netd prepared ahead, which no container holds");
  mark_unrecyclable(lock, store, *on_it, "container " + joiner + " joined it by path");
  return netns;
}

}  // namespace nucleus::net
