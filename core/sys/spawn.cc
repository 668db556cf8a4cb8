#include "core/sys/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

namespace nucleus::sys {

pid_t spawn(const char* path, char* const argv[], SpawnStdio stdio, bool new_session) noexcept {
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  const int wanted[3] = {stdio.in, stdio.out, stdio.err};
  for (int target = 0; target < 3; ++target) {
    if (wanted[target] >= 0) {
      posix_spawn_file_actions_adddup2(&files, wanted[target], target);  // dup2 clears close-on-exec
    } else {
      posix_spawn_file_actions_addopen(&files, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0);
    }
  }
  posix_spawn_file_actions_addclosefrom_np(&files, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                     (new_session ? POSIX_SPAWN_SETSID : 0)));
  pid_t pid = -1;
  int err = ::posix_spawn(&pid, path, &files, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  return err != 0 ? -err : pid;
}

}  // namespace nucleus::sys
