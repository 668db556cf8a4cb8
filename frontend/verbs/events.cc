// `nucleus events [--format json] [--since T] [--follow]`: what happened to the host's
// containers (core/service/events.h): create, start, health_status, die, restart, stop,
// remove; one line each, oldest first; --follow: then each as it is recorded.
#include <fcntl.h>

#include <algorithm>
#include <iostream>

#include "core/service/events.h"
#include "core/sys/error.h"
#include "frontend/cli.h"
#include "frontend/follow_file.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {
namespace {

void print(const service::Event& e, bool json) {
  if (json) {
    std::cout << service::event_to_json(e) << "\n";
    return;
  }
  std::cout << e.time << " " << e.type << " " << e.id;
  const char* sep = " (";
  for (const auto& [k, v] : e.attributes) {
    std::cout << sep << k << "=" << v;
    sep = ", ";
  }
  std::cout << (e.attributes.empty() ? "" : ")") << "\n";
}

}  // namespace

void add_events_command(CLI::App& app, Globals& g, Action& action) {
  struct Flags {
    std::string format = "text";
    std::optional<std::string> since;
    bool follow = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("events", "Container events of this host");
  cmd->add_option("--format", f->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--since", f->since, "Events since a time (RFC 3339, UTC) or a duration ago (10m)");
  cmd->add_flag("-f,--follow", f->follow, "Go on printing events as they come");
  cmd->callback([f, &g, &action] {
    action = [f, &g] {
      const std::string since = since_flag(f->since);
      bool json = f->format == "json";
      const std::string path = service::events_path(g.root);
      // Opened first, so what is appended while the history is printed is followed.
      UniqueFd current(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      std::vector<service::Event> history = service::read_events_file(path + ".1");
      std::string partial;  // the current file through the fd, so following goes on where it ends
      if (current) {
        read_new_lines(current.get(), partial, [&history](std::string_view line) {
          if (auto e = service::parse_event(line)) history.push_back(std::move(*e));
        });
      }
      // In the order they happened: a foreground container's are written once it has ended.
      std::stable_sort(history.begin(), history.end(),
                       [](const service::Event& a, const service::Event& b) { return a.time < b.time; });
      for (const service::Event& e : history) {
        if (e.time >= since) print(e, json);
      }
      std::cout.flush();
      if (!f->follow) return 0;
      follow_lines(path, std::move(current), partial, [json](std::string_view line) {
        if (auto e = service::parse_event(line)) print(*e, json);
      }, FollowHooks{.caught_up = [] { std::cout.flush(); }});
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
