#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

// The file operations the cgroup drivers make, in one class so that unit tests can run the
// drivers against a recording fake (tests/unit/cgroup_test.cc): which files, which values,
// in which order. Fs itself is the real filesystem.
namespace nucleus::cgroupfs {

class Fs {
 public:
  virtual ~Fs() = default;
  virtual std::optional<std::string> read(const std::string& path) const;
  virtual int write(const std::string& path, const std::string& value) const;  // 0 or errno
  virtual bool exists(const std::string& path) const;
  virtual int make_dir(const std::string& path) const;    // 0 or errno
  virtual int remove_dir(const std::string& path) const;  // 0 or errno
  virtual int open_dir(const std::string& path) const;    // an O_PATH-free directory fd, or -1
  // The mark nucleus leaves on a parent it made (--cgroup-parent, a config's cgroupsPath):
  // an extended attribute only root (trusted.*) or, on cgroup2, the owner (user.*) can
  // set. 0 or errno; a parent that cannot be marked is simply never removed.
  virtual int mark_made_parent(const std::string& path) const;
  virtual bool is_made_parent(const std::string& path) const;
};

const Fs& real();

void write(const Fs& fs, const std::string& path, const std::string& value);  // throws Error naming path
std::optional<uint64_t> read_number(const Fs& fs, const std::string& path);  // "max" and the like: none
// The value of `key` in "key value" lines (memory.events, cpu.stat, memory.oom_control).
std::optional<uint64_t> read_key(const Fs& fs, const std::string& path, const std::string& key);
// SIGKILL to every pid in dir/cgroup.procs; returns how many there were.
size_t kill_procs(const Fs& fs, const std::string& dir) noexcept;
// rmdir, killing what is still inside between attempts (about a second at most).
void kill_and_remove(const Fs& fs, const std::string& dir) noexcept;
// Once a container's directory is gone: its parents that nucleus made (marked), from the
// nearest up, while they are empty (rmdir fails on one another container still uses: the
// last container to leave removes it). Never kills anything.
void remove_made_parents(const Fs& fs, const std::string& dir) noexcept;

}  // namespace nucleus::cgroupfs
