#include "network/standby_policy.h"

namespace nucleus::net {
namespace {

bool same_base(const NetworkRequest& a, const NetworkRequest& b) {
  return a.bridge == b.bridge && a.subnet4 == b.subnet4 && a.subnet6 == b.subnet6;
}

}  // namespace

NetworkRequest standby_request(const NetworkRequest& from) {
  NetworkRequest r;
  r.bridge = from.bridge;
  r.subnet4 = from.subnet4;
  r.subnet6 = from.subnet6;
  return r;
}

std::optional<std::string> why_not_prepared(const AttachOrder& order, const NetworkRequest& prepared) {
  const NetworkRequest& r = order.request;
  // Checked in this order: the first reason is the one logged.
  const std::pair<bool, const char*> refusals[] = {
      {!order.takes_namespace, "the caller makes its own namespace"},
      {!same_base(r, prepared), "another bridge or subnet"},
  };
  for (const auto& [refused, why] : refusals) {
    if (refused) return std::string(why);
  }
  return std::nullopt;
}

std::string standby_id(pid_t pid, uint64_t start_time) {
  return "standby-" + std::to_string(pid) + "-" + std::to_string(start_time);
}

bool is_standby_id(const std::string& id) { return id.rfind("standby-", 0) == 0; }

}  // namespace nucleus::net
