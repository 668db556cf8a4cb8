"""Detached containers (docs/services.md) for scripts/bench: how long `nucleus run -d` takes
to return (beside the foreground start of the same container), and the idle PSS of a
service's monitor beside podman's conmon for the same container."""
import json
import os
import statistics
import subprocess
import time

from bench_procmem import children_map, comm, pss_kib, tree, tree_pss


def _quiet(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **kw)


def detached_return_ms(nucleus, rootfs, work, runs):
    """Median ms from exec to exit of `nucleus run -d ... sleep 600` (the container started and
    its monitor holding it), each service removed after its run."""
    root = os.path.join(work, "services")
    times = []
    for i in range(runs):
        name = "bench-d-%d" % i
        start = time.monotonic()
        p = _quiet([nucleus, "--root", root, "run", "-d", "--name", name, "--rootfs", rootfs, "--", "/bin/sleep", "600"])
        times.append((time.monotonic() - start) * 1000)
        _quiet([nucleus, "--root", root, "rm", "-f", name])
        if p.returncode != 0:
            raise SystemExit("bench: nucleus run -d failed")
    return statistics.median(times)


def monitor_pss_kib(nucleus, rootfs, work):
    """The idle PSS (KiB) of what holds one service, 2 s after its container started: the
    monitor, the run it forked (the container's session) and that run's cleanup keeper; not
    the container's own processes (its PID-1 supervisor and the workload), which conmon's
    figure leaves out too."""
    root = os.path.join(work, "services")
    name = "bench-pss"
    try:
        p = _quiet([nucleus, "--root", root, "run", "-d", "--name", name, "--rootfs", rootfs, "--", "/bin/sleep", "600"])
        if p.returncode != 0:
            return None
        time.sleep(2)  # idle: the monitor and its run give back their start-up pages after 1 s
        info = json.loads(_quiet([nucleus, "--root", root, "inspect", name]).stdout)[0]
        kids = children_map()
        container = set()
        for pid in tree(info["monitor_pid"], kids):
            if comm(pid) == "nucleus-init":
                container.update(tree(pid, kids))
        return tree_pss([pid for pid in tree(info["monitor_pid"], kids) if pid not in container])
    finally:
        _quiet([nucleus, "--root", root, "rm", "-f", name])


def conmon_pss_kib(image):
    """The idle PSS (KiB) of podman's conmon for the same container (the busybox rootfs as the
    image podman was given, sleep); podman configured by the caller (bench_network.NetworkLab:
    cgroupfs, the rlimits this root may set, storage of the bench's own)."""
    name = "nucleus-bench-conmon"
    try:
        p = _quiet(["podman", "run", "-d", "--name", name, "--network", "none", "--log-driver", "none", image,
                    "/bin/sleep", "600"])
        if p.returncode != 0:
            return None
        time.sleep(2)
        pid = _quiet(["podman", "inspect", "--format", "{{.State.ConmonPid}}", name]).stdout.strip()
        return pss_kib(int(pid)) if pid.isdigit() else None
    finally:
        _quiet(["podman", "rm", "-f", "-t", "0", name])
