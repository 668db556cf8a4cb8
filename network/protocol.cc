#include "network/protocol.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "config/network_request_json.h"
#include "core/sys/sys.h"
#include "network/naming.h"

namespace nucleus::net {

std::string order_to_json(const AttachOrder& o) {
  nlohmann::json j = network_request_json(o.request);
  j["id"] = o.id;
  j["state_dir"] = o.state_dir;
  j["takes_namespace"] = o.takes_namespace;
  j["recyclable"] = o.recyclable;
  j["takes_mounts"] = o.takes_mounts;
  return j.dump();
}

AttachOrder order_from_json(const std::string& text) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    AttachOrder o;
    o.id = j.at("id").get<std::string>();
    o.state_dir = j.at("state_dir").get<std::string>();
    o.request = network_request_from(j, "order");
    o.takes_namespace = j.value("takes_namespace", false);
    o.recyclable = j.value("recyclable", false);
    o.takes_mounts = j.value("takes_mounts", false);
    return o;
  } catch (const nlohmann::json::exception& e) {
    throw Error("read the network order", e.what());
  }
}

std::string report_ok(const Lease& lease) { return "ok " + lease_to_json(lease); }

std::string report_error(const Error& e) {
  return "error " + nlohmann::json{{"step", e.step()}, {"detail", e.detail()}, {"err", e.err()}}.dump();
}

Lease read_report(const std::string& datagram) {
  if (datagram.rfind("ok ", 0) == 0) return lease_from_json(datagram.substr(3));
  if (datagram.rfind("error ", 0) == 0) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(datagram.substr(6));
    } catch (const nlohmann::json::exception& e) {
      throw Error("attach the network", "unreadable report from nucleus-netd");
    }
    throw Error(j.value("step", ""), j.value("detail", ""), j.value("err", 0));
  }
  throw Error("attach the network", "unreadable report from nucleus-netd");
}

ServerPaths server_paths(const std::string& state_dir, const std::string& tag) {
  return {state_dir + "/netd-" + tag + ".sock", state_dir + "/netd-" + tag + ".lock"};
}

std::string helper_tag(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "";
  char text[96];
  std::snprintf(text, sizeof text, "%llx-%llx-%llx-%llx", static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino), static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec));
  return network_key(text);  // 12 hex digits: the socket's path stays far below sun_path's 108
}

std::vector<LeaseOwner> running_servers(const std::string& state_dir) {
  std::vector<LeaseOwner> out;
  DIR* d = ::opendir(state_dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind("netd-", 0) != 0 || name.size() < 10 || name.compare(name.size() - 5, 5, ".lock") != 0) continue;
    LeaseOwner owner;
    try {
      std::string text = sys::read_file(state_dir + "/" + name, 64, "read " + name);
      unsigned long long start = 0;
      if (std::sscanf(text.c_str(), "%d %llu", &owner.pid, &start) != 2) continue;
      owner.start_time = start;
    } catch (const Error&) {
      continue;
    }
    if (owner.pid > 1 && owner.alive()) out.push_back(owner);
  }
  ::closedir(d);
  return out;
}

}  // namespace nucleus::net
