"""Preflight: the endpoints the programs need (JAWS central, RabbitMQ, the database) accept a
TCP connection from this host, checked before a deploy changes anything."""

import socket
import time


def preflight(endpoints, timeout, out=None):
    """`endpoints`: (name, host, port) each. One line per endpoint; SystemExit naming the first
    that does not accept a connection within `timeout` seconds."""
    out = out or (lambda line: print(line, flush=True))
    for name, host, port in endpoints:
        t0 = time.time()
        try:
            socket.create_connection((host, int(port)), timeout=timeout).close()
        except OSError as e:
            raise SystemExit("preflight: %s (%s:%s) is not reachable from this host within %ss: %s" % (name, host, port, timeout, e))
        out("preflight: %s (%s:%s) answers (%d ms)" % (name, host, port, (time.time() - t0) * 1000))
