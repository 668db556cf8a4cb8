#include "backends/gvisor/gvisor_pod.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>

#include "backends/gvisor/runsc/runsc_process.h"
#include "core/sys/error.h"
#include "core/sys/scoped.h"
#include "core/sys/sys.h"

namespace nucleus::gvisor {
namespace {

constexpr const char* kContainerType = "io.kubernetes.cri.container-type";
constexpr const char* kSandboxId = "io.kubernetes.cri.sandbox-id";
constexpr const char* kStartFifo = "/start.fifo";
constexpr int kSandboxGone = 128 + 9;  // as runc reports a container killed with its pod

bool plain_name(const std::string& s) {
  return !s.empty() && s[0] != '.' && s.find('/') == std::string::npos && s.find('\0') == std::string::npos;
}

}  // namespace

PodRole pod_role(const std::map<std::string, std::string>& annotations, const std::string& id) {
  auto type = annotations.find(kContainerType);
  if (type == annotations.end()) return {};
  auto sandbox = annotations.find(kSandboxId);
  PodRole role;
  if (type->second == "sandbox") {
    role.kind = PodRole::Kind::kSandbox;
    role.sandbox_id = sandbox == annotations.end() || sandbox->second.empty() ? id : sandbox->second;
  } else if (type->second == "container") {
    if (sandbox == annotations.end() || sandbox->second.empty()) {
      throw Error("config.json: annotations", std::string(kContainerType) + " is container but " + kSandboxId + " is missing");
    }
    role.kind = PodRole::Kind::kMember;
    role.sandbox_id = sandbox->second;
  } else {
    throw Error("config.json: annotations", std::string(kContainerType) + ": '" + type->second + "' is neither sandbox nor container");
  }
  if (!plain_name(role.sandbox_id)) {
    throw Error("config.json: annotations", std::string(kSandboxId) + ": '" + role.sandbox_id + "' cannot name a pod");
  }
  return role;
}

std::string pod_runsc_root(const std::string& state_root, const std::string& sandbox_id) {
  std::string root = state_root + "/.pod-" + sandbox_id;
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create the pod's runsc root", root);
  struct stat st;
  if (::lstat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
    throw Error("create the pod's runsc root", root + " is not a directory of ours");
  }
  return root;
}

void remove_pod_root_if_empty(const std::string& runsc_root) noexcept {
  if (runsc_root.find("/.pod-") == std::string::npos) return;  // a container's own root goes with its record
  ::rmdir(runsc_root.c_str());  // fails while a container of the pod has state there
}

bool has_runsc_state(const std::string& runsc_root, const std::string& id) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(runsc_root, ec)) {
    std::string name = e.path().filename().string();
    if (name == id || name.rfind(id + "_sandbox:", 0) == 0) return true;
  }
  return false;
}

std::string find_pod_runsc_root(const std::string& state_root, const std::string& id) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(state_root, ec)) {
    std::string dir = e.path().string();
    if (e.path().filename().string().rfind(".pod-", 0) == 0 && has_runsc_state(dir, id)) return dir;
  }
  return {};
}

pid_t start_pod_waiter(const std::string& record_dir, const std::string& runsc, const std::string& runsc_root,
                       const std::string& id) {
  const std::string fifo = record_dir + kStartFifo;
  if (::mkfifo(fifo.c_str(), 0600) != 0) throw_errno("create the pod member's start fifo", fifo);
  // Opened here, non-blocking: the waiter polls it and wakes when `start` writes its byte
  // (a fifo whose writer never came reports no hang-up).
  UniqueFd reader = sys::open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC, "open the pod member's start fifo");
  std::vector<std::string> words = {"nucleus", "internal-pod-wait", "--runsc", runsc, "--runsc-root", runsc_root, id};
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("start the pod member's waiter");
  if (pid == 0) {
    // Only system calls until exec. The waiter keeps the container's stdio (create's) for
    // `start`, which hands them to runsc.
    if (::dup2(reader.get(), 3) != 3) ::_exit(125);
    ::syscall(SYS_close_range, 4, ~0U, 0);
    ::setsid();
    ::execv("/proc/self/exe", argv.data());
    ::_exit(125);
  }
  return pid;
}

void release_pod_waiter(const std::string& record_dir) noexcept {
  UniqueFd writer(::open((record_dir + kStartFifo).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (writer) (void)!::write(writer.get(), "s", 1);
}

int pod_waiter_main(const std::string& runsc, const std::string& runsc_root, const std::string& id) {
  // Exec'd as /proc/self/exe: ps and the tests should see what it is.
  ::prctl(PR_SET_NAME, "nucleus-podwait", 0, 0, 0);
  pollfd p = {3, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
  ::close(3);
  // The container holds its stdio now (or never will): the shim's streams must close when
  // it ends, whoever outlives it.
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3 && null >= 0; ++fd) ::dup2(null, fd);
  if (null >= 0) ::close(null);
  std::string out;
  if (run_runsc(runsc, {"--root=" + runsc_root, "wait", id}, &out) != 0) return kSandboxGone;
  // {"id":"...","exitStatus":N}, N already 128+signal for a killed container.
  size_t at = out.find("\"exitStatus\":");
  if (at == std::string::npos) return kSandboxGone;
  try {
    int status = std::stoi(out.substr(at + 13));
    return status >= 0 && status <= 255 ? status : kSandboxGone;
  } catch (const std::exception&) {
    return kSandboxGone;
  }
}

}  // namespace nucleus::gvisor
