"""probes: each kind against real sockets, servers and processes; the records, status rows, the
ensure restarts with their back-off, and the health gate waiting for a probe."""

import http.server
import io
import os
import socket
import tempfile
import threading
import time
import unittest

import support
from jawsctl import health, probes

TIMING = {"intervalSeconds": 1, "timeoutSeconds": 2, "successes": 1, "failures": 2}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status, body = {"/ok": (200, b'{"status": "ok", "pct": "100%"}'), "/down": (503, b"rabbitmq lost")}.get(self.path, (404, b"no"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Dir:
    def __init__(self, case):
        self.dir = tempfile.mkdtemp(prefix="jp-", dir="/tmp")
        for d in ("state", "log", "bin"):
            os.makedirs(os.path.join(self.dir, d))
        case.addCleanup(lambda: __import__("shutil").rmtree(self.dir, ignore_errors=True))

    def script(self, name, text):
        path = os.path.join(self.dir, "bin", name)
        with open(path, "w") as f:
            f.write("#!/bin/bash\n" + text)
        os.chmod(path, 0o700)
        return path


class TcpTest(unittest.TestCase):
    def test_a_listening_port_passes_and_a_closed_one_fails_naming_it(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            ok, detail = probes.run("/", dict(TIMING, kind="tcp", host="127.0.0.1", port=port))
            self.assertTrue(ok, detail)
        closed = free_port()
        ok, detail = probes.run("/", dict(TIMING, kind="tcp", host="127.0.0.1", port=closed))
        self.assertFalse(ok)
        self.assertIn("127.0.0.1:%d" % closed, detail)
        self.assertIn("refused", detail.lower())


class HttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.base = "http://127.0.0.1:%d" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def probe(self, path, **kw):
        return probes.run("/", dict(TIMING, kind="http", url=self.base + path, expectStatus=kw.pop("expect", []), **kw))

    def test_2xx_passes_by_default_and_other_statuses_fail_with_the_body(self):
        self.assertEqual(self.probe("/ok"), (True, "HTTP 200"))
        ok, detail = self.probe("/down")
        self.assertFalse(ok)
        self.assertIn("HTTP 503 (expected 2xx): rabbitmq lost", detail)

    def test_expected_statuses_and_body_text_taken_literally(self):
        self.assertTrue(self.probe("/down", expect=[503])[0])
        self.assertTrue(self.probe("/ok", bodyMatch='"pct": "100%"')[0])
        ok, detail = self.probe("/ok", bodyMatch="st.tus")
        self.assertFalse(ok)
        self.assertIn('does not contain "st.tus"', detail)

    def test_no_proxy_is_used_whatever_the_environment_says(self):
        old = os.environ.get("http_proxy")
        os.environ["http_proxy"] = "http://127.0.0.1:%d" % free_port()
        try:
            self.assertEqual(self.probe("/ok"), (True, "HTTP 200"))
        finally:
            if old is None:
                del os.environ["http_proxy"]
            else:
                os.environ["http_proxy"] = old

    def test_nothing_listening_fails_with_the_reason(self):
        ok, detail = probes.run("/", dict(TIMING, kind="http", url="http://127.0.0.1:%d/" % free_port(), expectStatus=[]))
        self.assertFalse(ok)
        self.assertIn("refused", detail.lower())


class CommandTest(unittest.TestCase):
    def test_exit_status_output_directory_and_timeout(self):
        d = Dir(self)
        good = d.script("p@probe.sh", 'echo "in $PWD"; exit 0\n')
        ok, detail = probes.run(d.dir, dict(TIMING, kind="command", wrapper=good, directory="/"))
        self.assertEqual((ok, detail), (True, "exit 0: in /"))
        bad = d.script("q@probe.sh", "echo 'queue unreachable' >&2; exit 4\n")
        self.assertEqual(probes.run(d.dir, dict(TIMING, kind="command", wrapper=bad, directory=None)), (False, "exit 4: queue unreachable"))
        marker = os.path.join(d.dir, "child-alive")
        hang = d.script("h@probe.sh", "(sleep 3; touch %s) & sleep 30\n" % marker)
        t0 = time.time()
        ok, detail = probes.run(d.dir, dict(TIMING, kind="command", wrapper=hang, directory=None, timeoutSeconds=1))
        self.assertFalse(ok)
        self.assertIn("timed out after 1s", detail)
        self.assertLess(time.time() - t0, 2.5)
        time.sleep(3.2)
        self.assertFalse(os.path.exists(marker), "the probe's whole process group is killed at the timeout")


def program(name="web", restart=None, **probe):
    p = {"name": name, "processes": [name], "autostart": True, "oneShot": False, "exitcodes": [0], "fingerprint": "f"}
    p["probe"] = dict(TIMING, kind="tcp", host="127.0.0.1", port=1, **probe)
    if restart:
        p["restartOnProbeFailures"] = restart
    return p


def infos(state="RUNNING", names=("g:web",)):
    return {n: {"statename": state, "pid": 10, "now": 0, "start": 0, "description": "", "exitstatus": 0} for n in names}


class Runner:
    """Probe results in order (True/False), then the last one forever."""

    def __init__(self, *results):
        self.results = list(results)
        self.calls = 0

    def __call__(self, d, probe):
        self.calls += 1
        ok = self.results.pop(0) if len(self.results) > 1 else self.results[0]
        return ok, "passed" if ok else "connection refused"


class FakeSupervisor:
    def __init__(self):
        self.calls = []

    def stopProcess(self, name, wait):
        self.calls.append(("stop", name))

    def startProcess(self, name, wait):
        self.calls.append(("start", name))


class Fake:
    def __init__(self, info=None):
        self.supervisor = FakeSupervisor()
        self.info = info or {}
        self.supervisor.getAllProcessInfo = lambda: [dict(v, group=k.split(":")[0], name=k.split(":")[1]) for k, v in self.info.items()]
        self.supervisor.tailProcessStdoutLog = lambda name, o, n: ["listening on nothing\n", 0, False]
        self.supervisor.tailProcessStderrLog = lambda name, o, n: ["", 0, False]


class StatusRowsTest(unittest.TestCase):
    def test_runs_a_stale_probe_keeps_a_fresh_one_and_says_failing_after_the_threshold(self):
        d = Dir(self)
        m = support.manifest(group="g", programs=[program()])
        r = Runner(False)
        row = probes.status_rows(d.dir, m, infos(), now=100, runner=r)[0]
        self.assertEqual(row[:4], ("g:web", "tcp 127.0.0.1:1", "FAIL", "0s"))
        # Younger than the interval: shown with its age, not run again.
        self.assertEqual(probes.status_rows(d.dir, m, infos(), now=100.5, runner=r)[0][2:4], ("FAIL", "0s"))
        self.assertEqual(r.calls, 1)
        self.assertEqual(probes.status_rows(d.dir, m, infos(), now=102, runner=r)[0][2:4], ("FAILING", "0s"))
        stopped = probes.status_rows(d.dir, m, infos("STOPPED"), now=200, runner=r)[0]
        self.assertEqual(stopped[2:], ("-", "-", "not running (last: FAILING 1m38s ago)"))
        self.assertEqual(r.calls, 2)

    def test_no_probe_no_rows_and_no_table(self):
        m = support.manifest(group="g", programs=[{"name": "plain"}])
        self.assertEqual(probes.status_rows(Dir(self).dir, m, infos()), [])
        out = io.StringIO()
        probes.print_rows([], out)
        self.assertEqual(out.getvalue(), "")


class EnsureTest(unittest.TestCase):
    def test_restart_after_n_failures_then_back_off_doubling_until_a_pass_long_after(self):
        d = Dir(self)
        m = support.manifest(group="g", programs=[program(restart=2), program("other")])
        s, out = Fake(), io.StringIO()
        fail = Runner(False)
        run = lambda t, r=fail: probes.ensure(s, d.dir, m, infos(names=("g:web", "g:other")), out, now=t, runner=r)  # noqa: E731
        self.assertEqual(run(0), [])
        self.assertEqual(run(1), ["web"])
        self.assertEqual(s.supervisor.calls, [("stop", "g:web"), ("start", "g:web")])
        self.assertEqual(run(2), [])
        # Two failures again, but the back-off after one restart is 2 intervals from the restart (t=1).
        self.assertEqual(run(2.5), [])
        self.assertIn("restart 2 held back: back-off", out.getvalue())
        self.assertEqual(run(3), ["web"])
        state = probes.load_state(d.dir)["web"]
        self.assertEqual((state["restarts"], state["lastRestart"]), (2, 3))
        self.assertEqual(probes.backoff(m["programs"][0], state), 4)
        # A pass soon after a restart keeps the back-off; one BACKOFF_RESET after it ends it.
        run(4, Runner(True))
        self.assertEqual(probes.load_state(d.dir)["web"]["restarts"], 2)
        later = 3 + probes.BACKOFF_RESET
        run(later, Runner(True))
        self.assertEqual(probes.load_state(d.dir)["web"]["restarts"], 0)
        run(later + 1)
        self.assertEqual(run(later + 1.1), ["web"])
        # Only the program that asked for it was probed; every event is in log/probes.log.
        self.assertNotIn("other", probes.load_state(d.dir))
        with open(os.path.join(d.dir, "log", "probes.log")) as f:
            log = f.read()
        self.assertEqual(log.count("restarted (restart"), 3)
        self.assertRegex(log, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ probe of g:web failed \(1 in a row of 2\): connection refused\n")

    def test_a_program_not_running_is_left_to_supervisord(self):
        d = Dir(self)
        m = support.manifest(group="g", programs=[program(restart=1)])
        s, r = Fake(), Runner(False)
        self.assertEqual(probes.ensure(s, d.dir, m, infos("BACKOFF"), io.StringIO(), runner=r), [])
        self.assertEqual((r.calls, s.supervisor.calls), (0, []))

    def test_backoff_is_capped(self):
        self.assertEqual(probes.backoff(program(), {"restarts": 30}), probes.BACKOFF_CAP)


class GateTest(unittest.TestCase):
    def test_waits_for_the_probe_after_running_and_passes_at_the_success_threshold(self):
        d = Dir(self)
        m = support.manifest(group="g", programs=[program(successes=2, intervalSeconds=0)])
        r, out = Runner(False, True, True), io.StringIO()
        health.health(Fake(infos()), m, 10, out=out, err=io.StringIO(), sleep=lambda s: None, d=d.dir, runner=r)
        self.assertEqual(r.calls, 3)
        self.assertEqual(out.getvalue(), "health: 1 process(es) up, 1 probe(s) passing\n")
        self.assertTrue(probes.load_state(d.dir)["web"]["ok"])

    def test_a_running_program_whose_probe_fails_fails_the_gate_with_the_probe_output_and_log_tail(self):
        d = Dir(self)
        m = support.manifest(group="g", programs=[program(intervalSeconds=0)])
        err = io.StringIO()
        with self.assertRaises(SystemExit):
            health.health(Fake(infos()), m, 0.3, out=io.StringIO(), err=err, sleep=time.sleep, d=d.dir, runner=Runner(False))
        text = err.getvalue()
        self.assertIn("g:web is RUNNING but its probe (tcp 127.0.0.1:1) did not pass 1 time(s) in a row within 0.3s", text)
        self.assertIn("last result: connection refused", text)
        self.assertIn("--- last stdout of g:web ---\nlistening on nothing", text)

    def test_the_probe_does_not_run_before_the_process_is_running(self):
        m = support.manifest(group="g", programs=[program()])
        r = Runner(True)
        with self.assertRaises(SystemExit):
            health.health(Fake(infos("STARTING")), m, 0.2, out=io.StringIO(), err=io.StringIO(), d=Dir(self).dir, runner=r)
        self.assertEqual(r.calls, 0)


if __name__ == "__main__":
    unittest.main()
