"""A deploy's program phase: stop the changed and removed programs, apply the new config in
place (rpc_extension.applyInPlace), start the changed and added ones."""

import os
import time
import xmlrpc.client

from .connection import info_by_name
from .manifest import processes_of

# A process in one of these states is stopped (and recorded, to be started again).
ACTIVE_STATES = ("RUNNING", "STARTING", "BACKOFF")


def stop_programs(s, manifest, names, timeout, record=None, out=print, sleep=time.sleep):
    """Stops every process of the programs `names` (of `manifest`) and waits until none is
    STOPPING; `record` gets the processes that were running, one a line."""
    infos = info_by_name(s)
    full_names = ["%s:%s" % gp for gp in processes_of(manifest, names)]
    was_running = []
    for full in full_names:
        info = infos.get(full)
        if info and info["statename"] in ACTIVE_STATES:
            was_running.append(full)
            try:
                s.supervisor.stopProcess(full, True)
            except xmlrpc.client.Fault as e:
                if "NOT_RUNNING" not in e.faultString:
                    raise
            out("stopped %s" % full)
    # One still STOPPING (stopped by an interrupted deploy, or by hand) would turn the later
    # startProcess into a silent no-op: wait until it is down.
    deadline = time.time() + timeout
    while True:
        infos = info_by_name(s)
        stopping = [n for n in full_names if infos.get(n, {}).get("statename") == "STOPPING"]
        if not stopping:
            break
        if time.time() > deadline:
            raise SystemExit("still stopping after %ss: %s" % (timeout, ", ".join(stopping)))
        sleep(0.2)
    if record:
        with open(record, "w") as f:
            f.write("\n".join(was_running))


def apply(s, out=print):
    """supervisord rereads its config and applies it, keeping unchanged processes running. The
    processes of groups the config no longer has stop first, as `supervisorctl update` does (a
    group made on the host by hand: drift; ours and the drop-ins' are stopped by the deploy)."""
    for group in s.supervisor.reloadConfig()[0][2]:
        s.supervisor.stopProcessGroup(group, True)
        out("stopped group %s (not in the config)" % group)
    added, changed, removed = s.jawsdeploy.applyInPlace()
    for word, names in (("added", added), ("changed", changed), ("removed", removed)):
        if names:
            out("%s group %s" % (word, ", ".join(names)))


def start_process(s, full, out, message):
    """Starts one process without waiting for it (the health gate does); one already running is fine."""
    try:
        s.supervisor.startProcess(full, False)
        out(message % full)
    except xmlrpc.client.Fault as e:
        if "ALREADY_STARTED" not in e.faultString:
            raise


def start_programs(s, manifest, names, record=None, out=print):
    """Starts the processes of the programs `names` that autostart, or that `record` says were running."""
    autostart = {p["name"] for p in manifest["programs"] if p["autostart"]}
    was_running = set()
    if record and os.path.exists(record):
        with open(record) as f:
            was_running = set(f.read().split())
    for group, proc in processes_of(manifest, names):
        full = "%s:%s" % (group, proc)
        program = next(p["name"] for p in manifest["programs"] if proc in p["processes"])
        if program not in autostart and full not in was_running:
            continue
        start_process(s, full, out, "started %s")


# States of a process that is not running and that supervisord will not start by itself.
DOWN_STATES = ("STOPPED", "EXITED", "FATAL")


def start_stopped(s, manifest, out=print):
    """Starts every process of the autostart, long-running programs of `manifest` that is down
    (stopped by hand, or given up on): after a deploy every declared program runs. One-shots are
    deploy steps that ran: they are left as they are."""
    infos = info_by_name(s)
    for p in manifest["programs"]:
        if not p["autostart"] or p["oneShot"]:
            continue
        for group, proc in processes_of(manifest, [p["name"]]):
            full = "%s:%s" % (group, proc)
            if infos.get(full, {}).get("statename") in DOWN_STATES:
                start_process(s, full, out, "started %s (it was " + infos[full]["statename"] + ")")
