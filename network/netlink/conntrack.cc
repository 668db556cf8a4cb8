#include "network/netlink/conntrack.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <string>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "core/sys/error.h"
#include "network/netlink/links.h"

namespace nucleus::net {
namespace {

constexpr const char* kStep = "flush the container's connection tracking entries";

struct Message {
  nl_msg* p;
  ~Message() { nlmsg_free(p); }
};

// One entry to delete: its family and the original tuple (and zone) as the kernel sent them.
struct Entry {
  uint8_t family = 0;
  std::string tuple, zone;
};

struct Dump {
  const std::vector<IpAddress>* addresses;
  std::vector<Entry> matches;
};

// The source address of a tuple attribute (CTA_TUPLE_ORIG or CTA_TUPLE_REPLY).
bool source_is_one_of(nlattr* tuple, const std::vector<IpAddress>& addresses) {
  if (tuple == nullptr) return false;
  nlattr* t[CTA_TUPLE_MAX + 1];
  nlattr* ip[CTA_IP_MAX + 1];
  if (nla_parse_nested(t, CTA_TUPLE_MAX, tuple, nullptr) < 0 || t[CTA_TUPLE_IP] == nullptr ||
      nla_parse_nested(ip, CTA_IP_MAX, t[CTA_TUPLE_IP], nullptr) < 0) {
    return false;
  }
  for (const IpAddress& a : addresses) {
    nlattr* source = ip[a.family == IpFamily::kV4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC];
    if (source != nullptr && static_cast<size_t>(nla_len(source)) == a.size() &&
        std::memcmp(nla_data(source), a.bytes.data(), a.size()) == 0) {
      return true;
    }
  }
  return false;
}

int collect(nl_msg* msg, void* arg) {
  auto* dump = static_cast<Dump*>(arg);
  nlmsghdr* header = nlmsg_hdr(msg);
  nlattr* tb[CTA_MAX + 1];
  if (nlmsg_parse(header, sizeof(nfgenmsg), tb, CTA_MAX, nullptr) < 0 || tb[CTA_TUPLE_ORIG] == nullptr) return NL_OK;
  if (!source_is_one_of(tb[CTA_TUPLE_ORIG], *dump->addresses) && !source_is_one_of(tb[CTA_TUPLE_REPLY], *dump->addresses)) {
    return NL_OK;
  }
  Entry e;
  e.family = static_cast<nfgenmsg*>(nlmsg_data(header))->nfgen_family;
  e.tuple.assign(static_cast<const char*>(nla_data(tb[CTA_TUPLE_ORIG])), static_cast<size_t>(nla_len(tb[CTA_TUPLE_ORIG])));
  if (tb[CTA_ZONE] != nullptr) e.zone.assign(static_cast<const char*>(nla_data(tb[CTA_ZONE])), static_cast<size_t>(nla_len(tb[CTA_ZONE])));
  dump->matches.push_back(std::move(e));
  return NL_OK;
}

Message ctnetlink_message(uint8_t command, int flags, uint8_t family) {
  Message m{nlmsg_alloc_simple((NFNL_SUBSYS_CTNETLINK << 8) | command, flags)};
  if (m.p == nullptr) throw Error(kStep, "out of memory");
  nfgenmsg header{.nfgen_family = family, .version = NFNETLINK_V0, .res_id = 0};
  if (nlmsg_append(m.p, &header, sizeof header, NLMSG_ALIGNTO) < 0) throw Error(kStep, "out of memory");
  return m;
}

// The entries of `addresses`; nullopt when the kernel has no ctnetlink. A dump the table's
// changes interrupted is taken again.
std::optional<std::vector<Entry>> entries_of(nl_sock* sock, const std::vector<IpAddress>& addresses) {
  for (int attempt = 0;; ++attempt) {
    Dump dump{&addresses, {}};
    Message request = ctnetlink_message(IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, AF_UNSPEC);
    if (int err = nl_send_auto(sock, request.p); err < 0) throw Error(kStep, nl_geterror(err));
    nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, collect, &dump);
    int err = nl_recvmsgs_default(sock);
    if (err >= 0) return std::move(dump.matches);
    // No ctnetlink subsystem (not built, its module not loadable): nfnetlink refuses the
    // message type.
    if (err == -NLE_OPNOTSUPP || err == -NLE_PROTO_MISMATCH || err == -NLE_INVAL || err == -NLE_OBJ_NOTFOUND) {
      return std::nullopt;
    }
    if (err != -NLE_DUMP_INTR || attempt == 2) throw Error(kStep, nl_geterror(err));
  }
}

}  // namespace

bool flush_conntrack_of(const std::vector<IpAddress>& addresses) {
  NetlinkSocket socket(NETLINK_NETFILTER);
  nl_sock* sock = socket.get();
  std::optional<std::vector<Entry>> entries = entries_of(sock, addresses);
  if (!entries) return false;
  for (const Entry& e : *entries) {
    Message del = ctnetlink_message(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, e.family);
    if (nla_put(del.p, CTA_TUPLE_ORIG | NLA_F_NESTED, static_cast<int>(e.tuple.size()), e.tuple.data()) < 0 ||
        (!e.zone.empty() && nla_put(del.p, CTA_ZONE, static_cast<int>(e.zone.size()), e.zone.data()) < 0)) {
      throw Error(kStep, "out of memory");
    }
    if (int err = nl_send_auto(sock, del.p); err < 0) throw Error(kStep, nl_geterror(err));
    int err = nl_wait_for_ack(sock);
    if (err < 0 && err != -NLE_OBJ_NOTFOUND) throw Error(kStep, nl_geterror(err));  // gone meanwhile: fine
  }
  return true;
}

}  // namespace nucleus::net
