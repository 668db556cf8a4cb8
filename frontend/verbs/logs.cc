// `nucleus logs [-f] [--tail N] [--since T] [--timestamps] ID`: a service's log (the CRI
// format, core/service/log_writer.h), stdout's lines to stdout and stderr's to stderr; -f
// follows it across rotations until the service's monitor has ended.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "config/service_spec.h"
#include "core/service/log_writer.h"
#include "core/service/service_state.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "frontend/cli.h"
#include "frontend/follow_file.h"
#include "frontend/service_launch.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {
namespace {

struct LogsFlags {
  bool follow = false, timestamps = false;
  std::optional<int64_t> tail;
  std::optional<std::string> since;
  std::string id;
};

class Printer {
 public:
  Printer(const LogsFlags& f, std::string since) : f_(f), since_(std::move(since)) {}
  void line(std::string_view text) {
    auto record = service::parse_cri_line(text);
    if (!record || (!since_.empty() && record->time < since_)) return;
    std::ostream& out = record->stream == "stderr" ? std::cerr : std::cout;
    if (f_.timestamps && !continuing_) out << record->time << " ";
    out << record->content;
    if (!record->partial) out << "\n";
    continuing_ = record->partial;
  }
  void flush() {
    std::cout.flush();
    std::cerr.flush();
  }

 private:
  const LogsFlags& f_;
  std::string since_;
  bool continuing_ = false;
};

// A service's record; a container without one (a foreground `run`'s, the OCI verbs') has
// no log: its output went to whoever started it, which one line says (125).
std::string service_with_log(const std::string& root, const std::string& id) {
  check_id(id);
  try {
    return existing_service(root, id);
  } catch (const Error&) {
    if (std::filesystem::exists(root + "/" + id + "/state.json")) {
      throw Error(id, "has no log: only a detached container (nucleus run -d) keeps one; this one's output goes to whoever started it");
    }
    throw Error(id, "no such container");
  }
}

}  // namespace

void add_logs_command(CLI::App& app, Globals& g, Action& action) {
  auto f = std::make_shared<LogsFlags>();
  CLI::App* cmd = app.add_subcommand("logs", "A detached container's output");
  cmd->add_flag("-f,--follow", f->follow, "Follow the log until the service ends");
  cmd->add_flag("-t,--timestamps", f->timestamps, "Show each line's time");
  cmd->add_option("-n,--tail", f->tail, "Only the last N lines")->check(CLI::NonNegativeNumber);
  cmd->add_option("--since", f->since, "Lines since a time (RFC 3339, UTC) or a duration ago (10m)");
  cmd->add_option("id", f->id, "Service name or id")->required();
  cmd->callback([f, &g, &action] {
    action = [f, &g] {
      const std::string since = since_flag(f->since);
      std::string dir = service_with_log(g.root, f->id);
      ServiceSpec service = service_spec_from_json(sys::read_file(dir + "/service.json", 1u << 20, "read the service record"));
      const std::string path = dir + "/container.log";
      // The current file is opened first, so a rotation meanwhile loses nothing to -f.
      UniqueFd current(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      std::deque<std::string> lines;
      for (const std::string& file : service::log_files(path, service.log.max_files)) {
        if (file == path) continue;
        std::ifstream in(file);
        for (std::string l; std::getline(in, l);) lines.push_back(std::move(l));
      }
      std::string partial;
      if (current) read_new_lines(current.get(), partial, [&](std::string_view l) { lines.emplace_back(l); });
      if (f->tail) {
        while (lines.size() > static_cast<size_t>(*f->tail)) lines.pop_front();
      }
      Printer printer(*f, since);
      for (const std::string& l : lines) printer.line(l);
      printer.flush();
      if (f->follow && current) {
        // Until the monitor has ended (and what it wrote last is read).
        FollowHooks hooks{.go_on = [&dir] { return service::monitor_alive(dir); }, .caught_up = [&printer] { printer.flush(); }};
        follow_lines(path, std::move(current), partial, [&printer](std::string_view l) { printer.line(l); }, hooks);
      }
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
