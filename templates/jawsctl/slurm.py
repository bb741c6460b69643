"""The Slurm launcher: supervisord in the foreground inside one long-lived Slurm job.

The deploy (on the login node) and the starter (crontab or scrontab) keep exactly one job of the
instance's name queued or running (`ensure`); the job script publishes where supervisord runs
(`publish`: run/slurm-job.json, read by connection.location) and starts it; `wait_up` waits for
it after a submission; `cancel` ends the job at destroy. Slurm's commands run with argv lists
(no shell): the values come from the rendered scripts, shell-quoted there. Not listed in
__init__.py on purpose: a change there restarts supervisord everywhere.
"""

import json
import os
import pwd
import re
import subprocess
import sys
import time

from . import connection

# squeue states of a job that is gone or going: another may be submitted (singleton holds it
# until the old one has left the node).
FINISHED = {
    "BOOT_FAIL",
    "CANCELLED",
    "COMPLETED",
    "COMPLETING",
    "DEADLINE",
    "FAILED",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "SPECIAL_EXIT",
    "TIMEOUT",
}
# Exit status of wait-up when the job is still queued at the timeout (not an error: it starts later).
QUEUED = 5


def log(out, message):
    out("slurm: %s" % message)


def user():
    return pwd.getpwuid(os.getuid()).pw_name


def command(argv):
    """Runs a Slurm command; its stdout. SystemExit with its stderr when it fails."""
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    except FileNotFoundError:
        raise SystemExit("slurm: %s not found on %s (PATH=%s): is this a Slurm login node?" % (argv[0], os.uname().nodename, os.environ.get("PATH", "")))
    except subprocess.TimeoutExpired:
        raise SystemExit("slurm: %s did not answer within 120s" % " ".join(argv[:2]))
    if r.returncode != 0:
        raise SystemExit("slurm: %s failed (exit %d): %s" % (" ".join(argv[:2]), r.returncode, " ".join(r.stderr.split())))
    return r.stdout


def parse_jobs(text):
    """squeue -o '%i|%T|%N' lines -> [{"id", "state", "node"}]."""
    jobs = []
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) >= 3 and parts[0]:
            jobs.append({"id": parts[0], "state": parts[1], "node": parts[2]})
    return jobs


def jobs(name, everything=False):
    """The user's jobs named `name`: the active ones (queued or running), or with `everything` also those ending."""
    found = parse_jobs(command(["squeue", "-h", "-u", user(), "-n", name, "-o", "%i|%T|%N"]))
    return found if everything else [j for j in found if j["state"] not in FINISHED]


def describe(job):
    return "job %s %s%s" % (job["id"], job["state"], " on %s" % job["node"] if job["node"] and job["state"] == "RUNNING" else "")


def keep_one(active, out):
    """More than one active job of the name (two starters on two nodes at once): keep the running
    one, else the oldest, and cancel the others. The same choice wherever it runs. The kept job."""
    order = sorted(active, key=lambda j: (j["state"] != "RUNNING", int(re.sub(r"\D.*", "", j["id"]) or 0)))
    keep, extra = order[0], order[1:]
    for j in extra:
        command(["scancel", j["id"]])
        log(out, "cancelled job %s, a second job of the same name (keeping %s)" % (j["id"], describe(keep)))
    return keep


def parse_pairs(line):
    """key=value pairs of one `scontrol -o` line (a value may hold '=': TRES=cpu=2)."""
    return dict(m.groups() for m in re.finditer(r"(\S+?)=(\S*)", line))


def parse_time(text):
    """scontrol's local time stamp (2026-11-28T09:00:00) -> epoch seconds; None when it is not one."""
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def next_maintenance(text, now):
    """The maintenance reservation (Flags with MAINT) that ends after `now` and starts first, from
    `scontrol -o show res`: (name, start epoch), or None."""
    found = []
    for line in text.splitlines():
        r = parse_pairs(line)
        if "MAINT" not in r.get("Flags", "").split(","):
            continue
        start, end = parse_time(r.get("StartTime", "")), parse_time(r.get("EndTime", ""))
        if start is not None and (end is None or end > now):
            found.append((start, r.get("ReservationName", "?")))
    if not found:
        return None
    start, name = min(found)
    return name, start


def limit_minutes(t):
    """A Slurm time limit (minutes, m:s, h:m:s, d-h, d-h:m, d-h:m:s, UNLIMITED) in minutes; None = unlimited."""
    if t.upper() in ("UNLIMITED", "INFINITE"):
        return None
    m = re.match(r"^(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?$", t)
    if m:
        d, h, mi, s = (int(x or 0) for x in m.groups())
        return d * 1440 + h * 60 + mi + (s + 59) // 60
    m = re.match(r"^(\d+)(?::(\d+)(?::(\d+))?)?$", t)
    if not m:
        raise SystemExit("slurm: %r is not a Slurm time limit" % t)
    a, b, c = m.groups()
    if c is not None:
        return int(a) * 60 + int(b) + (int(c) + 59) // 60
    return int(a) + (int(b or 0) + 59) // 60


def time_min(maintenance, now, buffer_minutes, limit):
    """--time-min in minutes: until the maintenance starts, minus the buffer (at least 1); None
    when there is no maintenance or the job's whole time limit fits before it."""
    if maintenance is None:
        return None
    minutes = max(1, int((maintenance[1] - now) // 60) - buffer_minutes)
    if limit is not None and minutes >= limit:
        return None
    return minutes


def ensure(name, script, output, limit, buffer_minutes, options, out=print, now=time.time):
    """Exactly one job named `name` queued or running: nothing to do when there is one (extra ones
    are cancelled), otherwise submit `script` with sbatch, singleton, the site's `options` and
    --time-min before the next maintenance. Logs each decision on `out`."""
    active = jobs(name)
    if active:
        keep = keep_one(active, out) if len(active) > 1 else active[0]
        log(out, "%s (%s): nothing to submit" % (describe(keep), name))
        return keep["id"]
    t = now()
    reservations = command(["scontrol", "-o", "show", "res"])
    maintenance = next_maintenance(reservations, t)
    minutes = time_min(maintenance, t, buffer_minutes, limit_minutes(limit))
    argv = ["sbatch", "--parsable", "--job-name=" + name, "--dependency=singleton", "--output=" + output, "--open-mode=append"]
    argv += list(options)
    if minutes is not None:
        argv.append("--time-min=%d" % minutes)
    argv.append(script)
    job = command(argv).strip().split(";")[0]
    if maintenance is None:
        why = "no maintenance reservation"
    else:
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(maintenance[1]))
        why = "maintenance %s at %s, buffer %d min" % (maintenance[0], when, buffer_minutes)
    log(out, "no job named %s queued or running: submitted job %s (%s; %s)" % (
        name, job, "--time-min=%d" % minutes if minutes is not None else "full time limit", why))
    # A starter on another node may have submitted at the same moment (the deploy lock is per host).
    active = jobs(name)
    if len(active) > 1:
        job = keep_one(active, out)["id"]
    return job


def wait_up(d, name, timeout, out=print, sleep=time.sleep):
    """Until supervisord of the instance's job answers RUNNING. After `timeout`: exit QUEUED when
    the job is still queued (it starts later, with the files installed now), else SystemExit."""
    deadline = time.time() + timeout
    while True:
        try:
            if connection.proxy(d).supervisor.getState()["statename"] == "RUNNING":
                where = connection.location(d) or {}
                log(out, "supervisord is up in job %s on %s (%s)" % (where.get("job"), where.get("node"), where.get("url")))
                return
        except Exception:
            pass
        active = jobs(name)
        if not active:
            raise SystemExit("slurm: no job named %s is queued or running any more: see %s" % (name, os.path.join(d, "log", "slurm-job.log")))
        if time.time() > deadline:
            if all(j["state"] == "PENDING" for j in active):
                log(out, "%s is still queued after %ss: supervisord starts when it runs" % (describe(active[0]), timeout))
                sys.exit(QUEUED)
            raise SystemExit("slurm: %s, but supervisord does not answer after %ss: see %s" % (
                describe(active[0]), timeout, os.path.join(d, "log", "slurm-job.log")))
        sleep(0.5)


def cancel(name, timeout, out=print, sleep=time.sleep):
    """scancel every job named `name`, and wait until squeue lists none (not even COMPLETING)."""
    for j in jobs(name):
        command(["scancel", j["id"]])
        log(out, "cancelled %s" % describe(j))
    deadline = time.time() + timeout
    while jobs(name, everything=True):
        if time.time() > deadline:
            raise SystemExit("slurm: jobs named %s still listed %ss after scancel" % (name, timeout))
        sleep(0.5)


def publish(d, job, node, address, url):
    """Writes where supervisord runs (run/slurm-job.json): read by jawsctl's connection layer."""
    text = json.dumps({"job": job, "node": node, "address": address, "url": url,
                       "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, sort_keys=True) + "\n"
    path = os.path.join(d, connection.LOCATION)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(text)
    os.replace(tmp, path)


def status_line(d):
    """Where the instance's job published supervisord, for `status`; None for a daemon instance."""
    where = connection.location(d)
    if not where:
        return None
    return "Slurm job %s on node %s, control endpoint %s (published %s)" % (
        where.get("job"), where.get("node"), where.get("url"), where.get("published"))

