#!/usr/bin/python3
"""Parse supervisord config files with supervisor's OWN parser; print one JSON array.

    /usr/bin/python3 -s parse_supervisord_config.py PATH...

Each PATH goes through ServerOptions.realize(["-c", PATH]) as in supervisord's start-up,
then ClientOptions.realize as in supervisorctl's. realize() only parses and validates:
nothing is daemonized, bound or written. One outcome per PATH, in order: the fields the
tests read, or {"ok": false, "error": supervisor's message}, passwords redacted.
No PATH prints [] (what requireSupervisordParser runs: supervisor imports).
"""

import json
import os
import pwd
import signal
import socket
import sys

from supervisor import datatypes, loggers
from supervisor import options as so


class ParseError(Exception):
    pass


def _usage(self, msg):  # supervisor's prints the message and exits 2
    raise ParseError(str(msg))


class Server(so.ServerOptions):
    usage = _usage

    def processes_from_section(self, parser, section, group_name, klass=None):
        procs = super().processes_from_section(parser, section, group_name, klass)
        # What a process config does not keep: its [program:NAME] and numprocs.
        name = datatypes.process_or_group_name(section.split(":", 1)[1])
        for p in procs:
            p.jd = (name, len(procs))
        return procs


class Client(so.ClientOptions):
    usage = _usage


class RecordingParser(so.UnhosedConfigParser):
    """Every parser supervisor makes (includes read into it), for the passwords to redact."""

    made = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        RecordingParser.made.append(self)


so.UnhosedConfigParser = RecordingParser

LEVELS = {v: k for k, v in vars(loggers.LevelsByDescription).items() if not k.startswith("_")}
RESTART = {datatypes.RestartUnconditionally: "true", datatypes.RestartWhenExitUnexpected: "unexpected", False: "false"}
LOGFILE = {datatypes.Automatic: "AUTO", datatypes.Syslog: "SYSLOG"}
GROUP_KIND = {so.EventListenerPoolConfig: "eventlistener", so.FastCGIGroupConfig: "fcgi-program"}
PLAIN = (
    "command priority autostart startsecs startretries exitcodes stopasgroup killasgroup"
    " redirect_stderr stdout_logfile_maxbytes stdout_logfile_backups directory uid"
).split()


def octal(v):
    return None if v is None else "%04o" % v


def signame(n):
    try:
        return signal.Signals(n).name
    except ValueError:  # 0 (SIG_DFL) is accepted
        return "signal %d" % n


def program(p, group):
    out = {k: getattr(p, k) for k in PLAIN}
    out.update(
        name=p.jd[0],
        numprocs=p.jd[1],
        process_name=p.name,
        group=group,
        autorestart=RESTART[p.autorestart],
        stopsignal=signame(p.stopsignal),
        stdout_logfile=LOGFILE.get(p.stdout_logfile, p.stdout_logfile),
        environment=p.environment or {},
        umask=octal(p.umask),
        user=None if p.uid is None else pwd.getpwuid(p.uid).pw_name,
    )
    return out


def server(opts, family):
    for cfg in opts.server_configs:
        if cfg["family"] == family:
            out = {k: v for k, v in cfg.items() if k not in ("family", "password")}
            out["password_set"] = cfg["password"] is not None
            if family == socket.AF_UNIX:
                out.update(chmod=octal(cfg["chmod"]), chown=None if tuple(cfg["chown"]) == (-1, -1) else cfg["chown"])
            return out
    return None


def parse(path):
    opts = Server()
    opts.realize(args=["-c", path], doc="", progname="supervisord")
    warnings, ctl = list(opts.parse_warnings), None
    client = Client()
    try:
        client.realize(args=["-c", path], doc="", progname="supervisorctl")
        ctl = {"serverurl": client.serverurl, "username": client.username, "password_set": client.password is not None}
    except ParseError as e:
        if str(e) != ".ini file does not include supervisorctl section":
            raise ParseError("supervisorctl: %s" % e) from e
        warnings.append("supervisorctl: %s" % e)
    groups = opts.process_group_configs
    return {
        "ok": True,
        "version": so.VERSION,
        "warnings": warnings,
        "supervisord": {
            "logfile": opts.logfile,
            "logfile_maxbytes": opts.logfile_maxbytes,
            "logfile_backups": opts.logfile_backups,
            "loglevel": LEVELS[opts.loglevel],
            "minfds": opts.minfds,
            "umask": octal(opts.umask),
            "identifier": opts.identifier,
            "environment": opts.configroot.supervisord.environment,
        },
        "server": {"unix": server(opts, socket.AF_UNIX), "inet": server(opts, socket.AF_INET)},
        "ctl": ctl,
        "rpcinterfaces": [name for (name, _factory, _extras) in opts.rpcinterface_factories],
        "groups": [
            {
                "name": g.name,
                "kind": GROUP_KIND.get(type(g), "program"),
                "priority": g.priority,
                "programs": [p.name for p in g.process_configs],
            }
            for g in groups
        ],
        "programs": [program(p, g.name) for g in groups for p in g.process_configs],
    }


def outcome(path):
    RecordingParser.made = []
    try:
        return parse(os.path.abspath(path))
    except ParseError as e:
        error = str(e)
    except Exception as e:  # supervisord itself would die with this traceback
        error = "%s: %s" % (type(e).__name__, e)
    # supervisor quotes offending values in its messages: never print a password.
    raw = {p.get(s, "password", fallback="") for p in RecordingParser.made for s in p.sections()}
    for secret in sorted({v for r in raw if r for v in (r, r.replace("%%", "%"))}, key=len, reverse=True):
        error = error.replace(secret, "<redacted>")
    return {"ok": False, "error": error}


if __name__ == "__main__":
    print(json.dumps([outcome(p) for p in sys.argv[1:]]))
