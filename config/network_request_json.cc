#include "config/network_request_json.h"

#include "core/sys/error.h"

namespace nucleus {

nlohmann::json network_request_json(const NetworkRequest& r) {
  nlohmann::json egress = nlohmann::json::array(), publish = nlohmann::json::array(), resolvers = nlohmann::json::array();
  for (const EgressRule& rule : r.egress) egress.push_back(to_string(rule));
  for (const PortPublish& p : r.publish) publish.push_back(to_string(p));
  for (const IpAddress& ip : r.resolvers) resolvers.push_back(ip.to_string());
  nlohmann::json extra_hosts = nlohmann::json::array();
  for (const ExtraHost& h : r.extra_hosts) extra_hosts.push_back(to_string(h));
  return {{"bridge", r.bridge},
          {"subnet4", r.subnet4.to_string()},
          {"subnet6", r.subnet6.to_string()},
          {"publish", publish},
          {"egress", egress},
          {"default_deny", r.default_deny},
          {"resolvers", resolvers},
          {"hostname", r.hostname},
          {"extra_hosts", extra_hosts}};
}

NetworkRequest network_request_from(const nlohmann::json& j, const std::string& what) {
  NetworkRequest r;
  r.bridge = j.at("bridge").get<std::string>();
  r.subnet4 = parse_subnet(j.at("subnet4").get<std::string>(), IpFamily::kV4, what);
  r.subnet6 = parse_subnet(j.at("subnet6").get<std::string>(), IpFamily::kV6, what);
  for (const auto& p : j.at("publish")) r.publish.push_back(parse_publish(p.get<std::string>(), what));
  for (const auto& e : j.at("egress")) r.egress.push_back(parse_egress_rule(e.get<std::string>(), what));
  r.default_deny = j.at("default_deny").get<bool>();
  for (const auto& ip : j.at("resolvers")) {
    std::optional<IpAddress> parsed = parse_ip(ip.get<std::string>());
    if (!parsed) throw Error(what, "malformed resolver " + ip.dump());
    r.resolvers.push_back(*parsed);
  }
  r.hostname = j.at("hostname").get<std::string>();
  if (j.contains("extra_hosts")) {  // a record written before --add-host has none
    for (const auto& h : j.at("extra_hosts")) r.extra_hosts.push_back(parse_extra_host(h.get<std::string>(), what));
  }
  return r;
}

}  // namespace nucleus
