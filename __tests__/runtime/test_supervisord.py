"""jawsctl against a real supervisord (started by the test, unix socket in a temp directory), the
way deploy.sh drives it: credentials, ping, status and pids, the program phase (stop, apply in
place with the RPC extension, start), the health gate both ways, a live key rotation, shutdown."""

import json
import os
import unittest

import support
from jawsctl import connection, credentials

TICK = "/bin/sh -c 'while true; do echo tick; sleep 1; done'"
CRASH = "/bin/sh -c 'echo crasher: FATAL no such config file >&2; exit 3'"


class SupervisordTest(unittest.TestCase):
    def setUp(self):
        self.inst = support.InstanceDir()
        self.addCleanup(self.inst.cleanup)
        self.inst.write_conf(support.program("a", TICK) + support.program("b", TICK) + support.group("g", ["a", "b"]))
        support.jawsctl(self.inst.dir, "secret", "--user", support.USER, "--conf", self.inst.conf, check=True)
        self.addCleanup(support.stop_supervisord, self.inst)
        support.start_supervisord(self.inst)
        self.manifest = support.write_json(
            self.inst.path("state", "programs.json"), support.manifest(programs=[{"name": "a"}, {"name": "b"}])
        )

    def ctl(self, *args, check=True):
        return support.jawsctl(self.inst.dir, *args, check=check)

    def pids(self):
        return json.loads(self.ctl("pids").stdout)

    def test_ping_status_pids(self):
        self.assertEqual(self.ctl("ping").returncode, 0)
        self.ctl("health", "--manifest", self.manifest, "--timeout", "20")
        status = self.ctl("status").stdout.splitlines()
        self.assertRegex(status[0], r"^PROCESS\s+STATE\s+PID\s+UPTIME\s+DESCRIPTION$")
        self.assertRegex(status[1], r"^g:a\s+RUNNING\s+\d+\s+0:00:\d\d\s+pid \d+")
        self.assertEqual(len(status), 3)
        pids = self.pids()
        self.assertEqual(sorted(pids), ["g:a", "g:b"])
        self.assertTrue(all(p > 0 for p in pids.values()))

    def test_a_wrong_key_is_refused(self):
        key = credentials.read_key(self.inst.path("secret", "key"))
        self.assertTrue(connection.answers(self.inst.dir, key))
        self.assertFalse(connection.answers(self.inst.dir, "0" * 64))

    def test_stop_apply_start_changes_only_the_changed_program(self):
        self.ctl("health", "--manifest", self.manifest, "--timeout", "20")
        before = self.pids()
        record = self.inst.path("state", "was-running")
        r = self.ctl("stop-programs", self.manifest, "a", "--record", record)
        self.assertEqual(r.stdout, "stopped g:a\n")
        with open(record) as f:
            self.assertEqual(f.read(), "g:a")
        # The new config: a changed (and no longer autostart: started again because it ran), c added; b untouched.
        self.inst.write_conf(
            support.program("a", TICK.replace("tick", "tock"), autostart=False)
            + support.program("b", TICK)
            + support.program("c", TICK)
            + support.group("g", ["a", "b", "c"])
        )
        self.assertEqual(self.ctl("apply").stdout, "changed group g\n")
        programs = [{"name": "a", "autostart": False}, {"name": "b"}, {"name": "c"}]
        new = support.write_json(self.inst.path("state", "new.json"), support.manifest(programs=programs))
        r = self.ctl("start-programs", new, "a", "c", "--record", record)
        # supervisord may have started c (autostart) by itself already: that is no error.
        self.assertRegex(r.stdout, r"^started g:a\n(started g:c\n)?$")
        self.assertEqual(self.ctl("health", "--manifest", new, "--timeout", "20").stdout, "health: 2 process(es) up\n")
        after = self.pids()
        self.assertEqual(after["g:b"], before["g:b"])
        self.assertNotEqual(after["g:a"], before["g:a"])

    def test_apply_refuses_while_a_changed_program_runs(self):
        self.inst.write_conf(support.program("a", TICK.replace("tick", "tock")) + support.program("b", TICK) + support.group("g", ["a", "b"]))
        r = self.ctl("apply", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, "apply: supervisord refused: .*stop these processes first: a")

    def test_the_health_gate_names_a_crashing_program_with_its_log(self):
        self.ctl("stop-programs", self.manifest, "a")
        # startsecs 10: a crasher counts as started (RUNNING, which the gate accepts) only if it lives
        # that long; with startsecs 1 a loaded machine could take that long to run the crasher.
        crasher = support.program("a", CRASH, startsecs=10)
        self.inst.write_conf(crasher + support.program("b", TICK) + support.group("g", ["a", "b"]))
        self.ctl("apply")
        self.ctl("start-programs", self.manifest, "a")
        r = self.ctl("health", "--manifest", self.manifest, "--timeout", "20", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("health gate failed: g:a did not start\n", r.stderr)
        # Exited before startsecs, no retries: FATAL.
        self.assertRegex(r.stderr, r"\ng:a\s+FATAL\s")
        self.assertRegex(r.stderr, r"--- last stdout of g:a ---\n(tick\n)*crasher: FATAL no such config file")

    def test_a_live_rotation_switches_the_key_without_a_restart(self):
        pid = support.supervisord_pid(self.inst)
        before = self.pids()
        old = credentials.read_key(self.inst.path("secret", "key"))
        r = self.ctl("rotate-key", "--user", support.USER, "--conf", self.inst.conf)
        self.assertEqual(r.stdout, "key rotated: supervisord accepts the new key only (no restart)\n")
        new = credentials.read_key(self.inst.path("secret", "key"))
        self.assertNotIn(new, r.stdout + r.stderr)
        self.assertFalse(connection.answers(self.inst.dir, old))
        self.assertTrue(connection.answers(self.inst.dir, new))
        self.assertEqual((support.supervisord_pid(self.inst), self.pids()), (pid, before))

    def test_check_config_uses_supervisords_parser(self):
        # Beside the config, as the deploy's staged one: %(here)s is the config's directory.
        good = self.inst.path("good.conf")
        with open(self.inst.conf) as f, open(good, "w") as g:
            g.write(f.read())
        self.assertEqual(self.ctl("check-config", good, "--user", support.USER).returncode, 0)
        bad = self.inst.path("bad.conf")
        with open(bad, "w") as g, open(good) as f:
            g.write(f.read().replace("startsecs=1", "startsecs=soon", 1))
        r = self.ctl("check-config", bad, "--user", support.USER, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the new config is rejected by supervisord's parser", r.stderr)
        self.assertEqual([f for f in os.listdir(self.inst.dir) if f.startswith(".check-auth-")], [])

    def test_shutdown_waits_until_supervisord_is_gone(self):
        pid = support.supervisord_pid(self.inst)
        self.ctl("shutdown", "--timeout", "30")
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)
        r = self.ctl("ping", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ping: cannot reach supervisord of %s" % self.inst.dir, r.stderr)


if __name__ == "__main__":
    unittest.main()
