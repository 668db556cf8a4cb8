#!/usr/bin/env python3
"""Interleaved A/B of `nucleus run ... -- /bin/true` start-to-exit for the network's start-up
cost (docs/networking.md, "Prepared namespaces"). Each case runs in a lab of its own (a
"host" and an "upstream" namespace from bench_network.NetworkLab, its own state root), the
cases in shuffled order every round; prints medians and keeps NUCLEUS_TRACE_TIMING's marks
(TRACE=1) in /tmp/netpool/ab2-$TAG.json. SLEEP=S spaces the runs; BURST=N runs each case
N times back to back and GAP=S rests after each round (the bench's pattern: BURST=12 GAP=3);
with more than one case, also each one's difference from the first, paired by round.
Removes its namespaces and
stops the netd servers it started, also on failure. Not part of scripts/bench (which must
not run beside other engineers' containers); run it as root on a quiet machine:

  scripts/network_start_ab.py 40 none=build/nucleus bridge=build/nucleus,--network,bridge \
      fresh=build/nucleus,--network,bridge@NUCLEUS_NETWORK_POOL=0
"""
import os, sys, time, random, statistics, subprocess, json, glob
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_network as bn
ROOTFS = os.environ.get("ROOTFS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "test-rootfs"))
rounds = int(sys.argv[1])
cases = []
for i, spec in enumerate(sys.argv[2:]):
    label, rest = spec.split("=", 1)
    env = {}
    if "@" in rest:
        rest, e = rest.split("@", 1)
        k, v = e.split("=", 1); env[k] = v
    binary, *extra = rest.split(",")
    cases.append(dict(label=label, binary=binary, extra=[e for e in extra if e], env=env, i=i))
labs = []
def stop_servers(root):
    for d in glob.glob(root + "/.network"):
        for name in os.listdir(d):
            if name.startswith("netd-") and name.endswith(".lock"):
                try:
                    pid, start = (int(w) for w in open(os.path.join(d, name)).read().split())
                    stat = open("/proc/%d/stat" % pid).read()
                    if int(stat[stat.rindex(")") + 2:].split()[19]) == start: os.kill(pid, 15)
                except (OSError, ValueError): pass
try:
    for c in cases:
        bn.HOST, bn.UPSTREAM = "npool-h%d" % c["i"], "npool-u%d" % c["i"]
        work = "/tmp/netpool/work%d" % c["i"]  # removed at the end
        os.makedirs(work, exist_ok=True)
        lab = bn.NetworkLab(c["binary"], ROOTFS, work)
        labs.append(lab)
        c["lab"], c["ns"] = lab, bn.HOST
    def argv(c):
        return ["nsenter", "--net=/run/netns/" + c["ns"], c["binary"], "--root", c["lab"].root, "run", *c["extra"],
                "--rootfs", ROOTFS, "--", "/bin/true"]
    base = dict(os.environ)
    trace = bool(os.environ.get("TRACE"))
    for c in cases:
        for _ in range(3):
            subprocess.run(argv(c), env=dict(base, **c["env"]), check=True)
    time.sleep(1)
    times = {c["label"]: [] for c in cases}
    marks = {c["label"]: [] for c in cases}
    # BURST=N: each case's runs come N back to back (the bench's hyperfine rounds), and
    # GAP=S seconds of quiet follow each round's last burst (where the bench runs podman).
    burst, gap = int(os.environ.get("BURST", "1")), float(os.environ.get("GAP", "0"))
    for r in range(rounds):
        order = cases[:]; random.shuffle(order)
        for c in [c for c in order for _ in range(burst)]:
            env = dict(base, **c["env"])
            if trace: env["NUCLEUS_TRACE_TIMING"] = "1"
            t = time.perf_counter()
            p = subprocess.run(argv(c), env=env, stderr=subprocess.PIPE, text=True)
            times[c["label"]].append((time.perf_counter() - t) * 1000)
            if p.returncode != 0: print(c["label"], "failed", p.stderr); raise SystemExit(1)
            if os.environ.get("SLEEP"): time.sleep(float(os.environ["SLEEP"]))
            if gap and c is order[-1] and len(times[c["label"]]) % burst == 0: time.sleep(gap)
            m = {}
            for line in p.stderr.splitlines():
                if line.startswith("timing:"):
                    parts = line.split(); m.setdefault(" ".join(parts[5:-2]), float(parts[1]))
            marks[c["label"]].append(m)
    for label, t in times.items():
        t = sorted(t)
        print("%-16s n=%d median %6.2f ms  p25 %6.2f  p75 %6.2f" % (label, len(t), statistics.median(t), t[len(t)//4], t[3*len(t)//4]))
    # Paired by round (the machine drifts by more than the gaps): each case's round median
    # minus the first case's in the same round, then the median over the rounds.
    first = cases[0]["label"]
    per_round = {l: [statistics.median(t[r * burst:(r + 1) * burst]) for r in range(rounds)] for l, t in times.items()}
    for c in cases[1:]:
        d = sorted(per_round[c["label"]][r] - per_round[first][r] for r in range(rounds))
        print("%-16s - %s paired by round: median %+.2f ms  p25 %+.2f  p75 %+.2f" % (c["label"], first, statistics.median(d), d[len(d)//4], d[3*len(d)//4]))
    os.makedirs("/tmp/netpool", exist_ok=True)
    json.dump({"times": times, "marks": marks}, open("/tmp/netpool/ab2-%s.json" % os.environ.get("TAG", "x"), "w"))
finally:
    for c in cases:
        if "lab" in c: stop_servers(c["lab"].root)
    for c in cases:
        if "lab" in c:
            bn.HOST, bn.UPSTREAM = "npool-h%d" % c["i"], "npool-u%d" % c["i"]
            time.sleep(0.5)
            c["lab"].close()
    import shutil
    shutil.rmtree("/tmp/netpool/work", ignore_errors=True)
    for c in cases:
        shutil.rmtree("/tmp/netpool/work%d" % c["i"], ignore_errors=True)
