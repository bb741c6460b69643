"""Drop-ins (config files of other tools that supervisord.conf includes) and preflight: the
check of the whole config with supervisord's parser naming the guilty drop-in, the record of
drop-ins that tells a deploy which drop-in programs to restart, a drop-in program kept running
across a change of ours and restarted when its own file changed, and the TCP preflight."""

import json
import os
import shutil
import socket
import unittest

import support
from jawsctl import dropins

TICK = "/bin/sh -c 'while true; do echo tick; sleep 1; done'"


class DropinTest(unittest.TestCase):
    def setUp(self):
        self.inst = support.InstanceDir()
        self.addCleanup(self.inst.cleanup)
        # Another tool's directory (with the log/ its programs write to, %(here)s/log).
        self.dropdir = self.inst.dir + "-dropins"
        os.makedirs(os.path.join(self.dropdir, "log"))
        self.addCleanup(shutil.rmtree, self.dropdir, True)
        self.ours = support.program("a", TICK) + support.program("b", TICK) + support.group("g", ["a", "b"])
        self.inst.write_conf(self.ours, includes=[self.dropdir + "/*.conf"])
        support.jawsctl(self.inst.dir, "secret", "--user", support.USER, "--conf", self.inst.conf, check=True)

    def ctl(self, *args, check=True):
        return support.jawsctl(self.inst.dir, *args, check=check)

    def dropin(self, name, text):
        path = os.path.join(self.dropdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self):
        return self.ctl("check-config", self.inst.conf, "--user", support.USER, check=False)

    def test_check_config_reads_the_drop_ins(self):
        self.dropin("cromwell.conf", support.program("cromwell", TICK))
        self.assertEqual(self.check().returncode, 0, self.check().stderr)
        # No drop-in matching the glob is fine too (supervisord only warns).
        os.remove(os.path.join(self.dropdir, "cromwell.conf"))
        self.assertEqual(self.check().returncode, 0)

    def test_a_drop_in_that_breaks_the_config_is_named(self):
        cases = [
            ("syntax.conf", "[program:x\ncommand=true\n", "does not parse"),
            ("ours.conf", support.program("a", "/bin/true"), r"redefines \[program:a\] of this instance's own config"),
            ("group.conf", support.program("x", TICK) + support.group("g2", ["x", "b"]), r"claims this instance's program\(s\) b"),
            ("named.conf", support.program("g", TICK), "takes the name of this instance's own program or group"),
            ("settings.conf", "[supervisord]\nloglevel=debug\n", r"redefines \[supervisord\]"),
            ("server.conf", "[inet_http_server]\nport=127.0.0.1:9\n", "may only add programs and groups"),
            ("value.conf", support.program("x", TICK).replace("autostart=true", "autostart=maybe"), "is rejected by supervisord's parser"),
        ]
        good = self.dropin("cromwell.conf", support.program("cromwell", TICK))
        for name, text, message in cases:
            with self.subTest(name=name):
                path = self.dropin(name, text)
                r = self.check()
                os.remove(path)
                self.assertEqual(r.returncode, 1)
                self.assertIn("the drop-in %s" % path, r.stderr)
                self.assertRegex(r.stderr, message)
                self.assertNotIn(good, r.stderr)
        self.assertEqual([f for f in os.listdir(self.inst.dir) if f.startswith(".check")], [])

    def test_plan_names_the_groups_of_new_changed_and_gone_drop_ins(self):
        plan = lambda: self.ctl("dropin-plan", self.inst.conf)  # noqa: E731
        c = self.dropin("cromwell.conf", support.program("cromwell", TICK))
        p = self.dropin("pool.conf", support.program("p1", TICK) + support.program("p2", TICK) + support.group("pool", ["p1", "p2"]))
        r = plan()
        self.assertEqual(r.stdout, "DROPIN_GROUPS='cromwell pool'\n")
        self.assertIn("drop-in %s new: its groups cromwell are (re)applied" % c, r.stderr)
        self.ctl("dropin-record", self.inst.conf)
        with open(self.inst.path("state", "dropins.json")) as f:
            self.assertEqual(sorted(json.load(f)[p]["groups"]), ["pool"])
        self.assertEqual((plan().stdout, plan().stderr), ("DROPIN_GROUPS=''\n", ""))
        self.dropin("pool.conf", support.program("p1", TICK) + support.group("pool", ["p1"]))
        self.assertEqual(plan().stdout, "DROPIN_GROUPS=pool\n")
        os.remove(c)
        r = plan()
        self.assertEqual(r.stdout, "DROPIN_GROUPS='cromwell pool'\n")
        self.assertIn("drop-in %s gone" % c, r.stderr)

    def test_a_drop_in_program_restarts_only_when_its_file_changed(self):
        self.dropin("cromwell.conf", support.program("cromwell", TICK))
        self.addCleanup(support.stop_supervisord, self.inst)
        support.start_supervisord(self.inst)
        manifest = support.write_json(self.inst.path("state", "programs.json"), support.manifest(programs=[{"name": "a"}, {"name": "b"}]))
        self.ctl("health", "--manifest", manifest, "--timeout", "20")
        self.ctl("dropin-record", self.inst.conf)
        pids = lambda: json.loads(self.ctl("pids").stdout)  # noqa: E731
        before = pids()
        self.assertGreater(before["cromwell:cromwell"], 0)

        # One of ours changes: the drop-in program keeps running.
        record = self.inst.path("state", "was-running")
        self.ctl("stop-programs", manifest, "a", "--record", record)
        self.inst.write_conf(self.ours.replace("echo tick", "echo tock", 1), includes=[self.dropdir + "/*.conf"])
        self.assertEqual(self.ctl("dropin-plan", self.inst.conf).stdout, "DROPIN_GROUPS=''\n")
        self.ctl("apply")
        self.ctl("start-programs", manifest, "a", "--record", record)
        mid = pids()
        self.assertEqual(mid["cromwell:cromwell"], before["cromwell:cromwell"])
        self.assertNotEqual(mid["g:a"], before["g:a"])

        # Its drop-in changes: only it restarts, with the new command.
        self.dropin("cromwell.conf", support.program("cromwell", TICK.replace("tick", "cromwell-2")))
        self.assertEqual(self.ctl("dropin-plan", self.inst.conf).stdout, "DROPIN_GROUPS=cromwell\n")
        dropin_record = self.inst.path("state", "dropin-was-running")
        self.assertEqual(self.ctl("dropin-stop", "cromwell", "--record", dropin_record).stdout, "stopped drop-in process cromwell:cromwell\n")
        self.ctl("apply")
        self.ctl("dropin-start", "cromwell", "--record", dropin_record)
        support.jawsctl(self.inst.dir, "health", "--manifest", manifest, "--timeout", "20", check=True)
        after = pids()
        self.assertNotEqual(after["cromwell:cromwell"], mid["cromwell:cromwell"])
        self.assertEqual({k: after[k] for k in ("g:a", "g:b")}, {k: mid[k] for k in ("g:a", "g:b")})
        with open("/proc/%d/cmdline" % after["cromwell:cromwell"], "rb") as f:
            self.assertIn(b"cromwell-2", f.read())


class PreflightTest(unittest.TestCase):
    def test_a_listener_passes_and_a_closed_port_is_named(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        self.addCleanup(listener.close)
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
        closed.close()
        port = listener.getsockname()[1]
        r = support.jawsctl("/nonexistent", "preflight", "--timeout", "2", "--endpoint", "JAWS central", "127.0.0.1", str(port))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^preflight: JAWS central \(127\.0\.0\.1:%d\) answers \(\d+ ms\)\n$" % port)
        r = support.jawsctl(
            "/nonexistent", "preflight", "--timeout", "2",
            "--endpoint", "JAWS central", "127.0.0.1", str(port),
            "--endpoint", "RabbitMQ", "127.0.0.1", str(closed_port),
            "--endpoint", "db", "127.0.0.1", str(port),
        )  # fmt: skip
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout.count("answers"), 1)
        self.assertRegex(r.stderr, r"preflight: RabbitMQ \(127\.0\.0\.1:%d\) is not reachable from this host within 2\.0s" % closed_port)

    def test_groups_of_a_drop_in(self):
        inst = support.InstanceDir()
        self.addCleanup(inst.cleanup)
        path = inst.path("d.conf")
        with open(path, "w") as f:
            f.write(support.program("x", TICK) + support.program("y", TICK) + support.program("z", TICK) + support.group("xy", ["x", "y"]))
        self.assertEqual(dropins.groups_of(path), ["xy", "z"])


if __name__ == "__main__":
    unittest.main()
