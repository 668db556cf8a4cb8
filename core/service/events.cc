#include "core/service/events.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/init/signals.h"
#include "core/service/log_writer.h"
#include "core/sys/quiet_syscall.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"
#include "core/sys/rfc3339.h"

namespace nucleus::service {

using json = nlohmann::json;

namespace {

// A JSON string: what a foreground container's exit formats (event_line), so written
// without a JSON library's machinery. Ids, types and attributes are nucleus's own words.
void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

// Keys in the order a JSON library sorts them, so every line reads alike.
std::string event_to_json(const Event& e) {
  std::string out = "{\"attributes\":{";
  const char* comma = "";
  for (const auto& [key, value] : e.attributes) {
    out += comma;
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
    comma = ",";
  }
  out += "},\"id\":";
  append_json_string(out, e.id);
  out += ",\"time\":";
  append_json_string(out, e.time);
  out += ",\"type\":";
  append_json_string(out, e.type);
  out += '}';
  return out;
}

std::string event_line(const std::string& time, const std::string& id, const std::string& type,
                       std::map<std::string, std::string> attributes) {
  return event_to_json(Event{time, id, type, std::move(attributes)}) + "\n";
}

std::string events_path(const std::string& root) { return root + "/.events"; }

void append_events(const char* path, const char* text, size_t size) noexcept {
  using sys::quiet_syscall;
  constexpr long kFlags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
  long fd = quiet_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), kFlags, 0600);
  if (fd < 0) return;
  struct stat st;
  if (quiet_syscall(SYS_fstat, fd, reinterpret_cast<long>(&st)) == 0 && static_cast<size_t>(st.st_size) > kMaxEventBytes &&
      quiet_syscall(SYS_flock, fd, LOCK_EX) == 0) {
    // Renamed once: a writer that waited for the lock finds a new file at the path.
    struct stat now;
    char older[4096];
    size_t len = 0;
    for (; path[len] != 0 && len < sizeof older - 3; ++len) older[len] = path[len];
    older[len] = '.';
    older[len + 1] = '1';
    older[len + 2] = 0;
    if (path[len] == 0 && quiet_syscall(SYS_newfstatat, AT_FDCWD, reinterpret_cast<long>(path), reinterpret_cast<long>(&now), 0) == 0 &&
        now.st_ino == st.st_ino &&
        quiet_syscall(SYS_renameat, AT_FDCWD, reinterpret_cast<long>(path), AT_FDCWD, reinterpret_cast<long>(older)) == 0) {
      quiet_syscall(SYS_close, fd);
      fd = quiet_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), kFlags, 0600);
      if (fd < 0) return;
    }
  }
  for (size_t done = 0; done < size;) {
    long n = quiet_syscall(SYS_write, fd, reinterpret_cast<long>(text + done), static_cast<long>(size - done));
    if (n == -EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  quiet_syscall(SYS_close, fd);
}

void record_event(const std::string& root, const std::string& id, const std::string& type,
                  std::map<std::string, std::string> attributes) noexcept {
  try {
    std::string line = event_line(rfc3339_now(), id, type, std::move(attributes));
    append_events(events_path(root).c_str(), line.data(), line.size());
  } catch (...) {
    // An event lost: never the caller's failure.
  }
}

std::string describe_exit(int code, bool oom) {
  if (oom) return "oom";
  if (code > 128 && code < 128 + 65) {
    const char* name = init::signal_name(code - 128);
    return std::string("signal ") + (name ? std::string("SIG") + name : std::to_string(code - 128));
  }
  return "exited";
}

std::map<std::string, std::string> die_attributes(int exit_code, bool oom, const std::string& reason) {
  return {{"exit_code", std::to_string(exit_code)},
          {"reason", reason.empty() ? describe_exit(exit_code, oom) : reason},
          {"oom", oom ? "true" : "false"}};
}

std::optional<Event> parse_event(std::string_view line) {
  json j = json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return std::nullopt;
  Event e;
  e.time = j.value("time", "");
  e.id = j.value("id", "");
  e.type = j["type"].get<std::string>();
  if (j.contains("attributes") && j["attributes"].is_object()) {
    for (const auto& [k, v] : j["attributes"].items()) {
      if (v.is_string()) e.attributes[k] = v.get<std::string>();
    }
  }
  return e;
}

std::vector<Event> read_events_file(const std::string& path) {
  std::vector<Event> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (auto e = parse_event(line)) out.push_back(std::move(*e));
  }
  return out;
}

std::vector<Event> read_events(const std::string& root) {
  std::vector<Event> out = read_events_file(events_path(root) + ".1");
  std::vector<Event> current = read_events_file(events_path(root));
  out.insert(out.end(), std::make_move_iterator(current.begin()), std::make_move_iterator(current.end()));
  return out;
}

}  // namespace nucleus::service
