"""PSS of process trees, from /proc: what scripts/bench counts as a container's memory."""
import ctypes
import os


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(pid, kids):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


_libc = ctypes.CDLL(None, use_errno=True)
_KCMP = {"x86_64": 312, "aarch64": 272}.get(os.uname().machine)


def same_memory(a, b):
    """Two processes share one address space (CLONE_VM): kcmp(KCMP_VM) says 0."""
    return _KCMP is not None and _libc.syscall(_KCMP, a, b, 1, 0, 0) == 0


def tree_pss(pids):
    """PSS of a set of processes, each address space counted once (nucleus's cleanup keeper
    shares nucleus's: /proc reports the same pages under both pids)."""
    counted, total = [], 0
    for p in pids:
        if any(same_memory(p, q) for q in counted):
            continue
        counted.append(p)
        total += pss_kib(p)
    return total
