// `nucleus logs [-f] [--tail N] [--since T] [--timestamps] ID`: a service's log (the CRI
// format, core/service/log_writer.h), stdout's lines to stdout and stderr's to stderr; -f
// follows it across rotations until the service's monitor has ended.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <iostream>
#include <thread>

#include "config/service_spec.h"
#include "core/service/duration.h"
#include "core/service/log_writer.h"
#include "core/service/service_state.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "frontend/cli.h"
#include "frontend/service_launch.h"

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

// Reads what the file has past `offset`, whole lines only.
void read_new_lines(int fd, std::string& partial, const std::function<void(std::string_view)>& each) {
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    partial.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      each(std::string_view(partial).substr(start, nl - start));
    }
    partial.erase(0, start);
  }
}

ino_t inode_of(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Follows container.log: when it is renamed away (rotated), what the old file still has is
// read, then the new one; ends once the monitor is gone and nothing more came.
void follow(const std::string& dir, const std::string& path, Printer& printer, UniqueFd fd, std::string partial) {
  auto each = [&](std::string_view l) { printer.line(l); };
  for (;;) {
    bool alive = service::monitor_alive(dir);
    read_new_lines(fd.get(), partial, each);
    struct stat st;
    bool rotated = inode_of(path) != 0 && ::fstat(fd.get(), &st) == 0 && (inode_of(path) != st.st_ino);
    bool truncated = ::fstat(fd.get(), &st) == 0 && ::lseek(fd.get(), 0, SEEK_CUR) > st.st_size;
    if (rotated || truncated) {
      read_new_lines(fd.get(), partial, each);
      partial.clear();
      fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) return;
      continue;
    }
    printer.flush();
    if (!alive) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
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
      std::string since;
      if (f->since) {
        auto t = service::since_timestamp(*f->since);
        if (!t) throw Error("--since", "'" + *f->since + "' is neither a time (2026-12-06T05:00:00Z) nor a duration (10m)");
        since = *t;
      }
      std::string dir = existing_service(g.root, f->id);
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
      if (f->follow && current) follow(dir, path, printer, std::move(current), partial);
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
