"""The instance's control endpoint: a connection with its key, and supervisord up or down."""

import configparser
import os
import time
import xmlrpc.client

from supervisor import xmlrpc as sxmlrpc


def ctl_conf(d):
    """secret/supervisorctl.conf: endpoint, user and key of the running instance."""
    return os.path.join(d, "secret", "supervisorctl.conf")


def proxy(d, key=None):
    """A connection to the instance's endpoint (from secret/supervisorctl.conf), with `key` or that file's."""
    conf = configparser.RawConfigParser()
    conf.read(ctl_conf(d))
    s = conf["supervisorctl"]
    transport = sxmlrpc.SupervisorTransport(s.get("username"), s.get("password") if key is None else key, s["serverurl"])
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def answers(d, key):
    """supervisord answers at the instance's endpoint and accepts `key`."""
    p = proxy(d, key)
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


def shutdown(d, timeout):
    """Asks supervisord to shut down (its programs stop in priority order) and waits until it is gone."""
    s = proxy(d)
    try:
        pid = s.supervisor.getPID()
        s.supervisor.shutdown()
    except Exception as e:
        raise SystemExit("shutdown request failed: %s" % e)
    # shutdown only asks: wait until the process is really gone.
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    raise SystemExit("supervisord (pid %d) still running %ss after shutdown" % (pid, timeout))
