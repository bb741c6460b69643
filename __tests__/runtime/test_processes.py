"""processes: what reap recognises and stops (real processes, this user's /proc)."""

import os
import subprocess
import sys
import time
import unittest

import support
from jawsctl import processes


class RecogniseTest(unittest.TestCase):
    def test_is_supervisord_of(self):
        conf = "/srv/i/supervisord.conf"
        for argv, want in [
            (["/srv/i/venv/bin/python", "/srv/i/venv/bin/supervisord", "-c", conf], True),
            (["supervisord", "-c", "/srv/i/./supervisord.conf"], True),
            (["/usr/bin/supervisord", "-c", "/srv/other/supervisord.conf"], False),
            (["/usr/bin/supervisord", "-c"], False),
            (["/usr/bin/supervisorctl", "-c", conf], False),
            (["python", "-m", "supervisor.supervisord", "-c", conf], False),
            (["supervisord", "--configuration", conf], False),
        ]:
            with self.subTest(argv=argv):
                self.assertEqual(processes.is_supervisord_of(argv, conf), want)

    def test_is_program_of(self):
        urls = {"unix:///srv/i/run/supervisor.sock"}
        self.assertTrue(processes.is_program_of({"SUPERVISOR_ENABLED": "1", "SUPERVISOR_SERVER_URL": next(iter(urls))}, urls))
        self.assertFalse(processes.is_program_of({"SUPERVISOR_ENABLED": "1", "SUPERVISOR_SERVER_URL": "unix:///x"}, urls))
        self.assertFalse(processes.is_program_of({"SUPERVISOR_SERVER_URL": next(iter(urls))}, urls))

    def test_parse_stat_with_a_command_name_holding_parens_and_spaces(self):
        self.assertEqual(processes.parse_stat("42 (a) b (c)) S 7 42 42 0"), ("S", 7))


class ReapTest(unittest.TestCase):
    def setUp(self):
        self.inst = support.InstanceDir()
        self.addCleanup(self.inst.cleanup)
        self.inst.write_conf()

    def spawn(self, env):
        p = subprocess.Popen(["sleep", "300"], env=env, start_new_session=True)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        return p

    def test_own_processes_sees_a_child_but_never_itself_or_its_ancestors(self):
        p = self.spawn(dict(os.environ, JAWS_MARK="here"))
        time.sleep(0.2)
        seen = {pid: env for pid, _, env in processes.own_processes()}
        self.assertEqual(seen[p.pid].get("JAWS_MARK"), "here")
        self.assertNotIn(os.getpid(), seen)
        self.assertNotIn(os.getppid(), seen)

    def test_reap_stops_programs_of_the_instance_and_leaves_others(self):
        url = "unix://" + self.inst.path("run", "supervisor.sock")
        orphan = self.spawn(dict(os.environ, SUPERVISOR_ENABLED="1", SUPERVISOR_SERVER_URL=url))
        other = self.spawn(dict(os.environ, SUPERVISOR_ENABLED="1", SUPERVISOR_SERVER_URL="unix:///elsewhere.sock"))
        r = support.jawsctl(self.inst.dir, "reap", "--conf", self.inst.conf, check=True)
        self.assertEqual(r.stdout, "stopping programs left running by a dead supervisord: pid %d\n" % orphan.pid)
        self.assertEqual(orphan.wait(timeout=10), -15)
        self.assertIsNone(other.poll())

    def test_reap_with_nothing_to_do_says_nothing(self):
        r = support.jawsctl(self.inst.dir, "reap", "--conf", self.inst.conf, check=True)
        self.assertEqual(r.stdout + r.stderr, "")


if __name__ == "__main__":
    unittest.main()
