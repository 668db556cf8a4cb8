#include "tests/integration/network_lab.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <cstdio>
#include <fstream>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "core/sys/sys.h"
#include "network/ipam/lease_store.h"
#include "tests/integration/harness.h"
#include "tests/support/eventually.h"
#include "tests/integration/network_lab_io.h"

namespace nucleus::test {

struct NetworkLab::Process {
  pid_t pid = -1;
  UniqueFd in, out;
};

NetworkLab::NetworkLab() : suffix_(std::to_string(::getpid())) {
  // As /run/nucleus is: others may pass through (an OCI create's workload opens its
  // record's exec.fifo), not list.
  ::chmod(state_dir().c_str(), 0711);
  host_ = "nxh" + suffix_;
  upstream_ = "nxu" + suffix_;
  try {
    setup();
  } catch (...) {
    teardown();
    throw;
  }
}

NetworkLab::~NetworkLab() { teardown(); }

std::string NetworkLab::helper() const { return std::string(NETWORK_BIN_DIR) + "/nucleus-netd"; }
std::string NetworkLab::driver() { return std::string(NETWORK_BIN_DIR) + "/network_driver"; }

void NetworkLab::setup() {
  const std::string& h = host_;
  const std::string& u = upstream_;
  lab_io::must({"ip", "netns", "add", h});
  lab_io::must({"ip", "netns", "add", u});
  lab_io::must({"ip", "-n", h, "link", "set", "lo", "up"});
  lab_io::must({"ip", "-n", u, "link", "set", "lo", "up"});
  lab_io::must({"ip", "-n", h, "link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", u});
  lab_io::must({"ip", "-n", h, "addr", "add", "198.51.100.1/24", "dev", "up0"});
  lab_io::must({"ip", "-n", h, "addr", "add", "2001:db8:ff::1/64", "dev", "up0", "nodad"});
  lab_io::must({"ip", "-n", h, "link", "set", "up0", "up"});
  lab_io::must({"ip", "-n", u, "addr", "add", "198.51.100.2/24", "dev", "eth0"});
  lab_io::must({"ip", "-n", u, "addr", "add", "2001:db8:ff::2/64", "dev", "eth0", "nodad"});
  lab_io::must({"ip", "-n", u, "link", "set", "eth0", "up"});
  lab_io::must({"ip", "-n", h, "route", "add", "default", "via", "198.51.100.2"});
  lab_io::must({"ip", "-n", h, "-6", "route", "add", "default", "via", "2001:db8:ff::2"});
  for (const char* a : {Upstream::kAllowed, Upstream::kNamed, Upstream::kWildcard, Upstream::kDenied, Upstream::kDns,
                        Upstream::kOtherDns, Upstream::kMetadata}) {
    lab_io::must({"ip", "-n", u, "addr", "add", std::string(a) + "/32", "dev", "lo"});
  }
  for (const char* a : {Upstream::kAllowed6, Upstream::kDenied6}) {
    lab_io::must({"ip", "-n", u, "addr", "add", std::string(a) + "/128", "dev", "lo", "nodad"});
  }
  start_echo_server(u);
  start_echo_server(h);
  // The upstream resolver, on two addresses: one nucleus forwards to, one the container
  // must not reach. TTL 60 s for the lab's names.
  int out = -1;
  spawn({"ip", "netns", "exec", u, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
         "--no-hosts", "--bind-interfaces", "--listen-address=" + std::string(Upstream::kDns) + "," + Upstream::kOtherDns,
         "--except-interface=eth0", "--pid-file=", "--log-facility=-", "--local-ttl=60",
         "--address=/allowed.test/" + std::string(Upstream::kNamed), "--address=/allowed.test/2001:db8:10::12",
         "--address=/wild.test/" + std::string(Upstream::kWildcard), "--address=/denied.test/" + std::string(Upstream::kDenied)},
        nullptr, &out);
  // Ready once it answers (a start-up wait, not an assertion).
  for (int i = 0; i < 100; ++i) {
    if (driver_in(h, {"resolve", "allowed.test", Upstream::kDns}).status == 0) return;
    ::usleep(50000);
  }
  throw std::runtime_error("lab setup: dnsmasq does not answer");
}

pid_t NetworkLab::spawn(const std::vector<std::string>& argv, int* stdin_fd, int* stdout_fd) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  auto p = std::make_unique<Process>();
  p->pid = pid;
  p->in.reset(in[1]);
  p->out.reset(out[0]);
  if (stdin_fd) *stdin_fd = p->in.get();
  if (stdout_fd) *stdout_fd = p->out.get();
  processes_.push_back(std::move(p));
  return pid;
}

pid_t NetworkLab::start_echo_server(const std::string& ns) {
  int out = -1;
  pid_t pid = spawn({"ip", "netns", "exec", ns, driver(), "echo-server", std::to_string(kEchoPort)}, nullptr, &out);
  if (lab_io::read_line(out) != "listening") throw std::runtime_error("lab setup: echo server in " + ns + " did not start");
  return pid;
}

std::string NetworkLab::add_container() {
  std::string name = "nxc" + suffix_ + "_" + std::to_string(containers_.size());
  lab_io::must({"ip", "netns", "add", name});
  containers_.push_back(name);
  return name;
}

CommandResult NetworkLab::run_in(const std::string& ns, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip", "netns", "exec", ns};
  argv.insert(argv.end(), args.begin(), args.end());
  return lab_io::run_command(argv);
}

bool NetworkLab::loopback_answers(const std::string& port) {
  return eventually([&] { return driver_in(host_, {"probe", "tcp", "127.0.0.1", port}).status == 0; });
}

CommandResult NetworkLab::driver_in(const std::string& ns, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {driver()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_in(ns, argv);
}

NetworkLab::Attached NetworkLab::attach(const std::string& container_ns, const std::string& id,
                                        const std::vector<std::string>& extra, CommandResult* failure) {
  Attached a;
  a.etc_dir = scratch_.path() + "/" + id;
  ::mkdir(a.etc_dir.c_str(), 0755);
  std::vector<std::string> argv = {"ip", "netns", "exec", host_, driver(), "attach", "--id", id, "--netns",
                                   "/run/netns/" + container_ns, "--state-dir", state_dir(), "--helper", helper(),
                                   "--etc-dir", a.etc_dir};
  argv.insert(argv.end(), extra.begin(), extra.end());
  int out = -1;
  a.driver = spawn(argv, nullptr, &out);
  std::string first = lab_io::read_line(out);
  std::istringstream line(first);
  std::string word;
  line >> word >> a.address4 >> a.address6 >> a.nameserver >> a.helper;
  if (word == "attached") return a;
  if (failure) {
    failure->output = first + "\n" + lab_io::read_all(out);
    int status = 0;
    ::waitpid(a.driver, &status, 0);
    failure->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  a.driver = -1;
  return a;
}

bool NetworkLab::tell(pid_t driver, const std::string& command, const std::string& answer) {
  for (auto& p : processes_) {
    if (p->pid != driver) continue;
    std::string line = command + "\n";
    if (::write(p->in.get(), line.data(), line.size()) < 0) return false;
    bool answered = lab_io::read_line(p->out.get()) == answer;
    ::waitpid(p->pid, nullptr, 0);
    p->pid = -1;
    return answered;
  }
  return false;
}

bool NetworkLab::release(const Attached& attached) { return tell(attached.driver, "release", "released"); }
bool NetworkLab::detach(const Attached& attached) { return tell(attached.driver, "detach", "detached"); }

void NetworkLab::kill_hard(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  for (auto& p : processes_) {
    if (p->pid == pid) {
      ::waitpid(pid, nullptr, 0);
      p->pid = -1;
    }
  }
}

pid_t NetworkLab::server(const std::string& dir) {
  std::string out = driver_in(host_, {"servers", "--state-dir", dir.empty() ? state_dir() : dir}).output;
  return out.empty() ? -1 : std::atoi(out.c_str());
}

bool NetworkLab::wait_gone(pid_t pid) {
  int fd = sys::raw_pidfd_open(pid);
  if (fd < 0) return errno == ESRCH;
  UniqueFd pidfd(fd);
  pollfd p{pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, 10000) > 0;
}

std::vector<std::string> NetworkLab::leases(const std::string& dir) {
  std::vector<std::string> out;
  std::string path = (dir.empty() ? nucleus_root() + "/.network" : dir) + "/leases";
  DIR* d = ::opendir(path.c_str());
  for (dirent* e = d ? ::readdir(d) : nullptr; e != nullptr; e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(path + "/" + e->d_name);
    std::stringstream text;
    text << in.rdbuf();
    out.push_back(text.str());
  }
  if (d) ::closedir(d);
  return out;
}

size_t NetworkLab::standbys() {
  size_t n = 0;
  for (const std::string& lease : leases()) n += lease.find("\"standby_ready\":true") != std::string::npos;
  return n;
}

void NetworkLab::end_standbys() {
  for (const std::string& dir : {state_dir(), nucleus_root() + "/.network"}) {
    auto held = [&] {
      for (const std::string& lease : leases(dir)) {
        if (lease.find("\"id\":\"standby-") != std::string::npos) return true;
      }
      return false;
    };
    if (!held()) continue;
    if (pid_t s = server(dir); s > 0 && ::kill(s, SIGTERM) == 0) wait_gone(s);
    for (int i = 0; i < 100 && held(); ++i) ::usleep(100000);
  }
}

pid_t NetworkLab::start_in_host(const std::vector<std::string>& args) {
  std::vector<std::string> words = {"ip", "netns", "exec", host()};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string NetworkLab::leftovers_after_killing(pid_t nucleus) {
  ::kill(nucleus, SIGKILL);
  int status = 0;
  ::waitpid(nucleus, &status, 0);
  return settled_leftovers();
}

std::string NetworkLab::settled_leftovers() {
  std::string left;
  eventually([&] { return (left = leftovers()).empty(); }, 10);
  return left;
}

void NetworkLab::end_in_host(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  if (eventually([&] { return ::waitpid(pid, &status, WNOHANG) != 0; }, 5)) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
}

std::string NetworkLab::leftovers() {
  end_standbys();
  std::string out;
  for (const std::string& dir : {state_dir(), nucleus_root() + "/.network"}) {
    DIR* d = ::opendir((dir + "/leases").c_str());
    for (dirent* e = d ? ::readdir(d) : nullptr; e != nullptr; e = ::readdir(d)) {
      if (e->d_name[0] != '.') out += "lease " + std::string(e->d_name) + "\n";
    }
    if (d) ::closedir(d);
    // A container's netd log goes with its lease (and exec's word that its namespace may not
    // be recycled); one of a refused attach with the refusal.
    d = ::opendir(dir.c_str());
    for (dirent* e = d ? ::readdir(d) : nullptr; e != nullptr; e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 4 && name.ends_with(".log") && name != "netd-server.log") out += "log " + name + "\n";
      if (name.ends_with(".unrecyclable")) out += "marker " + name + "\n";  // goes with its lease too
    }
    if (d) ::closedir(d);
  }
  // The list of recyclable namespaces is every root's: this lab's entries go with their leases.
  DIR* index = ::opendir(net::kRecyclableIndexDir);
  for (dirent* e = index ? ::readdir(index) : nullptr; e != nullptr; e = ::readdir(index)) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(std::string(net::kRecyclableIndexDir) + "/" + e->d_name, ec).string();
    for (const std::string& dir : {state_dir(), nucleus_root() + "/.network"}) {
      if (!target.empty() && target.rfind(std::filesystem::weakly_canonical(dir, ec).string() + "/", 0) == 0) {
        out += "recyclable namespace listed: " + std::string(e->d_name) + " -> " + target + "\n";
        break;  // the two directories may be one
      }
    }
  }
  if (index) ::closedir(index);
  for (const std::string& l : lab_io::lines_with(run_in(host_, {"ip", "-o", "link", "show"}).output, ": nv")) out += "link: " + l + "\n";
  std::string rules = run_in(host_, {"nft", "list", "ruleset"}).output;
  for (const std::string& l : lab_io::lines_with(rules, "c_")) out += "nft: " + l + "\n";
  for (const std::string& l : lab_io::lines_with(rules, "elements")) out += "nft: " + l + "\n";
  return out;
}

std::string NetworkLab::leftovers_with_base() {
  std::string out = leftovers();
  for (const std::string& l : lab_io::lines_with(run_in(host_, {"ip", "-o", "link", "show"}).output, "nucleus0")) out += "link: " + l + "\n";
  for (const std::string& l : lab_io::lines_with(run_in(host_, {"nft", "list", "tables"}).output, "nucleus")) out += "nft: " + l + "\n";
  return out;
}

std::string NetworkLab::bridge_link_local() {
  std::string out = run_in(host_, {"ip", "-6", "-o", "addr", "show", "dev", "nucleus0", "scope", "link"}).output;
  size_t at = out.find("inet6 ");
  if (at == std::string::npos) return "";
  at += 6;
  return out.substr(at, out.find('/', at) - at);
}

void NetworkLab::teardown() noexcept {
  // Drivers first: each helper then tears its container's network down by itself, and
  // what still runs in the host namespace after that is helpers finishing.
  for (auto& p : processes_) {
    if (p->pid > 0) ::kill(p->pid, SIGKILL);
  }
  for (auto& p : processes_) {
    if (p->pid > 0) ::waitpid(p->pid, nullptr, 0);
    p->pid = -1;
  }
  for (const auto& [pasta, driver_pid] : pastas_) {
    // A driver killed before it released leaves its pasta; the pid is checked to be pasta.
    std::string comm;
    try {
      comm = sys::read_file("/proc/" + std::to_string(pasta) + "/comm", 64, "read comm");
    } catch (...) {
    }
    if (comm.rfind("pas", 0) == 0) ::kill(pasta, SIGKILL);
  }
  if (!host_.empty()) {
    // The resident netd servers the lab's attaches started (their children, the helpers,
    // go on and finish by themselves).
    for (const std::string& dir : {state_dir(), nucleus_root() + "/.network"}) {
      lab_io::run_command({"ip", "netns", "exec", host_, driver(), "stop-servers", "--state-dir", dir});
    }
    for (const std::string& line : lab_io::lines_with(lab_io::run_command({"ip", "netns", "pids", host_}).output, "")) {
      pid_t pid = std::atoi(line.c_str());
      if (pid > 1 && !wait_gone(pid)) ::kill(pid, SIGKILL);
    }
  }
  if (!host_.empty()) {
    lab_io::run_command({"ip", "netns", "exec", host_, driver(), "collect", "--state-dir", nucleus_root() + "/.network",
                 "--helper", helper()});
    lab_io::run_command({"ip", "netns", "exec", host_, driver(), "collect", "--state-dir", state_dir(), "--helper", helper(),
                 "--remove-idle-bridge", "nucleus0"});
  }
  std::vector<std::string> namespaces = containers_;
  namespaces.push_back(host_);
  namespaces.push_back(upstream_);
  for (const std::string& ns : namespaces) {
    // Anything still running in the lab's namespaces is the lab's.
    for (const std::string& line : lab_io::lines_with(lab_io::run_command({"ip", "netns", "pids", ns}).output, "")) {
      pid_t pid = std::atoi(line.c_str());
      if (pid > 1) ::kill(pid, SIGKILL);
    }
    lab_io::run_command({"ip", "netns", "del", ns});
  }
}

}  // namespace nucleus::test
