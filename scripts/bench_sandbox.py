#!/usr/bin/python3
"""scripts/bench's sandbox cases: nucleusd through its API (docs/api.md).

    scripts/bench_sandbox.py [--runs N] [--quick] [--backend B]... [--no-agent]
                                                     (standalone: prints a table)

Per backend (native, gVisor):
  * claim to first output: POST /v1/sandboxes, then POST .../exec of `echo hi`, timed until
    the first stdout frame arrives; with a warm pool (as large as the clients, refilled
    between rounds so that every claim is a hit) and with an empty one (cold), with 1 and
    with 20 concurrent clients; p50 and p99;
  * exec round trip into a live sandbox: POST .../exec of /bin/true until the exit frame;
  * the floor: 1 and 20 bare execs of the sandboxes' echo (the test rootfs's static
    busybox) on the host released together, timed to their first output by client
    processes as the claims are, warmed as they are (no container, no daemon, no HTTP):
    what no sandbox service can beat on this machine.
Claim to first output is timed by a client process per concurrent client (the build's
claim_client, tests/bench/claim_client.cc: started, and warmed by an untimed request,
before the first round; released together each round by a line on its stdin; stopped
after the last round), on raw sockets with its requests built before the clock starts:
the same two requests through the same API, each on a connection of its own, timed from
before the POST's connect to the read that brings the first stdout frame. (Until issue
18's load work it was 20 threads of one Python process using http.client, which cost
1.1-1.6 ms of CPU per claim under one GIL; then a Python process per client on raw
sockets, 0.22-0.31 ms of CPU a claim; the C++ client's is a fraction of that.)
Every sandbox is deleted after its sample (untimed); the daemon has its own state root.
--no-agent starts nucleusd with --agent none: every exec is a `nucleus exec` (the path
before the exec agent, docs/api.md "Exec through the agent").
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
CLIENT = os.path.join(BUILD, "claim_client")  # the timed client processes (tests/bench/claim_client.cc)


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("nucleusd")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(sock, method, target, body=None):
    c = UnixConnection(sock)
    c.request(method, target, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def exec_until(sock, sid, argv, first_output):
    """Runs argv; returns when the first stdout frame (first_output) or the exit frame came."""
    c = UnixConnection(sock)
    c.request("POST", "/v1/sandboxes/%s/exec" % sid, body=json.dumps({"argv": argv}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError("exec: %d %s" % (r.status, r.read()))
    buf = b""
    while True:
        chunk = r.read1(65536) if hasattr(r, "read1") else r.read(1)
        if not chunk:
            break
        buf += chunk
        if first_output and b'"stream":"stdout"' in buf:
            break
        if b'"exit_code"' in buf:
            break
    c.close()
    return buf


def percentile(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


class Daemon:
    extra_args = []  # --no-agent: ["--agent", "none"]

    def __init__(self, work, backend, pool):
        self.dir = tempfile.mkdtemp(prefix="bench-%s-" % backend, dir=work)
        self.sock = os.path.join(self.dir, "d.sock")
        with open(os.path.join(self.dir, "t.yaml"), "w") as f:
            f.write("templates:\n  default:\n    backend: %s\n    rootfs: %s\n    pool: %d\n    max_sandboxes: 64\n"
                    % (backend, os.path.join(BUILD, "test-rootfs"), pool))
        self.pool = pool
        self.proc = subprocess.Popen([os.path.join(BUILD, "nucleusd"), "--socket", self.sock, "--root",
                                      os.path.join(self.dir, "state"), "-f", os.path.join(self.dir, "t.yaml"),
                                      "--log-level", "warning"] + Daemon.extra_args)
        for _ in range(3000):
            try:
                if call(self.sock, "GET", "/v1/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.01)
        self.wait_pool()

    def wait_pool(self, deadline=300):
        end = time.monotonic() + deadline
        while self.pool and time.monotonic() < end:
            metrics = call(self.sock, "GET", "/metrics")[1].decode()
            for line in metrics.splitlines():
                if line.startswith("nucleus_pool_ready{") and int(line.split()[-1]) >= self.pool:
                    return
            time.sleep(0.05)

    def stop(self):
        _, body = call(self.sock, "GET", "/v1/sandboxes")
        for s in json.loads(body)["sandboxes"]:
            call(self.sock, "DELETE", "/v1/sandboxes/" + s["id"])
        self.proc.terminate()
        self.proc.wait()


def released_together(worker, clients, rounds, between_rounds=lambda rests: None):
    """Samples from `clients` client processes (the build's claim_client with the `worker`
    arguments, tests/bench/claim_client.cc),
    started and warmed before the first round and stopped (stdin closed) only after the
    last round has ended, so that no client's start or exit runs beside a timed one. Each
    round releases them all together by a line on their stdin; each answers "MS REST" (or
    "error WHY"); between_rounds(the rounds' RESTs) runs untimed after each round."""
    workers = [subprocess.Popen([CLIENT, *worker],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(clients)]
    samples = []
    try:
        for w in workers:
            if w.stdout.readline().strip() != "ready":
                raise RuntimeError("a client process did not start")
        for _ in range(rounds):
            for w in workers:
                w.stdin.write("go\n")
                w.stdin.flush()
            rests = []
            for w in workers:
                first, _, rest = w.stdout.readline().strip().partition(" ")
                if first in ("error", ""):
                    raise RuntimeError(rest or "a client process ended")
                samples.append(float(first))
                rests.append(rest)
            between_rounds(rests)
    finally:
        for w in workers:
            w.stdin.close()
        for w in workers:
            try:
                w.wait(timeout=10)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
    return samples


def claim_to_first_output(d, clients, rounds):
    def delete_and_refill(ids):
        for sid in ids:
            call(d.sock, "DELETE", "/v1/sandboxes/" + sid)
        d.wait_pool()
    return released_together(["claim", d.sock], clients, rounds, delete_and_refill)


ECHO = os.path.join(BUILD, "test-rootfs", "bin", "busybox")  # the sandboxes' own echo


def bare_exec_floor(clients, rounds):
    """What no sandbox service can beat here: `clients` bare execs of the sandboxes' echo on
    the host released together (no container, no daemon, no HTTP), by client processes as
    the claims' are."""
    return released_together(["echo", ECHO], clients, rounds)


def exec_round_trip(d, runs):
    status, body = call(d.sock, "POST", "/v1/sandboxes", {})
    sid = json.loads(body)["id"]
    samples = []
    for _ in range(runs):
        t0 = time.monotonic()
        exec_until(d.sock, sid, ["/bin/true"], first_output=False)
        samples.append((time.monotonic() - t0) * 1000)
    call(d.sock, "DELETE", "/v1/sandboxes/" + sid)
    return samples


def run_all(work, runs, backends=("native", "gvisor"), log=lambda s: None):
    """{backend: {case: {"p50", "p99", "n"}}} for every case in the module's docstring."""
    # The floor first: the same clients, each exec'ing echo on the bare host.
    log("sandbox: the floor, bare execs of echo on the host")
    results = {"host, no sandbox": {"%d bare exec%s of echo at once, to first output (the floor)" % (n, "s" if n > 1 else ""):
                                    summary(bare_exec_floor(n, max(1, runs // n))) for n in (1, 20)}}
    for backend in backends:
        r = results[backend] = {}
        for label, pool in (("warm", 20), ("cold", 0)):
            log("sandbox %s: claim to first output, %s" % (backend, label))
            d = Daemon(work, backend, pool)
            try:
                for clients in (1, 20):
                    rounds = max(1, runs // clients)
                    s = claim_to_first_output(d, clients, rounds)
                    r["%s, %d client%s" % (label, clients, "s" if clients > 1 else "")] = summary(s)
                if label == "cold":
                    log("sandbox %s: exec round trip" % backend)
                    r["exec round trip (/bin/true)"] = summary(exec_round_trip(d, runs))
            finally:
                d.stop()
    return results


def summary(samples):
    return {"p50": statistics.median(samples), "p99": percentile(samples, 99), "n": len(samples)}


def table(results):
    lines = ["| backend | case | p50 ms | p99 ms | samples |", "| --- | --- | ---: | ---: | ---: |"]
    for backend, cases in results.items():
        for case, s in cases.items():
            lines.append("| %s | %s | %.1f | %.1f | %d |" % (backend, case, s["p50"], s["p99"], s["n"]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description="nucleusd sandbox benchmarks")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--backend", action="append")
    ap.add_argument("--no-agent", action="store_true")
    args = ap.parse_args()
    if args.no_agent:
        Daemon.extra_args = ["--agent", "none"]
    if args.quick:
        args.runs = 20
    work = tempfile.mkdtemp(prefix="nucleus-bench-sandbox-")
    try:
        results = run_all(work, args.runs, tuple(args.backend or ("native", "gvisor")),
                          log=lambda s: print("bench: " + s, file=sys.stderr, flush=True))
        print(table(results))
    finally:
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
