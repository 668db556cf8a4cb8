#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "config/network_spec.h"

// A NetworkRequest as JSON, one form both ways: nucleus-netd's order (network/protocol.h)
// and a record's spec.json (config/spec_json.h), so that a service restarted or compared
// from its record has the ports, egress rules, resolvers and subnets it was given.
namespace nucleus {

nlohmann::json network_request_json(const NetworkRequest& request);
// Throws Error(what, ...) on a malformed field; nlohmann's exceptions on a missing one.
NetworkRequest network_request_from(const nlohmann::json& j, const std::string& what);

}  // namespace nucleus
