#include "network/dns/dns_message.h"

#include <cstring>

namespace nucleus::net::dns {
namespace {

constexpr size_t kHeader = 12;

uint16_t read16(std::span<const uint8_t> m, size_t at) { return static_cast<uint16_t>(m[at] << 8 | m[at + 1]); }
uint32_t read32(std::span<const uint8_t> m, size_t at) {
  return static_cast<uint32_t>(read16(m, at)) << 16 | read16(m, at + 2);
}
void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// Reads a (possibly compressed) name at *at, advancing *at past it in the message. Follows
// at most 64 pointers, each strictly backwards, so a loop cannot hang it.
bool read_name(std::span<const uint8_t> m, size_t* at, std::string* name) {
  size_t pos = *at;
  bool jumped = false;
  int jumps = 0;
  name->clear();
  while (true) {
    if (pos >= m.size()) return false;
    uint8_t len = m[pos];
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= m.size() || ++jumps > 64) return false;
      size_t target = static_cast<size_t>(len & 0x3f) << 8 | m[pos + 1];
      if (target >= pos) return false;
      if (!jumped) *at = pos + 2;
      jumped = true;
      pos = target;
      continue;
    }
    if (len & 0xc0) return false;
    if (len == 0) {
      if (!jumped) *at = pos + 1;
      return name->size() <= 253;
    }
    if (pos + 1 + len > m.size()) return false;
    if (!name->empty()) *name += '.';
    for (size_t i = 0; i < len; ++i) {
      char c = static_cast<char>(m[pos + 1 + i]);
      *name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    if (name->size() > 255) return false;
    pos += 1 + len;
  }
}

bool read_question(std::span<const uint8_t> m, size_t* at, Question* q) {
  if (!read_name(m, at, &q->name) || *at + 4 > m.size()) return false;
  q->type = read16(m, *at);
  q->klass = read16(m, *at + 2);
  *at += 4;
  return true;
}

void put_name(std::vector<uint8_t>& out, const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<uint8_t>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
}

// Header and question of a response to query; empty when the query has no single question.
std::vector<uint8_t> response_head(std::span<const uint8_t> query, uint8_t rcode, uint16_t answers, size_t* question_end) {
  if (query.size() < kHeader || read16(query, 4) != 1) return {};
  size_t at = kHeader;
  Question q;
  if (!read_question(query, &at, &q)) return {};
  std::vector<uint8_t> out(query.begin(), query.begin() + static_cast<long>(at));
  out[2] = static_cast<uint8_t>(0x80 | (query[2] & 0x79));  // QR, keep opcode and RD
  out[3] = static_cast<uint8_t>(0x80 | rcode);              // RA, rcode
  out[6] = static_cast<uint8_t>(answers >> 8);
  out[7] = static_cast<uint8_t>(answers);
  std::memset(&out[8], 0, 4);  // no authority, no additional (an OPT record is dropped)
  if (question_end) *question_end = at;
  return out;
}

}  // namespace

std::optional<Question> parse_query(std::span<const uint8_t> m) {
  if (m.size() < kHeader || (m[2] & 0x80) != 0 || read16(m, 4) != 1) return std::nullopt;
  size_t at = kHeader;
  Question q;
  if (!read_question(m, &at, &q)) return std::nullopt;
  return q;
}

std::vector<uint8_t> make_error_response(std::span<const uint8_t> query, uint8_t rcode) {
  return response_head(query, rcode, 0, nullptr);
}

std::optional<Answer> parse_answer(std::span<const uint8_t> m) {
  if (m.size() < kHeader || (m[2] & 0x80) == 0 || read16(m, 4) != 1) return std::nullopt;
  Answer a;
  a.id = read16(m, 0);
  a.rcode = m[3] & 0x0f;
  size_t at = kHeader;
  if (!read_question(m, &at, &a.question)) return std::nullopt;
  uint16_t count = read16(m, 6);
  for (uint16_t i = 0; i < count; ++i) {
    std::string owner;
    if (!read_name(m, &at, &owner) || at + 10 > m.size()) return std::nullopt;
    uint16_t type = read16(m, at);
    uint32_t ttl = read32(m, at + 4);
    uint16_t length = read16(m, at + 8);
    at += 10;
    if (at + length > m.size()) return std::nullopt;
    if (type == kTypeA && length == 4) {
      IpAddress ip;
      std::memcpy(ip.bytes.data(), &m[at], 4);
      a.addresses.push_back({ip, ttl});
    } else if (type == kTypeAAAA && length == 16) {
      IpAddress ip{IpFamily::kV6, {}};
      std::memcpy(ip.bytes.data(), &m[at], 16);
      a.addresses.push_back({ip, ttl});
    }
    at += length;
  }
  return a;
}

std::vector<uint8_t> make_query(uint16_t id, const std::string& name, uint16_t type) {
  std::vector<uint8_t> out;
  put16(out, id);
  put16(out, 0x0100);  // RD
  put16(out, 1);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put_name(out, name);
  put16(out, type);
  put16(out, 1);  // IN
  return out;
}

std::vector<uint8_t> make_address_response(std::span<const uint8_t> query, const std::vector<AddressRecord>& records) {
  size_t question_end = 0;
  std::vector<uint8_t> out = response_head(query, 0, static_cast<uint16_t>(records.size()), &question_end);
  if (out.empty()) return out;
  for (const AddressRecord& r : records) {
    put16(out, 0xc00c);  // the question's name
    put16(out, r.address.family == IpFamily::kV4 ? kTypeA : kTypeAAAA);
    put16(out, 1);
    put16(out, static_cast<uint16_t>(r.ttl >> 16));
    put16(out, static_cast<uint16_t>(r.ttl));
    put16(out, static_cast<uint16_t>(r.address.size()));
    out.insert(out.end(), r.address.bytes.begin(), r.address.bytes.begin() + static_cast<long>(r.address.size()));
  }
  return out;
}

}  // namespace nucleus::net::dns
