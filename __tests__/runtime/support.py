"""Shared by the runtime tests: the package from templates/, instance directories, manifests, and
a real supervisord in a temp directory."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

TEMPLATES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "templates"))
if TEMPLATES not in sys.path:
    sys.path.insert(0, TEMPLATES)

# Imported here so that a missing supervisor fails every test module, never skips it.
import supervisor  # noqa: E402,F401

USER = "t-dev"


def manifest(group="g", instance="i1", programs=()):
    """A manifest as render.ts writes it; programs: dicts with at least a name."""
    out = []
    for p in programs:
        p = dict(p)
        p.setdefault("processes", [p["name"]])
        p.setdefault("autostart", True)
        p.setdefault("oneShot", False)
        p.setdefault("exitcodes", [0])
        p.setdefault("fingerprint", "f-" + p["name"])
        out.append(p)
    return {"group": group, "instance": instance, "programs": out}


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f)
    return path


class InstanceDir:
    """A temp instance directory with the subdirectories the scripts make."""

    def __init__(self):
        # Short: a unix socket path must stay under 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="jc-", dir="/tmp")
        for d in ("bin", "log", "run", "secret", "state"):
            os.makedirs(os.path.join(self.dir, d), mode=0o700)
        self.conf = os.path.join(self.dir, "supervisord.conf")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write_conf(self, programs="", inet_port=None, includes=()):
        """A supervisord.conf shaped like templates/supervisord.conf.hbs; `includes`: drop-in globs."""
        if inet_port:
            server = "[inet_http_server]\nport=127.0.0.1:%d\n" % inet_port
            url = "http://127.0.0.1:%d" % inet_port
        else:
            server = "[unix_http_server]\nfile=%s\nchmod=0700\n" % self.path("run", "supervisor.sock")
            url = "unix://" + self.path("run", "supervisor.sock")
        text = (
            "; test instance\n[supervisord]\nlogfile=%(d)s/log/supervisord.log\npidfile=%(d)s/run/supervisord.pid\n"
            "childlogdir=%(d)s/log\nnodaemon=false\ndirectory=%(d)s\nidentifier=t-dev\n\n%(server)s\n"
            "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
            "[rpcinterface:jawsdeploy]\nsupervisor.rpcinterface_factory = jawsctl.rpc_extension:make_rpcinterface\n\n"
            "[supervisorctl]\nserverurl=%(url)s ; the control endpoint\n%(programs)s\n[include]\nfiles = %(d)s/secret/auth.conf%(includes)s\n"
        ) % {"d": self.dir, "server": server, "url": url, "programs": programs, "includes": "".join(" " + g for g in includes)}
        with open(self.conf, "w") as f:
            f.write(text)
        return self.conf

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def program(name, command, autostart=True, startsecs=1, group="g"):
    return (
        "\n[program:%s]\ncommand=%s\nautostart=%s\nstartsecs=%d\nstartretries=0\nautorestart=false\n"
        "stopwaitsecs=5\nstdout_logfile=%%(here)s/log/%s.log\nredirect_stderr=true\n"
    ) % (name, command, "true" if autostart else "false", startsecs, name)


def group(name, programs):
    return "\n[group:%s]\nprograms=%s\n" % (name, ",".join(programs))


def env():
    """The environment to run jawsctl and supervisord with: the package importable from templates/."""
    e = dict(os.environ)
    e["PYTHONPATH"] = TEMPLATES
    return e


def jawsctl(d, *args, check=False, timeout=60):
    """Runs `python -m jawsctl --dir d args...`; the CompletedProcess."""
    r = subprocess.run(
        [sys.executable, "-m", "jawsctl", "--dir", d, *args], env=env(), capture_output=True, text=True, timeout=timeout
    )
    if check and r.returncode != 0:
        raise AssertionError("jawsctl %s failed (exit %d): %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def start_supervisord(inst):
    """Starts supervisord on the instance's config (it daemonizes) and waits until it answers."""
    r = subprocess.run(
        [sys.executable, "-m", "supervisor.supervisord", "-c", inst.conf], env=env(), capture_output=True, text=True, timeout=30
    )
    if r.returncode != 0:
        raise AssertionError("supervisord did not start: %s%s" % (r.stdout, r.stderr))
    jawsctl(inst.dir, "wait-up", "--timeout", "20", check=True)


def supervisord_pid(inst):
    with open(inst.path("run", "supervisord.pid")) as f:
        return int(f.read().strip())


def stop_supervisord(inst):
    """Best effort at the end of a test: nothing of it is left running."""
    try:
        pid = supervisord_pid(inst)
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
