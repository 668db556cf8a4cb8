#pragma once

#include <map>
#include <string>
#include <vector>

// The host's container events (`nucleus events`): one JSON object a line, appended to
// <root>/.events by whoever saw it happen (the monitors, the verbs), with one write(2) of
// O_APPEND each, so lines of concurrent writers never interleave. Bounded: past kMaxBytes
// the file becomes .events.1 (the older one dropped), so the history is at most twice that.
namespace nucleus::service {

inline constexpr size_t kMaxEventBytes = 1u << 20;

struct Event {
  std::string time;  // RFC 3339, nanoseconds, UTC
  std::string id;
  std::string type;  // create, start, health_status, die, restart, stop, remove
  std::map<std::string, std::string> attributes;
};

std::string event_to_json(const Event& event);
// Appends; never throws (an event lost is better than a monitor stopped).
void record_event(const std::string& root, const std::string& id, const std::string& type,
                  std::map<std::string, std::string> attributes = {}) noexcept;
// Every recorded event, oldest first; lines that are not events are skipped.
std::vector<Event> read_events(const std::string& root);

}  // namespace nucleus::service
