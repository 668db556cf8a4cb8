#include "network/ipam/recycle_marks.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sys/error.h"
#include "core/sys/sys.h"

namespace nucleus::net {
namespace {

constexpr size_t kMaxMarkBytes = 4096;

std::string entry_of(const std::string& index_dir, unsigned long long inode) { return index_dir + "/" + std::to_string(inode); }

// What an entry links to: the lease's state directory (absolute, as the store's lock and its
// files are found from any root) and its key.
std::string target_of(const LeaseStore& store, const Lease& lease) {
  char real[PATH_MAX];
  if (::realpath(store.state_dir().c_str(), real) == nullptr) throw_errno("list the recyclable namespace of " + lease.id, store.state_dir());
  return std::string(real) + "/" + lease.key;
}

std::string mark_path(const std::string& state_dir, const std::string& key) { return state_dir + "/" + key + ".unrecyclable"; }

void make_index_dir(const std::string& index_dir) {
  const std::string parent = index_dir.substr(0, index_dir.rfind('/'));
  if (::mkdir(parent.c_str(), 0711) != 0 && errno != EEXIST) throw_errno("create " + parent);
  if (::mkdir(index_dir.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create " + index_dir);
}

}  // namespace

void index_recyclable(const LeaseStore::Lock&, const LeaseStore& store, const Lease& lease) {
  if (lease.netns_inode == 0) return;
  const std::string entry = entry_of(store.index_dir(), lease.netns_inode);
  const std::string target = target_of(store, lease);
  const std::string temporary = entry + ".nucleus-tmp";
  // Renamed over whatever was there: an entry a killed netd left for a namespace since freed
  // whose inode this one got is replaced, never kept. The directory is made again when the
  // last entry's removal took it meanwhile (unindex_recyclable).
  for (int attempt = 0;; ++attempt) {
    make_index_dir(store.index_dir());
    ::unlink(temporary.c_str());
    if (::symlink(target.c_str(), temporary.c_str()) == 0 && ::rename(temporary.c_str(), entry.c_str()) == 0) return;
    const int err = errno;
    ::unlink(temporary.c_str());
    if (err != ENOENT || attempt == 2) throw Error("list the recyclable namespace of " + lease.id, entry, err);
  }
}

void unindex_recyclable(const LeaseStore& store, const Lease& lease) {
  if (lease.netns_inode == 0) return;
  const std::string entry = entry_of(store.index_dir(), lease.netns_inode);
  char link[PATH_MAX];
  const ssize_t n = ::readlink(entry.c_str(), link, sizeof link);
  if (n <= 0) return;
  char real[PATH_MAX];
  // Only this lease's: a namespace with the same inode since may be another's.
  const std::string own = ::realpath(store.state_dir().c_str(), real) != nullptr ? std::string(real) + "/" + lease.key : "";
  if (std::string(link, static_cast<size_t>(n)) != own) return;
  ::unlink(entry.c_str());
  ::rmdir(store.index_dir().c_str());  // only when that was the last (ENOTEMPTY otherwise)
}

void mark_unrecyclable(const LeaseStore::Lock&, const LeaseStore& store, const Lease& lease, const std::string& why) {
  sys::overwrite_file(mark_path(store.state_dir(), lease.key), why + "\n", 0600,
                      "keep the network namespace of " + lease.id + " from serving another container");
}

std::optional<std::string> unrecyclable_mark(const LeaseStore& store, const Lease& lease) {
  std::optional<std::string> text;
  try {
    text = sys::read_file_if_present(mark_path(store.state_dir(), lease.key), kMaxMarkBytes, "read a recycling mark");
  } catch (const Error& e) {
    return std::string("its mark is unreadable: ") + e.what();  // as if it said why
  }
  if (text && !text->empty() && text->back() == '\n') text->pop_back();
  if (text && text->empty()) *text = "it was marked";
  return text;
}

UniqueFd open_network_namespace_to_join(const std::string& path, const std::string& joiner, const std::string& index_dir) {
  const std::string step = "join the network namespace " + path;
  UniqueFd netns = sys::open(path, O_RDONLY | O_CLOEXEC, step);
  struct stat opened {};
  if (::fstat(netns.get(), &opened) != 0) throw_errno(step);
  char link[PATH_MAX];
  const ssize_t n = ::readlink(entry_of(index_dir, opened.st_ino).c_str(), link, sizeof link);
  if (n <= 0) return netns;  // none of the list: no container of nucleus's hands it on
  const std::string target(link, static_cast<size_t>(n));
  const size_t slash = target.rfind('/');
  struct stat dir {};
  if (slash == std::string::npos || slash == 0 || ::stat(target.substr(0, slash).c_str(), &dir) != 0) {
    return netns;  // an entry whose store is gone: nothing of it is recycled any more
  }
  const std::string state_dir = target.substr(0, slash), key = target.substr(slash + 1);
  LeaseStore store(state_dir, index_dir);
  LeaseStore::Lock lock(store);
  struct stat now {};
  if (::stat(path.c_str(), &now) != 0 || now.st_ino != opened.st_ino || now.st_dev != opened.st_dev) {
    throw Error(step, "it is no longer the namespace opened: the container whose namespace it was has ended");
  }
  // The lease's file is named by its holder's id; a standby's id is its origin, whose key
  // this is. No container holds the namespace: what joined it now would be in the next one's.
  if (::access((state_dir + "/leases/" + key + ".json").c_str(), F_OK) == 0) {
    throw Error(step, "it is a namespace nucleus-netd prepared ahead, which no container holds");
  }
  Lease holder;
  holder.id = "the container whose namespace " + path + " is";
  holder.key = key;
  mark_unrecyclable(lock, store, holder, "container " + joiner + " joined it by path");
  return netns;
}

}  // namespace nucleus::net
