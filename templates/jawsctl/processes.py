"""Leftovers of a supervisord that nobody can reach.

After supervisord was killed (SIGKILL, OOM) its programs keep running, reparented to init; after
the instance directory was wiped under a live supervisord, that supervisord can no longer be
reached (socket and key gone). Starting a new one then would run every program twice: reap
stops both first. Only processes of the calling user are looked at (/proc).
"""

import os
import signal
import time

from .config import endpoint


def parse_stat(text):
    """(state, ppid) from the text of /proc/PID/stat (the command name may hold spaces and ')')."""
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def ancestors(pid):
    """`pid` and every parent up to init."""
    out = {pid}
    while pid > 1:
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = parse_stat(f.read())[1]
        except (OSError, ValueError, IndexError):
            break
        out.add(pid)
    return out


def own_processes():
    """(pid, argv, environment) of every process of this user but this one and its ancestors
    (never the deploy itself, run from a program, say)."""
    uid = os.getuid()
    skip = ancestors(os.getpid())
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in skip:
            continue
        pid = int(name)
        try:
            if os.stat("/proc/%d" % pid).st_uid != uid:
                continue
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = [x.decode(errors="replace") for x in f.read().split(b"\0") if x]
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = dict(x.decode(errors="replace").split("=", 1) for x in f.read().split(b"\0") if b"=" in x)
        except (OSError, ValueError):
            continue  # gone meanwhile, or a zombie
        if argv:
            yield pid, argv, env


def is_supervisord_of(argv, conf):
    """argv runs a supervisord with config file `conf` (a normalised path)."""
    return any(os.path.basename(x) == "supervisord" for x in argv) and any(
        argv[i] == "-c" and os.path.normpath(argv[i + 1]) == conf for i in range(len(argv) - 1)
    )


def is_program_of(env, urls):
    """The environment is that of a program started by a supervisord serving one of `urls`."""
    return env.get("SUPERVISOR_ENABLED") == "1" and env.get("SUPERVISOR_SERVER_URL") in urls


def alive(pid):
    """Running, and not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return parse_stat(f.read())[0] not in ("Z", "X")
    except (OSError, ValueError, IndexError):
        return False


def terminate(pids, timeout, group=False, watch=None):
    """SIGTERM (to the process, or its process group), wait until `watch` is gone, then SIGKILL."""
    kill = os.killpg if group else os.kill
    watch = watch or pids
    for pid in pids:
        try:
            kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.time() + timeout
    while any(alive(p) for p in watch) and time.time() < deadline:
        time.sleep(0.2)
    if any(alive(p) for p in watch):
        for pid in pids:
            try:
                kill(pid, signal.SIGKILL)
            except OSError:
                pass


def reap(d, conf, timeout, out=print):
    """Stops a supervisord of `conf` that cannot be reached, then the programs a dead one left."""
    conf = os.path.normpath(conf)
    urls = {endpoint(conf)[1]} if os.path.exists(conf) else set()
    urls.add("unix://" + os.path.join(d, "run", "supervisor.sock"))
    strays = [pid for pid, argv, _ in own_processes() if is_supervisord_of(argv, conf)]
    if strays:
        # SIGTERM is supervisord's shutdown: it stops its programs the usual way first.
        out("stopping supervisord of this instance that cannot be reached: pid %s" % ", ".join(map(str, strays)))
        terminate(strays, timeout)
    orphans = {}
    for pid, _, env in own_processes():
        if is_program_of(env, urls):
            try:
                orphans.setdefault(os.getpgid(pid), []).append(pid)
            except OSError:
                pass
    if orphans:
        # supervisord starts each program as its own process group: stop whole groups.
        members = sorted(p for ps in orphans.values() for p in ps)
        out("stopping programs left running by a dead supervisord: pid %s" % ", ".join(map(str, members)))
        terminate(list(orphans), 10, group=True, watch=members)
