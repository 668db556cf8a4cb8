// `nucleus rm [-f] ID...`: a stopped service's record and logs go; -f stops a running one
// at once (SIGKILL) first.
#include <chrono>
#include <iostream>
#include <thread>

#include "core/service/events.h"
#include "core/service/service_state.h"
#include "core/sys/error.h"
#include "frontend/cli.h"
#include "frontend/service_launch.h"

namespace nucleus::frontend {

void add_rm_command(CLI::App& app, Globals& g, Action& action) {
  struct Flags {
    bool force = false;
    std::vector<std::string> ids;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("rm", "Remove detached containers (their records and logs)");
  cmd->add_flag("-f,--force", f->force, "Kill a running one first");
  cmd->add_option("ids", f->ids, "Service names or ids")->required();
  cmd->callback([f, &g, &action] {
    action = [f, &g] {
      for (const std::string& id : f->ids) {
        std::string dir = existing_service(g.root, id);
        // A monitor that has said `exited` is on its way out (its log, its cgroup): waited for.
        for (int i = 0; i < 250 && service::monitor_alive(dir) && service::read_state(dir).status == "exited"; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (service::monitor_alive(dir)) {
          if (!f->force) throw Error(id, "is running (nucleus stop " + id + ", or rm -f)");
          stop_service(g.root, id, 0);
        }
        // A monitor killed (-9) left its cgroup to whoever came next.
        service::remove_dead_monitor_cgroup(dir, std::chrono::seconds(2));
        service::remove_service_dir(g.root, id);
        service::record_event(g.root, id, "remove");
        std::cout << id << "\n";
      }
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
