"""The instance's control endpoint: a connection with its key, and supervisord up or down.

An instance launched in a Slurm job (the Slurm launcher) listens on its node's address, which only
the job knows: its supervisord.conf names it with the expansion NODE_ADDRESS, and the job
publishes where it runs in run/slurm-job.json (`location`). The credentials file then carries
the published URL (`resolve_url`), so every caller of `proxy` reaches the job's supervisord
without knowing how it was launched.
"""

import configparser
import json
import os
import time
import xmlrpc.client

from supervisor import xmlrpc as sxmlrpc

# What the job exports before it starts supervisord, and how its config names it.
NODE_ADDRESS_VARIABLE = "JAWS_SUPERVISOR_ADDRESS"
NODE_ADDRESS = "%(ENV_" + NODE_ADDRESS_VARIABLE + ")s"
# Where the Slurm job publishes its job id, node, address and control URL.
LOCATION = os.path.join("run", "slurm-job.json")


def location(d):
    """What the instance's Slurm job published ({"job", "node", "address", "url", "published"}), or None."""
    try:
        with open(os.path.join(d, LOCATION)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def resolve_url(d, url):
    """A serverurl of the config with the node's address put in (as published by the job); unchanged
    when it names none, or when no job has published one yet."""
    where = location(d) if NODE_ADDRESS in url else None
    return url.replace(NODE_ADDRESS, where["address"]) if where and where.get("address") else url


def ctl_conf(d):
    """secret/supervisorctl.conf: endpoint, user and key of the running instance."""
    return os.path.join(d, "secret", "supervisorctl.conf")


def proxy(d, key=None):
    """A connection to the instance's endpoint (from secret/supervisorctl.conf), with `key` or that file's."""
    conf = configparser.RawConfigParser()
    conf.read(ctl_conf(d))
    s = conf["supervisorctl"]
    if NODE_ADDRESS in s["serverurl"]:
        raise ConnectionRefusedError("no Slurm job of this instance has published its address yet (%s)" % os.path.join(d, LOCATION))
    transport = sxmlrpc.SupervisorTransport(s.get("username"), s.get("password") if key is None else key, s["serverurl"])
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def answers(d, key):
    """supervisord answers at the instance's endpoint and accepts `key`."""
    try:
        p = proxy(d, key)
    except OSError:
        return False  # no endpoint yet (a Slurm job that has not published one)
    try:
        p.supervisor.getState()
        return True
    except Exception:
        return False
    finally:
        p("close")()


def info_by_name(s):
    """supervisord's process info by "group:process"."""
    return {"%s:%s" % (i["group"], i["name"]): i for i in s.supervisor.getAllProcessInfo()}


def ping(d):
    proxy(d).supervisor.getState()


def wait_up(d, timeout, sleep=time.sleep):
    """Until supervisord says RUNNING; SystemExit after `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        try:
            if proxy(d).supervisor.getState()["statename"] == "RUNNING":
                return
        except Exception:
            pass
        if time.time() > deadline:
            raise SystemExit("supervisord does not answer after %ss" % timeout)
        sleep(0.2)


def gone(d, pid):
    """The supervisord of `pid` no longer answers at the instance's endpoint (another may: a restart)."""
    try:
        return proxy(d).supervisor.getPID() != pid
    except Exception:
        return True


def shutdown(d, timeout, remote=False):
    """Asks supervisord to shut down (its programs stop in priority order) and waits until it is gone:
    its process on this host, or with `remote` (it runs in a Slurm job on another node) its endpoint."""
    s = proxy(d)
    try:
        pid = s.supervisor.getPID()
        s.supervisor.shutdown()
    except Exception as e:
        raise SystemExit("shutdown request failed: %s" % e)
    # shutdown only asks: wait until the process is really gone.
    deadline = time.time() + timeout
    while time.time() < deadline:
        if remote:
            if gone(d, pid):
                return
        else:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.2)
    raise SystemExit("supervisord (pid %d) still running %ss after shutdown" % (pid, timeout))
