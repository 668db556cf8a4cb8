// `nucleus list [--format table|json] [--quiet]`: every container of the state root, whoever
// made it (`run` or `create`).
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "core/sys/error.h"
#include "frontend/cli.h"
#include "frontend/verb_support.h"

namespace nucleus::frontend {

void add_list_command(CLI::App& app, Globals& g, Action& action) {
  using json = nlohmann::json;
  struct Flags {
    std::string format = "table";
    bool quiet = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("list", "List containers");
  cmd->add_option("-f,--format", f->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_flag("-q,--quiet", f->quiet, "Ids only");
  cmd->callback([f, &g, &action] {
    action = [f, &g] {
      json all = json::array();
      for (const std::string& entry : list_records(g.root)) {
        const std::string dir = g.root + "/" + entry;
        try {
          ContainerRecord r = read_container(g.root, entry);
          all.push_back(json::parse(oci_state_json(r, backend_of(r, dir)->status(r, dir), false)));
        } catch (const Error&) {
          all.push_back({{"id", entry}, {"status", "unknown"}, {"pid", 0}, {"bundle", ""}, {"created", ""}});
        }
      }
      if (f->format == "json") {
        std::cout << all.dump() << "\n";
        return 0;
      }
      if (!f->quiet) std::printf("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
      for (const json& s : all) {
        std::string name = s["id"].get<std::string>();
        if (f->quiet) {
          std::cout << name << "\n";
          continue;
        }
        std::string bundle = s["bundle"].get<std::string>();
        std::printf("%-24s %-8d %-10s %-40s %s\n", name.c_str(), s["pid"].get<int>(), s["status"].get<std::string>().c_str(),
                    bundle.empty() ? "-" : bundle.c_str(), s["created"].get<std::string>().c_str());
      }
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
