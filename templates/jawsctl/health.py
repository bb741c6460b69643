"""The health gate of a deploy, and what runs now (status, pids)."""

import json
import sys
import time

from . import probes
from .connection import info_by_name

RUNNING_STATES = {"RUNNING"}
FAILED_STATES = {"FATAL", "UNKNOWN"}


def verdict(program, info):
    """"ok", "failed" or "waiting" for one process of `program` (its manifest entry) in state `info`."""
    state = info["statename"]
    if program["oneShot"]:
        if state == "EXITED":
            return "ok" if info["exitstatus"] in program["exitcodes"] else "failed"
        if state == "RUNNING":
            return "ok"
    elif state in RUNNING_STATES:
        return "ok"
    if state in FAILED_STATES or state == "EXITED":
        return "failed"
    return "waiting"  # STARTING, BACKOFF (retrying), STOPPED (about to be started)


def verdicts(manifest, infos):
    """The verdict of every process of every autostart program of `manifest`, by "group:process"."""
    wanted = [(p, "%s:%s" % (manifest["group"], proc)) for p in manifest["programs"] if p["autostart"] for proc in p["processes"]]
    return {full: verdict(p, infos[full]) if full in infos else "waiting" for p, full in wanted}


def fmt_uptime(info):
    if info["statename"] != "RUNNING":
        return "-"
    secs = max(0, info["now"] - info["start"])
    return "%d:%02d:%02d" % (secs // 3600, secs % 3600 // 60, secs % 60)


def print_status(infos, out=None):
    out = out or sys.stdout
    out.write("%-40s %-9s %8s %10s  %s\n" % ("PROCESS", "STATE", "PID", "UPTIME", "DESCRIPTION"))
    for full in sorted(infos):
        i = infos[full]
        out.write("%-40s %-9s %8s %10s  %s\n" % (full, i["statename"], i["pid"] or "-", fmt_uptime(i), i["description"]))


def pids_json(infos):
    """{"group:process": pid (0 when not running)} as JSON."""
    return json.dumps({k: v["pid"] for k, v in infos.items()}, sort_keys=True)


def health(s, manifest, timeout, out=None, err=None, sleep=time.sleep, d=None, runner=probes.run):
    """Waits up to `timeout` seconds until every autostart process of `manifest` is ok and every
    probe of those programs has passed `successes` times in a row (a probe runs once its program's
    processes are RUNNING, then every `intervalSeconds`; results go to state/probes.json of `d`).
    A failed process ends the wait at once; a failing probe fails at the timeout (a service may
    take a while to answer). On failure: the bad processes, the status, the probes' last output and
    the processes' log tails on `err`, and SystemExit(1)."""
    out, err = out or sys.stdout, err or sys.stderr
    deadline = time.time() + timeout
    gated = [p for p in probes.probed(manifest) if p["autostart"] and not p["oneShot"]] if d else []
    state = probes.load_state(d) if gated else {}
    passes = {p["name"]: 0 for p in gated}
    due = {p["name"]: 0.0 for p in gated}
    while True:
        infos = info_by_name(s)
        v = verdicts(manifest, infos)
        failed = sorted(f for f, x in v.items() if x == "failed")
        waiting = sorted(f for f, x in v.items() if x == "waiting")
        for p in gated:
            n = p["name"]
            if passes[n] < p["probe"]["successes"] and time.time() >= due[n] and probes.running(manifest, p, infos):
                e = probes.observe(d, state, p, runner=runner)
                passes[n] = passes[n] + 1 if e["ok"] else 0
                due[n] = time.time() + p["probe"]["intervalSeconds"]
                probes.save_state(d, state)
        unproven = [p for p in gated if passes[p["name"]] < p["probe"]["successes"]]
        if not failed and not waiting and not unproven:
            out.write("health: %d process(es) up%s\n" % (len(v), ", %d probe(s) passing" % len(gated) if gated else ""))
            return
        if failed or time.time() > deadline:
            break
        sleep(0.5)
    bad = failed or waiting
    if bad:
        err.write("health gate failed: %s %s\n" % (", ".join(bad), "did not start" if failed else "not RUNNING after %gs" % timeout))
    failing = [p for p in unproven if not failed and not waiting]
    for p in failing:
        e = state.get(p["name"])
        full = "%s:%s" % (manifest["group"], p["name"])
        last = e["detail"] if e and "detail" in e else "never ran (not RUNNING)"
        err.write(
            "health gate failed: %s is RUNNING but its probe (%s) did not pass %d time(s) in a row within %gs; last result: %s\n"
            % (full, probes.describe(p["probe"]), p["probe"]["successes"], timeout, last)
        )
        bad = bad + ["%s:%s" % (manifest["group"], proc) for proc in p["processes"]]
    print_status(infos, err)
    for full in bad:
        for stream, fn in (("stdout", s.supervisor.tailProcessStdoutLog), ("stderr", s.supervisor.tailProcessStderrLog)):
            try:
                text = fn(full, 0, 2000)[0]
            except Exception:
                continue
            if text.strip():
                err.write("--- last %s of %s ---\n%s\n" % (stream, full, text.rstrip()[-2000:]))
    raise SystemExit(1)
