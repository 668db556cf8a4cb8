"""scripts/bench's exec cases: one more process in a running container, nucleus beside
`crun exec` and `runsc exec`, each into a container of its own kind that idles meanwhile."""
import json
import os
import subprocess
import time


def _wait_listed(nucleus, cid, deadline=30):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        r = subprocess.run([nucleus, "list", "--format", "json"], capture_output=True, text=True)
        try:
            if any(c.get("id") == cid and c.get("status") == "running" for c in json.loads(r.stdout or "[]")):
                return True
        except ValueError:
            pass
        time.sleep(0.05)
    return False


class ExecTargets:
    """Starts the idle containers; cases() gives the exec command lines; stop() ends them."""

    def __init__(self, nucleus, rootfs, work, bundles, have, run):
        self.nucleus, self.rootfs, self.work, self.have, self.run = nucleus, rootfs, work, have, run
        self.procs, self.cleanup = [], []
        self.available = {}
        sleep = ["/bin/sleep", "600"]
        native = "bench-exec-native"
        self.procs.append(subprocess.Popen([nucleus, "run", "--name", native, "--rootfs", rootfs, "--"] + sleep))
        self.available["nucleus-exec"] = _wait_listed(nucleus, native) and [nucleus, "exec", native, "/bin/true"]
        if have("crun"):
            root = os.path.join(work, "crun-exec")
            run(["crun", "--root", root, "run", "--detach", "--bundle", bundles["sleep"], "bench-exec-crun"])
            self.cleanup.append(["crun", "--root", root, "delete", "--force", "bench-exec-crun"])
            self.available["crun-exec"] = ["crun", "--root", root, "exec", "bench-exec-crun", "/bin/true"]
        if have("runsc"):
            gv = "bench-exec-gvisor"
            self.procs.append(subprocess.Popen([nucleus, "run", "--name", gv, "--isolation", "untrusted", "--rootfs",
                                                rootfs, "--read-only", "--"] + sleep))
            self.available["nucleus-gvisor-exec"] = _wait_listed(nucleus, gv) and [nucleus, "exec", gv, "/bin/true"]
            # What containerd's shim asks of a running container after each step, and its
            # stop: state, and a signal the workload ignores (SIGWINCH).
            if self.available["nucleus-gvisor-exec"]:
                self.available["nucleus-gvisor-state"] = [nucleus, "state", gv]
                self.available["nucleus-gvisor-kill"] = [nucleus, "kill", gv, "WINCH"]
            # The bundle nucleus writes for runsc, its command idling.
            bundle = os.path.join(work, "bundle-gvisor-sleep")
            os.makedirs(bundle, exist_ok=True)
            with open(os.path.join(bundles["gvisor"], "config.json")) as f:
                config = json.load(f)
            config["process"]["args"] = config["process"]["args"][:2] + sleep
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(config, f)
            flags = ["--root=" + os.path.join(work, "runsc-exec"), "--platform=ptrace", "--network=none",
                     "--ignore-cgroups", "--oci-seccomp", "--overlay2=none"]
            run(["runsc", *flags, "create", "--bundle", bundle, "bench-exec-runsc"])
            run(["runsc", *flags, "start", "bench-exec-runsc"])
            self.cleanup.append(["runsc", *flags, "delete", "--force", "bench-exec-runsc"])
            self.available["runsc-exec"] = ["runsc", *flags, "exec", "bench-exec-runsc", "/bin/true"]
            self.available["runsc-state"] = ["runsc", *flags, "state", "bench-exec-runsc"]
            self.available["runsc-kill"] = ["runsc", *flags, "kill", "bench-exec-runsc", "WINCH"]

    def stop(self):
        for argv in self.cleanup:
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in ("bench-exec-native", "bench-exec-gvisor"):
            subprocess.run([self.nucleus, "delete", "--force", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
