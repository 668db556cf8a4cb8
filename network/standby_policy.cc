#include "network/standby_policy.h"

namespace nucleus::net {
NetworkRequest standby_request(const NetworkRequest& from) {
  NetworkRequest r;
  r.bridge = from.bridge;
  r.subnet4 = from.subnet4;
  r.subnet6 = from.subnet6;
  return r;
}

bool standby_serves(const NetworkRequest& wanted, const NetworkRequest& prepared) {
  return wanted.bridge == prepared.bridge && wanted.subnet4 == prepared.subnet4 && wanted.subnet6 == prepared.subnet6;
}

std::string standby_id(pid_t pid, uint64_t start_time) {
  return "standby-" + std::to_string(pid) + "-" + std::to_string(start_time);
}

bool is_standby_lease(const Lease& lease) { return lease.id == standby_id(lease.owner.pid, lease.owner.start_time); }

}  // namespace nucleus::net
