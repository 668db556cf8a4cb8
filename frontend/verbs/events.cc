// `nucleus events [--format json] [--since T] [--follow]`: what happened to the host's
// containers (core/service/events.h): create, start, health_status, die, restart, stop,
// remove; one line each, oldest first.
#include <chrono>
#include <iostream>
#include <thread>

#include "core/service/duration.h"
#include "core/service/events.h"
#include "core/sys/error.h"
#include "frontend/cli.h"

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
      std::string since;
      if (f->since) {
        auto t = service::since_timestamp(*f->since);
        if (!t) throw Error("--since", "'" + *f->since + "' is neither a time (2026-12-06T05:00:00Z) nor a duration (10m)");
        since = *t;
      }
      bool json = f->format == "json";
      for (;;) {
        for (const service::Event& e : service::read_events(g.root)) {
          if (e.time <= since && !since.empty()) continue;
          print(e, json);
          since = e.time;
        }
        std::cout.flush();
        if (!f->follow) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    };
  });
}

}  // namespace nucleus::frontend
