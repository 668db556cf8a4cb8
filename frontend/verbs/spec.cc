// `nucleus spec [--rootless] [--bundle DIR]`: a default config.json, in the shape runc and
// crun write.
#include <fcntl.h>
#include <unistd.h>

#include "config/oci/oci_config.h"
#include "core/sys/error.h"
#include "core/sys/sys.h"
#include "frontend/cli.h"

namespace nucleus::frontend {

void add_spec_command(CLI::App& app, Action& action) {
  struct Flags {
    bool rootless = false;
    std::string bundle = ".";
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("spec", "Write a default config.json");
  cmd->add_flag("--rootless", f->rootless, "For a non-root caller (a user namespace mapping the caller)");
  cmd->add_option("-b,--bundle", f->bundle, "Where to write it (default: the current directory)");
  cmd->callback([f, &action] {
    action = [f] {
      std::string path = f->bundle + "/config.json";
      UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (!out) {
        if (errno == EEXIST) throw Error("spec", path + " exists: remove it first");
        throw_errno("spec: write", path);
      }
      std::string text = default_oci_config(f->rootless).dump(2) + "\n";
      if (sys::write_all(out.get(), text.data(), text.size()) != 0) throw_errno("spec: write", path);
      return 0;
    };
  });
}

}  // namespace nucleus::frontend
