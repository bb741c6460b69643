"""Health probes (a program's `healthCheck`): run on the host, from the instance's own runtime
(not listed in __init__.py on purpose: a change there restarts supervisord everywhere).

A probe is an entry of state/programs.json (`probe`): a TCP connect, an HTTP GET or a command
run through the program's probe wrapper (bin/<name>@probe.sh: the program's environment, the
probe's argv, no shell line). Every run is recorded in state/probes.json, per program:
{"ok", "detail", "at" (epoch s), "passes" and "fails" (in a row), "restarts" (by ensure, counted until a
probe passes BACKOFF_RESET seconds after the last one), "lastRestart"}; the health gate, the status command and the ensure script read
and add to it.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

BODY_LIMIT = 65536
DETAIL_LIMIT = 400
# ensure's back-off between restarts never grows beyond this (seconds).
BACKOFF_CAP = 3600
# A passing probe this long after ensure's last restart ends the back-off (restarts count from 0 again):
# a service that passes for a while after a restart and then hangs again is not restarting in a loop.
BACKOFF_RESET = 600


def state_path(d):
    return os.path.join(d, "state", "probes.json")


def load_state(d):
    try:
        with open(state_path(d)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def save_state(d, state):
    tmp = "%s.new.%d" % (state_path(d), os.getpid())
    with open(tmp, "w") as f:
        json.dump(state, f, sort_keys=True)
    os.replace(tmp, state_path(d))


def describe(probe):
    """One short line naming the probe (never a body or an output)."""
    kind = probe["kind"]
    if kind == "tcp":
        return "tcp %s:%d" % (probe["host"], probe["port"])
    if kind == "http":
        return "http %s" % probe["url"]
    return "command %s" % os.path.basename(probe["wrapper"])


def _short(text):
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 3] + "..."


def run_tcp(probe):
    try:
        with socket.create_connection((probe["host"], probe["port"]), timeout=probe["timeoutSeconds"]):
            return True, "connected to %s:%d" % (probe["host"], probe["port"])
    except OSError as e:
        return False, "%s:%d: %s" % (probe["host"], probe["port"], e.strerror or e)


class _NoRedirectErrors(urllib.request.HTTPErrorProcessor):
    """Every status is an answer: the probe decides what passes."""

    def http_response(self, request, response):
        return response

    https_response = http_response


def run_http(probe):
    # No proxy: the probe asks the program on this host, whatever the user's http_proxy says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirectErrors())
    try:
        with opener.open(urllib.request.Request(probe["url"], method="GET"), timeout=probe["timeoutSeconds"]) as r:
            status = r.status
            body = r.read(BODY_LIMIT).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        return False, "GET %s: %s" % (probe["url"], reason)
    expect = probe["expectStatus"]
    if not (status in expect if expect else 200 <= status < 300):
        return False, "GET %s: HTTP %d (expected %s): %s" % (
            probe["url"],
            status,
            ",".join(map(str, expect)) if expect else "2xx",
            _short(body),
        )
    match = probe.get("bodyMatch")
    if match is not None and match not in body:
        return False, "GET %s: HTTP %d, body does not contain %s: %s" % (probe["url"], status, json.dumps(match), _short(body))
    return True, "HTTP %d" % status


def run_command(d, probe):
    """The probe wrapper in its own process group (killed whole at the timeout); its output merged."""
    try:
        p = subprocess.Popen(
            [probe["wrapper"]],
            cwd=probe.get("directory") or d,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as e:
        return False, "cannot run %s: %s" % (probe["wrapper"], e)
    try:
        out, _ = p.communicate(timeout=probe["timeoutSeconds"])
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = p.communicate()
        return False, "timed out after %ss: %s" % (probe["timeoutSeconds"], _short(out.decode("utf-8", "replace")))
    text = _short(out.decode("utf-8", "replace"))
    if p.returncode == 0:
        return True, "exit 0" + (": " + text if text else "")
    return False, "exit %d: %s" % (p.returncode, text)


def run(d, probe):
    """(passed, detail) of one run of `probe`."""
    kind = probe["kind"]
    if kind == "tcp":
        return run_tcp(probe)
    if kind == "http":
        return run_http(probe)
    if kind == "command":
        return run_command(d, probe)
    return False, "unknown probe kind %r" % kind


def record(state, name, ok, detail, now):
    """Adds one run's result to the program's entry of `state`; returns the entry."""
    e = state.setdefault(name, {"passes": 0, "fails": 0, "restarts": 0, "lastRestart": 0})
    e.update(ok=ok, detail=detail, at=now)
    if ok:
        e["passes"], e["fails"] = e.get("passes", 0) + 1, 0
        if now - e.get("lastRestart", 0) >= BACKOFF_RESET:
            e["restarts"] = 0
    else:
        e["passes"], e["fails"] = 0, e.get("fails", 0) + 1
    return e


def observe(d, state, program, now=None, runner=run):
    """Runs the program's probe once and records it (the caller saves `state`)."""
    ok, detail = runner(d, program["probe"])
    return record(state, program["name"], ok, detail, time.time() if now is None else now)


def probed(manifest):
    """The programs of `manifest` that have a probe."""
    return [p for p in manifest["programs"] if p.get("probe")]


def running(manifest, program, infos):
    """Every process of `program` is RUNNING."""
    names = ["%s:%s" % (manifest["group"], proc) for proc in program["processes"]]
    return bool(names) and all(infos.get(n, {}).get("statename") == "RUNNING" for n in names)


def fmt_age(secs):
    secs = int(max(0, secs))
    if secs < 60:
        return "%ds" % secs
    if secs < 3600:
        return "%dm%02ds" % (secs // 60, secs % 60)
    return "%dh%02dm" % (secs // 3600, secs % 3600 // 60)


def result_word(program, entry):
    if entry is None or entry.get("ok") is None:
        return "-"
    if entry["ok"]:
        return "PASS"
    return "FAILING" if entry.get("fails", 0) >= program["probe"]["failures"] else "FAIL"


def status_rows(d, manifest, infos, now=None, runner=run):
    """(program, probe, result, age, detail) of every probed program; a probe of a running
    program whose last run is older than its interval runs first (and is recorded)."""
    now = time.time() if now is None else now
    state = load_state(d)
    changed = False
    rows = []
    for p in probed(manifest):
        entry = state.get(p["name"])
        if running(manifest, p, infos):
            if entry is None or now - entry.get("at", 0) >= p["probe"]["intervalSeconds"]:
                entry = observe(d, state, p, now, runner)
                changed = True
            word, age, detail = result_word(p, entry), fmt_age(now - entry["at"]), entry["detail"]
        else:
            word, age, detail = "-", "-", "not running"
            if entry and entry.get("at"):
                detail = "not running (last: %s %s ago)" % (result_word(p, entry), fmt_age(now - entry["at"]))
        rows.append(("%s:%s" % (manifest["group"], p["name"]), describe(p["probe"]), word, age, detail))
    if changed:
        save_state(d, state)
    return rows


def print_rows(rows, out):
    if not rows:
        return
    out.write("\n%-40s %-30s %-8s %7s  %s\n" % ("PROBE", "CHECK", "RESULT", "AGE", "DETAIL"))
    for r in rows:
        out.write("%-40s %-30s %-8s %7s  %s\n" % r)


def backoff(program, entry):
    """Seconds ensure waits after its last restart before the next: interval x 2^restarts (capped)."""
    k = entry.get("restarts", 0)
    return 0 if k == 0 else min(BACKOFF_CAP, program["probe"]["intervalSeconds"] * 2**k)


def log_line(d, text, now):
    line = "%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), text)
    with open(os.path.join(d, "log", "probes.log"), "a") as f:
        f.write(line)
    return line


def ensure(s, d, manifest, infos, out, now=None, runner=run):
    """ensure's probe round: each RUNNING program with `restartOnProbeFailures` is probed once; one
    whose probe failed that many times in a row is restarted, unless it is in its back-off. Every
    failure, restart and back-off is logged (log/probes.log and `out`). Returns the restarted names."""
    now = time.time() if now is None else now
    state = load_state(d)
    restarted = []
    for p in probed(manifest):
        limit = p.get("restartOnProbeFailures")
        if not limit or not running(manifest, p, infos):
            continue
        e = observe(d, state, p, now, runner)
        if e["ok"]:
            continue
        name = "%s:%s" % (manifest["group"], p["name"])
        msg = "probe of %s failed (%d in a row of %d): %s" % (name, e["fails"], limit, e["detail"])
        if e["fails"] < limit:
            out.write(log_line(d, msg, now))
            continue
        wait = backoff(p, e) - (now - e.get("lastRestart", 0))
        if wait > 0:
            out.write(log_line(d, "%s; restart %d held back: back-off, %ds left" % (msg, e["restarts"] + 1, int(wait) + 1), now))
            continue
        for proc in p["processes"]:
            full = "%s:%s" % (manifest["group"], proc)
            try:
                s.supervisor.stopProcess(full, True)
            except Exception as ex:  # NOT_RUNNING: it died meanwhile; start it all the same
                if "NOT_RUNNING" not in str(ex):
                    raise
            s.supervisor.startProcess(full, False)
        e["restarts"], e["lastRestart"], e["fails"] = e.get("restarts", 0) + 1, now, 0
        out.write(log_line(d, "%s; restarted (restart %d; next back-off %ds)" % (msg, e["restarts"], backoff(p, e)), now))
        restarted.append(p["name"])
    save_state(d, state)
    return restarted
