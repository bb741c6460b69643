#!/usr/bin/python3
# Parse supervisord config files with supervisor's OWN parser and print JSON.
#
#   /usr/bin/python3 -I parse_supervisord_config.py PATH           -> one JSON object, exit 1 on error
#   /usr/bin/python3 -I parse_supervisord_config.py --many P1 P2 .. -> JSON array, exit 0
#
# Runs under Debian's /usr/bin/python3 (stdlib + supervisor only). It calls
# ServerOptions.realize(args=["-c", PATH]) exactly as supervisord.main() does,
# then ClientOptions.realize(args=["-c", PATH]) as supervisorctl does. realize()
# parses and validates only: daemonize, pidfile, sockets, setuid, setrlimit and
# log files all happen later in supervisord.main()/Supervisor.main(), which we
# never call. usage() (print + exit 2 in supervisor) is overridden to raise.
#
# Surprising behaviour of supervisor 4.2.5 (Debian bookworm, Python 3.11),
# verified by __tests__/support/supervisord-parser.test.ts:
# - Values are cut at " ;" or " #" (whitespace + ; or #) even inside quotes;
#   "a;b" / "a#b" without preceding whitespace survive.
# - An indented line after "key=value" is a CONTINUATION: the value gets "\n"
#   + that line. A "[program:x]" line after a newline opens a new section.
# - Keys are case-insensitive (Command= works); section names are
#   case-sensitive ([Program:x] is silently ignored, like any unknown section).
#   Text after "]" on a header line is ignored. Duplicate sections merge,
#   duplicate keys: the last one wins. "key" without "=" is a parse error.
# - "%" expansion: once for most values ("%%" -> "%"), but TWICE for
#   [supervisord] environment and [program:x] stdout_logfile/stderr_logfile
#   (a literal "%" must be "%%%%" there). A bare "%s" is NOT an error: it
#   expands to the repr of the whole expansion dict, i.e. every ENV_* value.
#   Unknown %(name)s is an error whose message lists all ENV_* NAMES.
# - Checked at parse time: [supervisord] directory and childlogdir (existing
#   dirs), parent dir of [supervisord] logfile/pidfile and of program
#   stdout/stderr_logfile (only when the path has a dir part; "~" expanded;
#   relative paths resolve against the CWD, not the config dir), user= and
#   [unix_http_server] chown (must exist). NOT checked: [program:x] directory=,
#   command (command= empty is accepted), the unix socket's directory, whether
#   an inet port is bindable (80 passes, "[::1]" passes as a host string).
# - environment= uses NON-POSIX shlex (wordchars: alnum _ / . + - ( ) :):
#   quote chars are stripped from both ENDS of a value ('"x"' -> x, "''" -> "");
#   inside "..." backslashes and ' are kept verbatim and " ends the token
#   (A="x"y" -> x; A="say \"hi\"" is an error); KEY=x y -> {KEY: "x"}
#   ("y" is swallowed as the separator: ANY single token separates pairs, so
#   A=1;B=2 works and A=x y z=1 gives {A: x, z: 1}); unquoted "#" starts a
#   comment; A= (empty, unquoted) is an error. Keys: [A-Za-z0-9_/.+\-():]+
#   (1A, A.B, A-B, A:B, A/B accepted; A@B, A$B rejected; a single non-ASCII
#   char works alone, "Ωx" does not).
# - numprocs=0 or negative is accepted and yields a group with NO processes.
# - names: only " ", ":" and "/" are rejected ("." "@" "-" tab unicode and
#   even an empty [program:] are fine); process_name is checked BEFORE
#   %-expansion, the expanded name is not re-checked.
# - [group:g] programs=zz (unknown): the error names the previously processed
#   [program:x] section instead of [group:g] (loop-variable bug). A program in
#   two groups appears in both; a [group:a] next to [program:a] gives two
#   groups named "a" (supervisord keeps only the first at run time).
# - byte sizes: int() of the text minus a trailing kb/mb/gb (any case):
#   "1 MB", "1_000", "-1MB" accepted; "1K", "1.5MB", "1TB", "1B" rejected.
#   Integers use int(): "+5", "1_0", " 7", negative priority, huge values ok.
# - signals: any signal.SIG* name, case-insensitive, with/without SIG
#   ("term", "SIGTERM", "rtmin", "CHLD"), or a number equal to a named signal
#   (0 via SIG_DFL, 1..31, 34, 64; 32, 33, 35..63, -1 rejected).
# - exitcodes= empty is accepted (every exit is "unexpected"); 0..255 only.
# - loglevel: critical error warn info debug trace blather ("warning" fails).
# - umask/chmod: int(x, 8): "0o22" and negative umask accepted.
# - "[unix_http_server...]"/"[inet_http_server...]" match by PREFIX: a
#   section "[inet_http_serverX]" is an extra HTTP server. Bare port and
#   "*:port" bind all interfaces.
# - ClientOptions (supervisorctl) requires [supervisorctl]; its serverurl is
#   not validated; its password is %-expanded too.
import json
import os
import re
import sys
import types


# --- keep start-up cheap -----------------------------------------------------
# supervisor.options imports pkg_resources (~140 ms) only for import_spec().
# Install a lazy stand-in that loads the real module on first attribute access,
# and resolve plain "module:attr" factory specs with __import__ like
# EntryPoint.resolve() does; anything else goes to the real pkg_resources.
class _LazyPkgResources(types.ModuleType):
    def __getattr__(self, name):
        if sys.modules.get("pkg_resources") is self:
            del sys.modules["pkg_resources"]
        import pkg_resources as real  # noqa: E402

        try:
            import supervisor.options as so

            so.pkg_resources = real
        except ImportError:
            pass
        return getattr(real, name)


if "pkg_resources" not in sys.modules:
    sys.modules["pkg_resources"] = _LazyPkgResources("pkg_resources")

import signal  # noqa: E402

import supervisor  # noqa: E402
from supervisor import datatypes, loggers  # noqa: E402
from supervisor import options as so  # noqa: E402

_SIMPLE_SPEC = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*:"
    r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$"
)


def _import_spec(options, spec):
    m = _SIMPLE_SPEC.match(spec)
    if not m:
        return so.Options.import_spec(options, spec)
    module = __import__(m.group(1), fromlist=["__name__"], level=0)
    obj = module
    try:
        for attr in m.group(2).split("."):
            obj = getattr(obj, attr)
    except AttributeError as exc:
        raise ImportError(str(exc)) from exc
    return obj


class ParseError(Exception):
    pass


def _usage(self, msg):
    raise ParseError(str(msg))


class CheckedServerOptions(so.ServerOptions):
    usage = _usage
    import_spec = _import_spec

    def processes_from_section(self, parser, section, group_name, klass=None):
        procs = so.ServerOptions.processes_from_section(
            self, parser, section, group_name, klass
        )
        kind, program = section.split(":", 1)
        for p in procs:
            p._jd_program = datatypes.process_or_group_name(program)
            p._jd_kind = kind
            p._jd_numprocs = len(procs)
        return procs


class CheckedClientOptions(so.ClientOptions):
    usage = _usage
    import_spec = _import_spec


# --- serialisation -------------------------------------------------------------
_SIGNAMES = {}
for _k, _v in signal.__dict__.items():
    if _k.startswith("SIG") and not _k.startswith("SIG_"):
        _SIGNAMES[int(_v)] = _k


_LEVEL_NAMES = {
    v: k for k, v in vars(loggers.LevelsByDescription).items() if not k.startswith("_")
}


def _signame(num):
    return _SIGNAMES.get(int(num), "signal %d" % int(num))


def _octal(v):
    return None if v is None else "%04o" % v


def _logfile(v):
    if v is datatypes.Automatic:
        return "AUTO"
    if v is datatypes.Syslog:
        return "SYSLOG"
    return v  # None (NONE/OFF) or a path


def _autorestart(v):
    if v is datatypes.RestartUnconditionally:
        return "true"
    if v is datatypes.RestartWhenExitUnexpected:
        return "unexpected"
    if v is False:
        return "false"
    return str(v)


def _username(uid):
    if uid is None:
        return None
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _chown(t):
    if t is None or tuple(t) == (-1, -1):
        return None
    return {"uid": t[0], "gid": t[1]}


def _password_hashed(p):
    return bool(p) and p.startswith("{SHA}")


def _process(p, group_name):
    return {
        "name": getattr(p, "_jd_program", p.name),
        "kind": getattr(p, "_jd_kind", "program"),
        "group": group_name,
        "command": p.command,
        "process_name": p.name,
        "numprocs": getattr(p, "_jd_numprocs", 1),
        "priority": p.priority,
        "autostart": p.autostart,
        "autorestart": _autorestart(p.autorestart),
        "startsecs": p.startsecs,
        "startretries": p.startretries,
        "exitcodes": list(p.exitcodes),
        "stopsignal": _signame(p.stopsignal),
        "stopsignal_number": int(p.stopsignal),
        "stopwaitsecs": p.stopwaitsecs,
        "stopasgroup": p.stopasgroup,
        "killasgroup": p.killasgroup,
        "redirect_stderr": p.redirect_stderr,
        "stdout_logfile": _logfile(p.stdout_logfile),
        "stdout_logfile_maxbytes": p.stdout_logfile_maxbytes,
        "stdout_logfile_backups": p.stdout_logfile_backups,
        "stdout_syslog": p.stdout_syslog,
        "stderr_logfile": _logfile(p.stderr_logfile),
        "stderr_logfile_maxbytes": p.stderr_logfile_maxbytes,
        "stderr_logfile_backups": p.stderr_logfile_backups,
        "stderr_syslog": p.stderr_syslog,
        "environment": dict(p.environment or {}),
        "directory": p.directory,
        "umask": _octal(p.umask),
        "user": _username(p.uid),
        "uid": p.uid,
        "serverurl": p.serverurl,
    }


def parse_one(path):
    path = os.path.abspath(path)
    opts = CheckedServerOptions()
    try:
        opts.realize(args=["-c", path], doc="", progname="supervisord")
    except ParseError as e:
        return {"ok": False, "error": str(e)}

    section = opts.configroot.supervisord
    servers = []
    for cfg in opts.server_configs:
        entry = {"section": cfg["section"]}
        if cfg["family"] is so.socket.AF_UNIX:
            entry.update(
                kind="unix",
                file=cfg["file"],
                chmod=_octal(cfg["chmod"]),
                chown=_chown(cfg["chown"]),
            )
        else:
            entry.update(kind="inet", host=cfg["host"], port=cfg["port"])
        entry.update(
            username=cfg["username"],
            password_set=cfg["password"] is not None,
            password_hashed=_password_hashed(cfg["password"]),
        )
        servers.append(entry)
    unix = next((x for x in servers if x["kind"] == "unix"), None)
    inet = next((x for x in servers if x["kind"] == "inet"), None)

    warnings = list(opts.parse_warnings)
    ctl = None
    copts = CheckedClientOptions()
    try:
        copts.realize(args=["-c", path], doc="", progname="supervisorctl")
        ctl = {
            "serverurl": copts.serverurl,
            "username": copts.username,
            "password_set": copts.password is not None,
            "prompt": copts.prompt,
            "history_file": copts.history_file,
        }
    except ParseError as e:
        msg = str(e)
        if msg != ".ini file does not include supervisorctl section":
            return {"ok": False, "error": "supervisorctl: " + msg}
        warnings.append("supervisorctl: " + msg)

    groups = []
    programs = []
    for g in opts.process_group_configs:
        kind = {
            "EventListenerPoolConfig": "eventlistener",
            "FastCGIGroupConfig": "fcgi-program",
        }.get(type(g).__name__, "program")
        groups.append(
            {
                "name": g.name,
                "kind": kind,
                "priority": g.priority,
                "programs": [p.name for p in g.process_configs],
            }
        )
        for p in g.process_configs:
            programs.append(_process(p, g.name))

    return {
        "ok": True,
        "version": supervisor_version(),
        "warnings": warnings,
        "supervisord": {
            "logfile": opts.logfile,
            "logfile_maxbytes": opts.logfile_maxbytes,
            "logfile_backups": opts.logfile_backups,
            "loglevel": _LEVEL_NAMES.get(opts.loglevel, str(opts.loglevel)),
            "pidfile": opts.pidfile,
            "nodaemon": bool(opts.nodaemon),
            "silent": bool(opts.silent),
            "minfds": opts.minfds,
            "minprocs": opts.minprocs,
            "umask": _octal(opts.umask),
            "user": opts.user,
            "identifier": opts.identifier,
            "directory": opts.directory,
            "childlogdir": opts.childlogdir,
            "nocleanup": bool(opts.nocleanup),
            "strip_ansi": bool(opts.strip_ansi),
            "environment": dict(section.environment),
        },
        "server": {"unix": unix, "inet": inet, "all": servers},
        "ctl": ctl,
        "rpcinterfaces": [name for (name, _f, _x) in opts.rpcinterface_factories],
        "groups": groups,
        "programs": programs,
    }


_VERSION = None


def supervisor_version():
    global _VERSION
    if _VERSION is None:
        try:
            with open(os.path.join(os.path.dirname(supervisor.__file__), "version.txt")) as f:
                _VERSION = f.read().strip()
        except OSError:
            _VERSION = getattr(so, "VERSION", "unknown")
    return _VERSION


def _passwords(path):
    """Raw values of every password= key (best effort), for redaction."""
    try:
        parser = so.UnhosedConfigParser()
        parser.read(path)
        found = set()
        for sec in parser.sections():
            if parser.has_option(sec, "password"):
                raw = parser.get(sec, "password")
                if raw:
                    found.update((raw, raw.replace("%%", "%")))
        return sorted(found, key=len, reverse=True)
    except Exception:
        return []


def _redact(text, secrets):
    for secret in secrets:
        text = text.replace(secret, "<redacted>")
    return text


def safe_parse(path):
    try:
        result = parse_one(path)
    except Exception as e:  # supervisord itself would die with a traceback
        result = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    # Never print a password: supervisor quotes offending values in messages.
    secrets = _passwords(path)
    if secrets:
        if not result["ok"]:
            result["error"] = _redact(result["error"], secrets)
        else:
            result["warnings"] = [_redact(w, secrets) for w in result["warnings"]]
    return result


def main(argv):
    if len(argv) >= 1 and argv[0] == "--version":
        print(json.dumps({"ok": True, "version": supervisor_version()}))
        return 0
    if len(argv) >= 1 and argv[0] == "--many":
        print(json.dumps([safe_parse(p) for p in argv[1:]]))
        return 0
    if len(argv) != 1:
        print(json.dumps({"ok": False, "error": "usage: parse_supervisord_config.py PATH | --many PATH..."}))
        return 2
    result = safe_parse(argv[0])
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
