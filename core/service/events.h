#pragma once

#include <map>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

// The host's container events (`nucleus events`): one JSON object a line, appended to
// One line of the events file (with its newline), for an event that happened at `time`.
std::string event_line(const std::string& time, const std::string& id, const std::string& type,
                       std::map<std::string, std::string> attributes = {});
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
// One line of the events file (with its newline), for an event that happened at `time`.
std::string event_line(const std::string& time, const std::string& id, const std::string& type,
                       std::map<std::string, std::string> attributes = {});
// <root>/.events
std::string events_path(const std::string& root);
// Appends; never throws (an event lost is better than a monitor stopped).
void record_event(const std::string& root, const std::string& id, const std::string& type,
                  std::map<std::string, std::string> attributes = {}) noexcept;
// One append of `text` (whole lines) to the events file at `path`, rotating it first when it
// is past kMaxEventBytes, under its flock. Raw system calls only, nothing allocated, errno
// untouched: the cleanup keeper calls it while it shares nucleus's memory (a foreground
// container's events are written by its keeper once nucleus has exited).
void append_events(const char* path, const char* text, size_t size) noexcept;

// How a container ended, in the events' and the services' words: "exited", "signal
// SIGTERM" (exit code 128+N), "oom".
std::string describe_exit(int exit_code, bool oom);
// The `die` event's attributes.
std::map<std::string, std::string> die_attributes(int exit_code, bool oom, const std::string& reason = {});
// One line of the file; nullopt for a line that is not an event.
std::optional<Event> parse_event(std::string_view line);
// The events of one file (.events or .events.1), in the order recorded; lines that are not
// events are skipped.
std::vector<Event> read_events_file(const std::string& path);
// Every recorded event (.events.1, then .events), in the order recorded.
std::vector<Event> read_events(const std::string& root);

}  // namespace nucleus::service
