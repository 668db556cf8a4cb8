// The native backend's OCI verbs after create: start, state, kill, delete, pause/resume,
// ps and update. The container's init is known by pid *and* start time (its record), and
// reached through a pidfd opened and then checked against that start time, so a recycled
// pid is never signalled (issue #6, "kill/delete never signal a reused pid").
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "backends/native/native_backend.h"
#include "backends/native/native_session.h"
#include "network/client/user_mode.h"
#include "config/spec_json.h"
#include "core/container/record_checks.h"
#include "backends/native/oci/oci_support.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "core/sys/trace_timing.h"

namespace nucleus::native {
namespace {

bool wait_for_exit(int pidfd, std::chrono::milliseconds timeout) {
  pollfd p = {pidfd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

std::vector<pid_t> procs_of(const std::string& dir) {
  std::vector<pid_t> out;
  if (auto text = cgroupfs::real().read(dir + "/cgroup.procs")) {
    std::stringstream ss(*text);
    for (long pid; ss >> pid;) out.push_back(static_cast<pid_t>(pid));
  }
  return out;
}

}  // namespace

std::string status_of(const ContainerRecord& r, const std::string& dir, const Cgroup* cgroup) {
  if (r.status == "stopped" || !container_init_alive(r)) return "stopped";
  if (cgroup && cgroup->frozen()) return "paused";
  return ::access((dir + "/exec.fifo").c_str(), F_OK) == 0 ? "created" : "running";
}

std::string NativeBackend::status(const ContainerRecord& r, const std::string& dir) {
  return status_of(r, dir, open_cgroup(r.cgroup).get());
}

// The workload, blocked opening exec.fifo for writing, is released when we open it for
// reading and take its byte (runc's exec.fifo, `nucleus start`); under `run` it writes its
// byte to the start pipe whose reader the session holds (native_create.cc).
void NativeBackend::start(LockedContainer& c, ContainerSession* held) {
  ContainerRecord& r = c.record();
  if (!held) {
    std::string st = status(r, c.path());
    if (st != "created") throw Error(r.name, "cannot start a container that is " + st);
  }
  const std::string fifo = c.path() + "/exec.fifo";
  // The init's pidfd first: opening the fifo releases the init, and a short workload may
  // have run and ended before we looked for it (its byte is in the fifo then).
  UniqueFd own = held ? UniqueFd() : container_init_pidfd(r);
  const int pidfd = held ? held->main().pidfd() : own.get();
  if (pidfd < 0) throw Error(r.name, "the container's init is gone");
  // Non-blocking: opening the read end never waits; the workload, blocked opening the write
  // end, goes on and writes one byte.
  UniqueFd reader = held ? std::move(static_cast<NativeSession*>(held)->fifo_reader)
                         : sys::open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC, "open the exec fifo");
  for (;;) {
    pollfd p[2] = {{reader.get(), POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("wait for the container to start");
    }
    char byte;
    if ((p[0].revents & POLLIN) && ::read(reader.get(), &byte, 1) == 1) break;
    if (p[1].revents) throw Error(r.name, "the container's init ended before it started");
  }
  if (!held) ::unlink(fifo.c_str());
  r.status = "running";
  c.save();
  const HooksSpec& hooks = held ? static_cast<NativeSession*>(held)->spec.hooks : read_spec_file(c.path()).hooks;
  run_hooks(hooks.poststart, "poststart", oci_state_json(r, "running", false), false);
  // The verbs may change the record from now on; this process goes on holding it.
  if (held) c.unlock();
}

int NativeBackend::wait(ContainerSession& held) {
  collect_stale_container_cgroups();  // while the workload runs: off its start
  const ContainerSpec& spec = static_cast<NativeSession&>(held).spec;
  return held.wait({.timeout_seconds = spec.timeout_seconds, .memory_limit = spec.limits.memory_bytes});
}

// runc's answers, whose words containerd's shim matches: `kill --all` of a stopped
// container succeeds (nothing is left to signal), a plain kill says "container not running".
void NativeBackend::kill(LockedContainer& c, int signal, bool all) {
  ContainerRecord& r = c.record();
  if (all) {
    for (const std::string& dir : r.cgroup) {
      for (pid_t pid : procs_of(dir)) ::kill(pid, signal);  // only the container's are there
      break;  // every hierarchy holds the same processes
    }
    return;
  }
  UniqueFd pidfd = container_init_pidfd(r);
  if (!pidfd) throw Error(r.name, "container not running");
  if (sys::raw_pidfd_send_signal(pidfd.get(), signal) != 0) throw_errno("signal the container", r.name);
}

void NativeBackend::remove(LockedContainer& c, bool force, ContainerSession* held) {
  ContainerRecord& r = c.record();
  if (held) {
    // Ours, ended (wait) or failing: nothing of it may stay. A `delete --force` from
    // elsewhere may have taken the record already.
    try {
      c.relock();
    } catch (const Error&) {
      return;
    }
    const bool ended = !held->main();  // reaped by wait(): every process of it is gone
    held->main() = OwnedChild();  // killed and reaped if it still runs
    run_hooks(static_cast<NativeSession*>(held)->spec.hooks.poststop, "poststop", oci_state_json(r, "stopped", false), false);
    if (ended) {
      held->remove_after_exit();
    } else {
      if (Cgroup* cgroup = held->cgroup()) cgroup->destroy();
      c.remove();
    }
    timing::mark("removed");
    return;
  }
  if (c.corrupted()) {
    if (!force) c.refuse_corrupted();
    // No pid to trust: the container is found by its cgroup, from the kept spec's
    // cgroupsPath (or the default), and everything in it is killed.
    ContainerSpec kept;
    try {
      kept = read_spec_file(c.path());
    } catch (const Error&) {
    }
    std::vector<std::string> dirs = existing_cgroup_directories(read_cgroup_hierarchies(), cgroup_request(kept, r.name, false));
    // Not if it holds a process older than the record: that cgroup is someone else's.
    std::optional<uint64_t> birth = record_birth_ticks(c.path());
    if (auto older = birth ? older_process_in(dirs, *birth) : std::nullopt) {
      spdlog::warn("{}: left cgroup alone: {}", r.name, *older);
      dirs.clear();
    }
    if (std::unique_ptr<Cgroup> cgroup = open_cgroup(dirs)) cgroup->destroy();
    c.remove();
    return;
  }
  std::string st = status(r, c.path());
  if ((st == "running" || st == "paused") && !force) {
    throw Error(r.name, "the container is " + st + ": stop it first, or delete --force");
  }
  std::unique_ptr<Cgroup> cgroup = open_cgroup(r.cgroup);
  if (st != "stopped") {
    UniqueFd pidfd = container_init_pidfd(r);
    if (cgroup && st == "paused") cgroup->freeze(false);
    if (pidfd) {
      sys::raw_pidfd_send_signal(pidfd.get(), SIGKILL);
      if (!wait_for_exit(pidfd.get(), std::chrono::seconds(10))) throw Error(r.name, "the container's init did not die");
    }
  }
  if (!r.persistent && !record_is_stale(c.path())) {
    // Held by a `run` elsewhere: it removes the rest as its container ends; we wait for that.
    c.unlock();
    for (int i = 0; i < 1000 && ::access(c.path().c_str(), F_OK) == 0; ++i) ::usleep(10000);
    return;
  }
  if (cgroup) cgroup->destroy();  // what is left is killed, then the directories go
  ContainerSpec kept;
  try {
    kept = read_spec_file(c.path());
  } catch (const Error&) {
  }
  // A container left running held its pasta open (it holds the namespace): stopped here.
  if (kept.network == NetworkMode::kPasta) {
    net::cleanup_user_mode_network(r.name, net::network_state_dir(c.path().substr(0, c.path().find_last_of('/'))));
  }
  run_hooks(kept.hooks.poststop, "poststop", oci_state_json(r, "stopped", false), false);
  c.remove();
}

void NativeBackend::pause(LockedContainer& c, bool paused) {
  ContainerRecord& r = c.record();
  std::string st = status(r, c.path());
  if (paused ? st != "running" : st != "paused") {
    throw Error(r.name, std::string("cannot ") + (paused ? "pause" : "resume") + " a container that is " + st);
  }
  std::unique_ptr<Cgroup> cgroup = open_cgroup(r.cgroup);
  if (!cgroup) throw Error(r.name, "the container has no cgroup");
  cgroup->freeze(paused);
}

std::vector<pid_t> NativeBackend::pids(const ContainerRecord& r, const std::string&) {
  return r.cgroup.empty() ? std::vector<pid_t>{} : procs_of(r.cgroup.front());
}

void NativeBackend::update(LockedContainer& c, const CgroupLimits& limits) {
  ContainerRecord& r = c.record();
  if (status(r, c.path()) == "stopped") throw Error(r.name, "the container is stopped");
  std::unique_ptr<Cgroup> cgroup = open_cgroup(r.cgroup);
  if (!cgroup) throw Error(r.name, "the container has no cgroup");
  require_controllers_for_update(*cgroup, limits, r.name);
  cgroup->apply(limits);
}

}  // namespace nucleus::native
