#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/ip_address.h"

// The few parts of DNS messages (RFC 1035) the forwarder reads and writes: a query's
// question, a refusal built from a query, an answer's A and AAAA records. Everything read
// is bounds-checked: a malformed message is nullopt, never a crash.
namespace nucleus::net::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeAAAA = 28;
inline constexpr uint8_t kRcodeServFail = 2;
inline constexpr uint8_t kRcodeNxDomain = 3;
inline constexpr uint8_t kRcodeRefused = 5;

struct Question {
  std::string name;  // lower case, no trailing dot ("" for the root)
  uint16_t type = 0;
  uint16_t klass = 0;
};

// The single question of a query (QR=0, QDCOUNT=1); nullopt for anything else.
std::optional<Question> parse_query(std::span<const uint8_t> message);

// A response to `query` with no records and the given rcode, its id and question echoed.
// Empty when the query is too malformed to echo.
std::vector<uint8_t> make_error_response(std::span<const uint8_t> query, uint8_t rcode);

struct AddressRecord {
  IpAddress address;
  uint32_t ttl = 0;
};
struct Answer {
  uint16_t id = 0;
  uint8_t rcode = 0;
  Question question;
  std::vector<AddressRecord> addresses;  // every A and AAAA of the answer section
};
// A response (QR=1) with exactly one question; nullopt when malformed.
std::optional<Answer> parse_answer(std::span<const uint8_t> message);

// A query for name/type with the given id (the tests' resolver and the tests themselves).
std::vector<uint8_t> make_query(uint16_t id, const std::string& name, uint16_t type);
// A response answering query with the given addresses (tests' upstream).
std::vector<uint8_t> make_address_response(std::span<const uint8_t> query, const std::vector<AddressRecord>& records);

}  // namespace nucleus::net::dns
