"""Detached containers (docs/services.md) for scripts/bench: how long `nucleus run -d` takes
to return (beside the foreground start of the same container), and the idle PSS of a
service's monitor beside podman's conmon for the same container."""
import json
import os
import statistics
import subprocess
import time

from bench_procmem import pss_kib


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
    """The idle PSS (KiB) of one service's monitor, 2 s after its container started."""
    root = os.path.join(work, "services")
    name = "bench-pss"
    try:
        p = _quiet([nucleus, "--root", root, "run", "-d", "--name", name, "--rootfs", rootfs, "--", "/bin/sleep", "600"])
        if p.returncode != 0:
            return None
        time.sleep(2)  # idle: the monitor gives back its start-up pages after 1 s
        info = json.loads(_quiet([nucleus, "--root", root, "inspect", name]).stdout)[0]
        return pss_kib(info["monitor_pid"])  # its keeper shares its pages
    finally:
        _quiet([nucleus, "--root", root, "rm", "-f", name])


def conmon_pss_kib(rootfs, have):
    """The idle PSS (KiB) of podman's conmon for the same container (busybox rootfs, sleep)."""
    if not have("podman"):
        return None
    name = "nucleus-bench-conmon"
    try:
        p = _quiet(["podman", "run", "-d", "--name", name, "--network", "none", "--rootfs", rootfs, "/bin/sleep", "600"])
        if p.returncode != 0:
            return None
        time.sleep(2)
        pid = _quiet(["podman", "inspect", "--format", "{{.State.ConmonPid}}", name]).stdout.strip()
        return pss_kib(int(pid)) if pid.isdigit() else None
    finally:
        _quiet(["podman", "rm", "-f", "-t", "0", name])
