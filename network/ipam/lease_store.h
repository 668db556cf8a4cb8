#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/network_spec.h"
#include "core/sys/unique_fd.h"

// Address leases (IPAM). One file per attached container under <state>/leases/<K>.json,
// K the key of its holder's id (network_key: a prepared lease handed over is renamed, so
// that finding a holder's lease is one open whatever the number of leases),
// written before anything of the container's network exists and removed after all of it is
// gone, so it doubles as the list of what a cleanup must undo. A lease is held while its
// file exists: an address is handed out again only once the file is removed, which only a
// completed teardown does. Every allocation runs under the store's flock.
namespace nucleus::net {

// The process that keeps a container's network (nucleus-netd): a pid and its start time
// (/proc/PID/stat field 22), so a recycled pid is never taken for it.
struct LeaseOwner {
  pid_t pid = 0;
  uint64_t start_time = 0;
  static LeaseOwner self();
  bool alive() const;
};

struct Lease {
  std::string id;
  std::string key;    // network_key(origin): names its veth, chains and file
  std::string origin; // the id it was allocated for: id, or a prepared namespace's (pool)
  uint64_t index = 0; // the container's host number in both subnets (gateway: 1)
  IpAddress address4, address6;
  IpAddress gateway4, gateway6;
  int prefix4 = 0, prefix6 = 0;
  std::string bridge;
  LeaseOwner owner;
  uint16_t dns_port = 0;              // 0 until the forwarder's sockets exist
  std::vector<PortPublish> publish;   // the published-port map's keys to remove
  bool policy = false;
  // A standby's, once its namespace is ready and offered to the server (what `nucleus-netd`
  // prepared ahead; docs/networking.md, "Prepared namespaces"); false once handed over.
  bool standby_ready = false;
  // A standby's namespace (its nsfs inode), which may serve more than one container
  // (network/ipam/recycle_marks.h); 0 for a namespace made for one container.
  unsigned long long netns_inode = 0;
  // Where list() read it (not part of the lease): its removal takes that file, even one a
  // holder killed between a hand-over's two steps left under its previous holder's name.
  std::string file;
};

// Where the namespaces that may serve more than one container are listed, for every state
// root (network/ipam/recycle_marks.h).
inline constexpr const char* kRecyclableIndexDir = "/run/nucleus/.recyclable-netns";

class LeaseStore {
 public:
  // Creates <state_dir> and <state_dir>/leases (0700) when missing. index_dir: where the
  // recyclable namespaces of every root are listed (recycle_marks.h; a test's own).
  explicit LeaseStore(std::string state_dir, std::string index_dir = kRecyclableIndexDir);

  // The store's lock (flock on <state>/lock), held while a lease is chosen or the bridge is
  // made; released on destruction.
  class Lock {
   public:
    explicit Lock(const LeaseStore& store);
    ~Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
   private:
    UniqueFd fd_;
    bool lifted_ = false;  // an idle-priority holder (a standby) runs normally while it holds it
  };

  // The lowest index free in both subnets (2 upwards; the gateway is 1, v4's broadcast
  // excluded), recorded for `id`; throws when the subnets are full or id already holds one.
  Lease allocate(const Lock&, const std::string& id, const NetworkRequest& request, const LeaseOwner& owner);
  void update(const Lease& lease);  // rewrites an existing lease atomically
  // Rewrites an existing lease in place, under the lock (readers that take it never see the
  // write halfway): no new inode, and none renamed over the old one, which ext4 makes write
  // the new file's data out at once (auto_da_alloc). For a lease that changes on every start.
  void rewrite(const Lock&, const Lease& lease);
  // A prepared lease (a standby's, network/daemon/standby.cc) becomes container id's, or an
  // ended container's becomes its standby's again: same key and addresses, its file renamed
  // to the new holder's. Under the lock, as allocate: the caller checks there, in the same
  // hold, that id holds no lease yet.
  void hand_over(const Lock&, Lease& lease, const std::string& id);
  // The lease held for id: one open of the file its id names.
  std::optional<Lease> find(const std::string& id) const;
  std::vector<Lease> list() const;
  // Idempotent; the helper's logs, the namespace's recycling mark and its entry in the list
  // of recyclable namespaces go with it.
  void remove(const Lease& lease);

  const std::string& state_dir() const { return state_dir_; }
  const std::string& index_dir() const { return index_dir_; }
  // The netd log nucleus opens for a container id (removed with its lease).
  std::string log_path(const std::string& id) const;
  std::string lease_path(const Lease& lease) const;
  // The file the lease was read from (Lease::file), else the one its id names.
  std::string file_of(const Lease& lease) const { return lease.file.empty() ? lease_path(lease) : lease.file; }

 private:
  std::string state_dir_;
  std::string index_dir_;
};

std::string lease_to_json(const Lease& lease);
Lease lease_from_json(const std::string& text);  // throws Error on a malformed lease

}  // namespace nucleus::net
