"""Drop-ins: config files of other tools (Cromwell, the pool manager) that supervisord.conf
includes (`includeFiles`). The deploy never writes or deletes them, and restarts their programs
only when their file changed: state/dropins.json records each file's hash and the process
groups it defined, as of the last deploy that passed its health gate. A drop-in program is never
restarted because the instance's own programs changed (applyInPlace keeps unchanged groups).
"""

import hashlib
import json
import os
import shlex
import sys
import xmlrpc.client

from .config import dropin_files, read_sections
from .connection import info_by_name
from .programs import ACTIVE_STATES, start_process


def record_path(d):
    return os.path.join(d, "state", "dropins.json")


def groups_of(path):
    """The process groups a drop-in defines: its [group:x], and its programs no group of it lists."""
    p = read_sections(path)
    grouped, groups, programs = set(), set(), set()
    for section in p.sections():
        kind, _, name = section.partition(":")
        if kind == "group":
            groups.add(name)
            grouped |= {x.strip() for x in p.get(section, "programs", fallback="").split(",") if x.strip()}
        elif kind in ("program", "eventlistener", "fcgi-program"):
            programs.add(name)
    return sorted(groups | (programs - grouped))


def current(d, conf_file):
    """{file: {"hash", "groups"}} of the drop-ins `conf_file` includes now."""
    out = {}
    for path in dropin_files(conf_file, d):
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        out[path] = {"hash": digest, "groups": groups_of(path)}
    return out


def load(d):
    try:
        with open(record_path(d)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def plan(d, conf_file, out=None):
    """The groups of drop-ins new, changed or gone since the last deploy, as a shell assignment
    (DROPIN_GROUPS, for `eval`); one line per such drop-in on stderr. With no record yet, every
    drop-in counts as new."""
    out = out or (lambda line: print(line, file=sys.stderr, flush=True))
    old, new = load(d) or {}, current(d, conf_file)
    groups = set()
    for path in sorted(set(old) | set(new)):
        o, n = old.get(path), new.get(path)
        if o == n:
            continue
        word = "new" if o is None else "gone" if n is None else "changed"
        touched = sorted(set((o or {}).get("groups", [])) | set((n or {}).get("groups", [])))
        out("drop-in %s %s: its groups %s are (re)applied" % (path, word, ", ".join(touched) or "(none)"))
        groups |= set(touched)
    return "DROPIN_GROUPS=%s" % shlex.quote(" ".join(sorted(groups)))


def save(d, conf_file):
    path = record_path(d)
    tmp = "%s.new.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(current(d, conf_file), f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def stop_groups(s, groups, record, out=print):
    """Stops the running processes of `groups`; `record` gets them, one a line."""
    was_running = []
    for full, info in sorted(info_by_name(s).items()):
        if info["group"] in groups and info["statename"] in ACTIVE_STATES:
            try:
                s.supervisor.stopProcess(full, True)
            except xmlrpc.client.Fault as e:
                if "NOT_RUNNING" not in e.faultString:
                    raise
            was_running.append(full)
            out("stopped drop-in process %s" % full)
    with open(record, "w") as f:
        f.write("\n".join(was_running))


def start_groups(s, groups, record, out=print):
    """Starts the processes of `groups` that `record` says were running (new ones autostart)."""
    with open(record) as f:
        was_running = set(f.read().split())
    for full, info in sorted(info_by_name(s).items()):
        if info["group"] in groups and full in was_running:
            start_process(s, full, out, "started drop-in process %s")
