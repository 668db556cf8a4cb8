#include "network/proc_net.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <initializer_list>

namespace nucleus::net {
namespace {

// The counters `names` of /proc/net/snmp's `group` ("Ip: names" then "Ip: values"), in
// that order; -1 for one missing.
std::vector<long long> snmp_values(std::string_view text, std::string_view group, std::initializer_list<std::string_view> names) {
  std::vector<long long> out(names.size(), -1);
  std::vector<std::string_view> header, values;
  bool headed = false;
  auto fields = [](std::string_view line) {
    std::vector<std::string_view> f;
    for (size_t at = 0; at < line.size();) {
      size_t end = std::min(line.find(' ', at), line.size());
      if (end > at) f.push_back(line.substr(at, end - at));
      at = end + 1;
    }
    return f;
  };
  while (!text.empty()) {
    size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (line.size() <= group.size() || line.substr(0, group.size()) != group || line[group.size()] != ':') continue;
    (headed ? values : header) = fields(line.substr(group.size() + 1));
    if (headed) break;
    headed = true;
  }
  for (size_t i = 0; i < header.size() && i < values.size(); ++i) {
    size_t k = 0;
    for (std::string_view name : names) {
      if (header[i] == name) std::from_chars(values[i].data(), values[i].data() + values[i].size(), out[k]);
      ++k;
    }
  }
  return out;
}

// The counters `names` of /proc/net/snmp6 ("Name value" lines), in that order, in one pass
// (a recycle reads it twice); -1 for one missing.
std::vector<long long> snmp6_values(std::string_view text, std::initializer_list<std::string_view> names) {
  std::vector<long long> out(names.size(), -1);
  while (!text.empty()) {
    size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    size_t space = line.find_first_of(" \t");
    size_t start = line.find_first_not_of(" \t", space);
    if (space == std::string_view::npos || start == std::string_view::npos) continue;
    std::string_view name = line.substr(0, space), value = line.substr(start);
    size_t k = 0;
    for (std::string_view wanted : names) {
      if (name == wanted) std::from_chars(value.data(), value.data() + value.size(), out[k]);
      ++k;
    }
  }
  return out;
}

}  // namespace

SocketCounts parse_sockstat(std::string_view text) {
  SocketCounts out;
  constexpr std::string_view kUsed = "sockets: used ";
  auto number_at = [&text](size_t at) {
    long value = -1;
    std::from_chars(text.data() + at, text.data() + text.size(), value);
    return value;
  };
  if (text.substr(0, kUsed.size()) == kUsed) out.used = number_at(kUsed.size());
  if (size_t tcp = text.find("\nTCP: "); tcp != std::string_view::npos) {
    if (size_t tw = text.find(" tw ", tcp); tw != std::string_view::npos && tw < text.find('\n', tcp + 1)) {
      out.time_wait = number_at(tw + 4);
    }
  }
  return out;
}

std::vector<long long> traffic_counters(std::string_view snmp, std::string_view snmp6) {
  std::vector<long long> out = snmp_values(snmp, "Ip", {"InReceives", "OutRequests"});
  const std::vector<long long> v6 = snmp6_values(
      snmp6, {"Ip6InDelivers", "Icmp6InMsgs", "Ip6OutRequests", "Icmp6OutMsgs", "Icmp6InEchos", "Icmp6InEchoReplies",
              "Icmp6OutEchos", "Icmp6OutEchoReplies", "Icmp6InDestUnreachs", "Icmp6OutDestUnreachs", "Icmp6InPktTooBigs",
              "Icmp6OutPktTooBigs", "Icmp6InTimeExcds", "Icmp6OutTimeExcds", "Icmp6InParmProblems", "Icmp6OutParmProblems"});
  out.push_back(v6[0] - v6[1]);
  out.push_back(v6[2] - v6[3]);
  out.insert(out.end(), v6.begin() + 4, v6.end());
  return out;
}

}  // namespace nucleus::net
