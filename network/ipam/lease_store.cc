#include "network/ipam/lease_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include <nlohmann/json.hpp>

#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "network/ipam/recycle_marks.h"
#include "network/naming.h"
#include "network/standby_policy.h"

namespace nucleus::net {
namespace {

constexpr size_t kMaxLeaseBytes = 1 << 20;

void make_private_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create " + path);
}

nlohmann::json publish_to_json(const PortPublish& p) {
  return {{"host_ip", p.host_ip ? p.host_ip->to_string() : ""},
          {"host_port", p.host_port},
          {"container_port", p.container_port},
          {"transport", std::string(to_string(p.transport))}};
}

PortPublish publish_from_json(const nlohmann::json& j) {
  PortPublish p;
  std::string ip = j.at("host_ip").get<std::string>();
  if (!ip.empty()) p.host_ip = parse_ip(ip);
  p.host_port = j.at("host_port").get<uint16_t>();
  p.container_port = j.at("container_port").get<uint16_t>();
  p.transport = j.at("transport").get<std::string>() == "udp" ? Transport::kUdp : Transport::kTcp;
  return p;
}

IpAddress ip_from_json(const nlohmann::json& j) {
  std::optional<IpAddress> ip = parse_ip(j.get<std::string>());
  if (!ip) throw Error("lease", "malformed address " + j.dump());
  return *ip;
}

}  // namespace

LeaseOwner LeaseOwner::self() {
  pid_t pid = ::getpid();
  std::optional<sys::ProcessStat> stat = sys::process_stat(pid);
  if (!stat) throw Error("read /proc/self/stat", "no such process");
  return {pid, stat->start_time};
}

bool LeaseOwner::alive() const {
  std::optional<sys::ProcessStat> stat = sys::process_stat(pid);
  return stat && stat->start_time == start_time && stat->state != 'Z';
}

LeaseStore::LeaseStore(std::string state_dir, std::string index_dir)
    : state_dir_(std::move(state_dir)), index_dir_(std::move(index_dir)) {
  make_private_dir(state_dir_);
  make_private_dir(state_dir_ + "/leases");
}

LeaseStore::Lock::Lock(const LeaseStore& store) {
  // Others wait for the holder: one at idle priority (a standby preparing ahead) would make
  // them wait for the machine to be idle. It runs normally until the lock is released.
  if (::sched_getscheduler(0) == SCHED_IDLE) {
    sched_param normal{};
    lifted_ = ::sched_setscheduler(0, SCHED_OTHER, &normal) == 0;
  }
  fd_ = sys::open(store.state_dir() + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, "open the lease store's lock", 0600);
  while (::flock(fd_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_errno("lock " + store.state_dir() + "/lock");
  }
}

LeaseStore::Lock::~Lock() {
  fd_.reset();
  sched_param idle{};
  if (lifted_) ::sched_setscheduler(0, SCHED_IDLE, &idle);
}

std::string LeaseStore::log_path(const std::string& id) const { return state_dir_ + "/" + network_key(id) + ".log"; }

std::string LeaseStore::lease_path(const Lease& lease) const { return state_dir_ + "/leases/" + network_key(lease.id) + ".json"; }

Lease LeaseStore::allocate(const Lock&, const std::string& id, const NetworkRequest& request, const LeaseOwner& owner) {
  std::set<uint64_t> taken;
  for (const Lease& held : list()) {
    // The same id, or one whose file (or veth and chains) would be this one's.
    if (held.id == id || held.key == network_key(id) || network_key(held.id) == network_key(id)) {
      throw Error("network of " + id, "already attached (lease " + file_of(held) + ")");
    }
    taken.insert(held.index);
  }
  // v4 leaves out the network address, the gateway (1) and the broadcast address.
  uint64_t last = std::min(request.subnet4.capacity() - 2, request.subnet6.capacity() - 1);
  uint64_t index = 2;
  while (index <= last && taken.count(index)) ++index;
  if (index > last) throw Error("allocate an address on " + request.bridge, "all " + std::to_string(last - 1) + " addresses are held");
  // A standby never takes the last free address: a container starting beside its
  // preparation (one is prepared at once next to a start that found none) is never refused
  // for an address no container holds yet.
  if (id == standby_id(owner.pid, owner.start_time)) {
    uint64_t another = index + 1;
    while (another <= last && taken.count(another)) ++another;
    if (another > last) throw Error("allocate an address on " + request.bridge, "the last free address is left to a container");
  }
  Lease lease;
  lease.id = id;
  lease.key = network_key(id);
  lease.origin = id;
  lease.index = index;
  lease.address4 = *request.subnet4.nth(index);
  lease.address6 = *request.subnet6.nth(index);
  lease.gateway4 = *request.subnet4.nth(1);
  lease.gateway6 = *request.subnet6.nth(1);
  lease.prefix4 = request.subnet4.prefix;
  lease.prefix6 = request.subnet6.prefix;
  lease.bridge = request.bridge;
  lease.owner = owner;
  lease.publish = request.publish;
  lease.policy = request.enforces_policy();
  update(lease);
  return lease;
}

void LeaseStore::update(const Lease& lease) { sys::replace_file(lease_path(lease), lease_to_json(lease), "write lease"); }

void LeaseStore::hand_over(const Lock& lock, Lease& lease, const std::string& id) {
  const std::string from = lease_path(lease);
  Lease next = lease;
  next.id = id;
  next.standby_ready = false;
  next.file.clear();
  const std::string to = lease_path(next);
  // The name, never over another's file (a dead holder's left by a kill between these two
  // steps: the caller collects it and tries again), then the new content in the same file
  // (on a start's path: a new inode is ext4's costliest step here).
  if (from != to && ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    throw_errno("hand over lease " + from, to);
  }
  lease = next;
  rewrite(lock, lease);
}

void LeaseStore::rewrite(const Lock&, const Lease& lease) {
  // Padded, never truncated: a kill in between leaves the old lease or the new one whole
  // (JSON allows the trailing blanks). Only the lock's holders change leases in place; a
  // reader without it that meets the write finds the file unreadable for that moment.
  const std::string path = lease_path(lease);
  std::string text = lease_to_json(lease);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && text.size() < static_cast<size_t>(st.st_size)) text.resize(static_cast<size_t>(st.st_size), ' ');
  sys::overwrite_file(path, text, 0600, "write lease");
}

std::optional<Lease> LeaseStore::find(const std::string& id) const {
  const std::string path = state_dir_ + "/leases/" + network_key(id) + ".json";
  // Absent is the usual answer (every start asks for its id first): no exception for it.
  std::optional<std::string> text = sys::read_file_if_present(path, kMaxLeaseBytes, "read lease");
  if (!text) return std::nullopt;
  Lease lease = lease_from_json(*text);
  if (lease.id != id) return std::nullopt;  // another id of the same key, or one being handed over
  lease.file = path;
  return lease;
}

std::vector<Lease> LeaseStore::list() const {
  std::vector<Lease> leases;
  std::string dir = state_dir_ + "/leases";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) throw_errno("list " + dir);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() < 6 || name.compare(name.size() - 5, 5, ".json") != 0) continue;
    try {
      leases.push_back(lease_from_json(sys::read_file(dir + "/" + name, kMaxLeaseBytes, "read lease")));
      leases.back().file = dir + "/" + name;
    } catch (const Error&) {
      // A lease unreadable or removed meanwhile holds nothing we could undo.
    }
  }
  ::closedir(d);
  return leases;
}

void LeaseStore::remove(const Lease& lease) {
  // The helper's logs go with it: the container's, and the prepared namespace's.
  ::unlink(log_path(lease.id).c_str());
  ::unlink((state_dir_ + "/" + lease.key + ".log").c_str());
  const std::string path = file_of(lease);
  const int failed = ::unlink(path.c_str()) != 0 && errno != ENOENT ? errno : 0;
  // After the lease: a mark made meanwhile (under the lock, which a removal does not take)
  // is taken back by its maker once it finds the lease gone (mark_unrecyclable).
  ::unlink(unrecyclable_mark_path(*this, lease).c_str());
  unindex_recyclable(*this, lease.netns_inode, lease.key);
  if (failed != 0) throw Error("remove lease " + path, "", failed);
}

std::string lease_to_json(const Lease& l) {
  nlohmann::json publish = nlohmann::json::array();
  for (const PortPublish& p : l.publish) publish.push_back(publish_to_json(p));
  nlohmann::json j = {{"id", l.id},
                      {"key", l.key},
                      {"origin", l.origin},
                      {"index", l.index},
                      {"address4", l.address4.to_string()},
                      {"address6", l.address6.to_string()},
                      {"gateway4", l.gateway4.to_string()},
                      {"gateway6", l.gateway6.to_string()},
                      {"prefix4", l.prefix4},
                      {"prefix6", l.prefix6},
                      {"bridge", l.bridge},
                      {"owner_pid", l.owner.pid},
                      {"owner_start_time", l.owner.start_time},
                      {"dns_port", l.dns_port},
                      {"publish", publish},
                      {"policy", l.policy},
                      {"standby_ready", l.standby_ready},
                      {"netns_inode", l.netns_inode}};
  return j.dump() + "\n";
}

Lease lease_from_json(const std::string& text) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    Lease l;
    l.id = j.at("id").get<std::string>();
    l.key = j.at("key").get<std::string>();
    l.origin = j.value("origin", l.id);
    l.index = j.at("index").get<uint64_t>();
    l.address4 = ip_from_json(j.at("address4"));
    l.address6 = ip_from_json(j.at("address6"));
    l.gateway4 = ip_from_json(j.at("gateway4"));
    l.gateway6 = ip_from_json(j.at("gateway6"));
    l.prefix4 = j.at("prefix4").get<int>();
    l.prefix6 = j.at("prefix6").get<int>();
    l.bridge = j.at("bridge").get<std::string>();
    l.owner.pid = j.at("owner_pid").get<pid_t>();
    l.owner.start_time = j.at("owner_start_time").get<uint64_t>();
    l.dns_port = j.at("dns_port").get<uint16_t>();
    for (const auto& p : j.at("publish")) l.publish.push_back(publish_from_json(p));
    l.policy = j.at("policy").get<bool>();
    l.standby_ready = j.value("standby_ready", false);
    l.netns_inode = j.value("netns_inode", 0ULL);
    if (l.key != network_key(l.origin)) throw Error("lease", "key does not match id " + l.origin);
    return l;
  } catch (const nlohmann::json::exception& e) {
    throw Error("lease", e.what());
  }
}

}  // namespace nucleus::net
