"""scripts/bench's network cases (issue 16), in namespaces the bench makes itself: a "host"
namespace where nucleus (and podman) make their bridges, and an "upstream" one behind a veth
that stands for the internet, with a TCP server on an address of its own. Nothing is sent
outside them and the machine's own namespace is never touched.

  * start to exit of /bin/true with `--network bridge` beside `--network none`, and podman's
    bridge beside podman's none on the same busybox rootfs (imported as an image);
  * the kernel's own floor for that: a short-lived process given what netd's netlink steps
    give a container (a veth on a bridge, addresses, routes) beside a bare namespace, with
    no runtime around them (tests/bench/net_floor.cc);
  * the cost of one new connection from inside a bridge container to the upstream server
    with 1 and with 5,000 egress rules (the container's own python3 times 2,000 connects:
    the default host view has it)."""
import json
import os
import statistics
import subprocess
import time

HOST, UPSTREAM = "nbench-host", "nbench-up"
SERVER = "203.0.113.10"  # the upstream's address (TEST-NET-3), on its loopback
PORT = 7070
IMAGE = "localhost/nucleus-bench-busybox"

CONNECT_LOOP = r"""
import socket, statistics, sys, time
t = []
for _ in range(int(sys.argv[3])):
    s = socket.socket(); a = time.perf_counter(); s.connect((sys.argv[1], int(sys.argv[2]))); t.append(time.perf_counter() - a); s.close()
print("%.1f" % (statistics.median(t) * 1e6))
"""

SERVER_LOOP = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(512); print("listening", flush=True)
while True:
    c, _ = s.accept(); c.close()
"""


def in_host_namespace(argv):
    # nsenter, not `ip netns exec`: that one mounts a new /sys, without /sys/fs/cgroup.
    return ["nsenter", "--net=/run/netns/" + HOST, *argv]


def _ip(*args):
    subprocess.run(["ip", *args], check=True, stdout=subprocess.DEVNULL)


class NetworkLab:
    def __init__(self, nucleus, rootfs, work):
        self.nucleus, self.rootfs, self.work = nucleus, rootfs, work
        self.root = os.path.join(work, "net-root")  # nucleus's state root: records and .network
        os.makedirs(self.root, mode=0o711, exist_ok=True)
        os.chmod(work, 0o711)  # as a state root's parents are: an OCI create's workload opens exec.fifo
        self.server = None
        self.podman = False
        self.image = IMAGE
        self.libpod = []
        try:
            self._make()
        except BaseException:
            self.close()  # the namespaces made so far go: the next lab's names would be taken
            raise

    def _make(self):
        for ns in (HOST, UPSTREAM):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", HOST, "link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", UPSTREAM)
        _ip("-n", HOST, "addr", "add", "198.51.100.1/24", "dev", "up0")
        _ip("-n", HOST, "link", "set", "up0", "up")
        _ip("-n", UPSTREAM, "addr", "add", "198.51.100.2/24", "dev", "eth0")
        _ip("-n", UPSTREAM, "link", "set", "eth0", "up")
        _ip("-n", UPSTREAM, "addr", "add", SERVER + "/32", "dev", "lo")
        _ip("-n", HOST, "route", "add", "default", "via", "198.51.100.2")
        _ip("-n", UPSTREAM, "route", "add", "10.0.0.0/8", "via", "198.51.100.1")
        self.server = subprocess.Popen(["ip", "netns", "exec", UPSTREAM, "python3", "-c", SERVER_LOOP, SERVER, str(PORT)],
                                       stdout=subprocess.PIPE, text=True)
        self.server.stdout.readline()

    def nucleus_run(self, *args):
        return in_host_namespace([self.nucleus, "--root", self.root, "run", *args])

    def start_cases(self, have):
        """(key, label, argv, kind) for the start-to-exit comparison."""
        out = [("net-none", "nucleus `standard`, --network none (in the lab's namespace)",
                self.nucleus_run("--rootfs", self.rootfs, "--", "/bin/true"), "nucleus"),
               ("net-bridge", "nucleus `standard`, --network bridge",
                self.nucleus_run("--network", "bridge", "--rootfs", self.rootfs, "--", "/bin/true"), "nucleus")]
        if have("podman") and self._import_image():
            podman = in_host_namespace(["podman", "run", "--rm", "--log-driver", "none"])
            out.append(("podman-none", "podman run --network none", podman + ["--network", "none", IMAGE, "/bin/true"], "peer"))
            out.append(("podman-bridge", "podman run --network bridge", podman + ["--network", "bridge", IMAGE, "/bin/true"],
                        "peer"))
        return out

    def _configure_podman(self):
        """podman's storage, network configuration and temporary files in the bench's
        directory (as ../shared/conformance/podman.sh does); cgroupfs; the rlimits this root
        may set (it lacks CAP_SYS_RESOURCE)."""
        d = os.path.join(self.work, "podman")
        for sub in ("tmp", "net"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        import resource
        nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 1048576)
        nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 32768)
        with open(os.path.join(d, "storage.conf"), "w") as f:
            f.write('[storage]\ndriver = "overlay"\nrunroot = "%s/runroot"\ngraphroot = "%s/graphroot"\n' % (d, d))
        with open(os.path.join(d, "containers.conf"), "w") as f:
            f.write('[containers]\ndefault_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]\n[engine]\ncgroup_manager = "cgroupfs"\n'
                    'events_logger = "none"\ntmp_dir = "%s/tmp"\n[network]\nnetwork_config_dir = "%s/net"\n'
                    % (nofile, nofile, nproc, nproc, d, d))
        os.environ["CONTAINERS_STORAGE_CONF"] = os.path.join(d, "storage.conf")
        os.environ["CONTAINERS_CONF"] = os.path.join(d, "containers.conf")
        # podman's conmon makes libpod_parent in every hierarchy: removed at close unless it was there.
        self.libpod = [p for p in (os.path.join("/sys/fs/cgroup", h, "libpod_parent") for h in os.listdir("/sys/fs/cgroup"))
                       if not os.path.exists(p)]

    def _import_image(self):
        self._configure_podman()
        tar = subprocess.Popen(["tar", "-C", self.rootfs, "-c", "."], stdout=subprocess.PIPE)
        r = subprocess.run(["podman", "import", "-", IMAGE], stdin=tar.stdout, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        tar.wait()
        self.podman = r.returncode == 0
        return self.podman

    def connection_cost(self, rules, connects):
        """Median microseconds of one TCP connect to the upstream with `rules` egress rules
        (the server's address among them), from a container's own python3."""
        allow = ["--egress-allow", SERVER + ":%d" % PORT]
        for i in range(rules - 1):
            allow += ["--egress-allow", "10.%d.%d.0/24" % (100 + i // 250, i % 250)]
        r = subprocess.run(self.nucleus_run("--network", "bridge", *allow, "--", "python3", "-c", CONNECT_LOOP,
                                            SERVER, str(PORT), str(connects)), capture_output=True, text=True)
        try:
            return float(r.stdout.strip())
        except ValueError:
            print("bench: connection cost with %d rules failed: %s" % (rules, r.stderr.strip()))
            return None

    def connection_costs(self, counts, rounds=8, connects=250):
        """connection_cost for each rule count, interleaved: a container of each count in
        every round, the order reversed from round to round, then the median of each count's
        round medians. One container of each, minutes apart, measured this machine's drift
        (a 1-rule median of 15.7 µs in one run, 30 in another) more than the rules."""
        seen = {n: [] for n in counts}
        for r in range(rounds):
            for n in (counts if r % 2 == 0 else list(reversed(counts))):
                cost = self.connection_cost(n, connects)
                if cost is None:
                    return {n: None for n in counts}
                seen[n].append(cost)
        return {n: statistics.median(v) for n, v in seen.items()}

    def kernel_floor(self, net_floor, rounds=10, runs=60):
        """What this kernel takes for netd's netlink steps of a bridged network, with no runtime (the
        build's net_floor, tests/bench/net_floor.cc, in the lab's host namespace): median
        milliseconds per short-lived process with a bare namespace and with a veth on a
        bridge, back to back, and the machine's CPU milliseconds per run of each."""
        try:
            r = subprocess.run(in_host_namespace([net_floor, str(rounds), str(runs)]), capture_output=True, text=True,
                               timeout=300)
        except subprocess.TimeoutExpired:
            print("bench: the kernel's floor did not finish in 300 s")
            return None
        if r.returncode != 0:
            print("bench: the kernel's floor failed: %s" % r.stderr.strip())
            return None
        d = json.loads(r.stdout)
        return {"netns": statistics.median(d["netns"]), "bridge": statistics.median(d["bridge"]),
                "cpu_netns": d["cpu_ms"]["netns"], "cpu_bridge": d["cpu_ms"]["bridge"]}

    def close(self):
        if self.server:
            self.server.kill()
            self.server.wait()
        if self.podman:
            subprocess.run(["podman", "rmi", "-f", IMAGE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(["podman", "system", "reset", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for path in self.libpod:
                for d, _, _ in sorted(os.walk(path), key=lambda e: -len(e[0])):
                    try:
                        os.rmdir(d)
                    except OSError:
                        pass
            for var in ("CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF"):
                os.environ.pop(var, None)
        # The resident netd the bench's runs started (docs/networking.md, "Processes"): stopped
        # by the pid and start time its lock file records; the containers' netds finish their
        # releases by themselves.
        net = os.path.join(self.root, ".network")
        for name in (os.listdir(net) if os.path.isdir(net) else []):
            if not (name.startswith("netd-") and name.endswith(".lock")):
                continue
            try:
                pid, start = (int(w) for w in open(os.path.join(net, name)).read().split())
                stat = open("/proc/%d/stat" % pid).read()
                if int(stat[stat.rindex(")") + 2:].split()[19]) == start:
                    os.kill(pid, 15)
                    # Its teardown (standbys, the bridge's rules) before the namespace goes.
                    for _ in range(200):
                        if not os.path.exists("/proc/%d" % pid):
                            break
                        time.sleep(0.01)
            except (OSError, ValueError):
                pass
        # nucleus's bridge, tables and leases live in HOST: gone with it (releases ran).
        for ns in (HOST, UPSTREAM):
            subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
