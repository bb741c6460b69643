"""A service for the probe tests, run under supervisord: `probe-server.py MODE PORT [HANG_FILE]`.

http:   serves GET / with 200 "jaws-ok <GREETING>"; while HANG_FILE exists a request hangs (a
        service that stopped answering but stays RUNNING); HANG_FILE is removed at start, so a
        restart brings the service back.
tcp:    accepts connections and closes them.
silent: runs and never listens (RUNNING, not serving).
"""

import http.server
import os
import socket
import sys
import time

mode, port = sys.argv[1], int(sys.argv[2])
hang = sys.argv[3] if len(sys.argv) > 3 else None
if hang and os.path.exists(hang):
    os.remove(hang)
print("probe-server %s on %d" % (mode, port), flush=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        while hang and os.path.exists(hang):
            time.sleep(0.2)
        body = ("jaws-ok %s" % os.environ.get("GREETING", "-")).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if mode == "http":
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
elif mode == "tcp":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen()
    while True:
        s.accept()[0].close()
else:
    while True:
        time.sleep(1)
