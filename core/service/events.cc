#include "core/service/events.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/service/log_writer.h"
#include "core/sys/sys.h"
#include "core/sys/unique_fd.h"

namespace nucleus::service {

using json = nlohmann::json;

std::string event_to_json(const Event& e) {
  return json{{"time", e.time}, {"id", e.id}, {"type", e.type}, {"attributes", e.attributes}}.dump();
}

void record_event(const std::string& root, const std::string& id, const std::string& type,
                  std::map<std::string, std::string> attributes) noexcept {
  try {
    std::string path = root + "/.events";
    std::string line = event_to_json(Event{cri_timestamp_now(), id, type, std::move(attributes)}) + "\n";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return;
    // The rotation under an flock of the file, so two writers never both rename.
    struct stat st;
    if (::fstat(fd.get(), &st) == 0 && static_cast<size_t>(st.st_size) > kMaxEventBytes &&
        ::flock(fd.get(), LOCK_EX) == 0) {
      struct stat again;
      if (::stat(path.c_str(), &again) == 0 && again.st_ino == st.st_ino) {
        (void)::rename(path.c_str(), (path + ".1").c_str());
        fd.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) return;
      }
    }
    (void)sys::write_all(fd.get(), line.data(), line.size());
  } catch (...) {
    // An event lost: never the caller's failure.
  }
}

std::vector<Event> read_events(const std::string& root) {
  std::vector<Event> out;
  for (const std::string& path : {root + "/.events.1", root + "/.events"}) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("type")) continue;
      Event e;
      e.time = j.value("time", "");
      e.id = j.value("id", "");
      e.type = j.value("type", "");
      if (j.contains("attributes") && j["attributes"].is_object()) {
        for (const auto& [k, v] : j["attributes"].items()) {
          if (v.is_string()) e.attributes[k] = v.get<std::string>();
        }
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace nucleus::service
