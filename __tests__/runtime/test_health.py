"""health: the verdict of one process, and of a manifest's autostart programs."""

import unittest

import support
from jawsctl import health


def info(state, exitstatus=0):
    return {"statename": state, "exitstatus": exitstatus}


LONG = {"oneShot": False, "exitcodes": [0]}
ONE_SHOT = {"oneShot": True, "exitcodes": [0, 2]}


class VerdictTest(unittest.TestCase):
    def test_a_long_running_program(self):
        for state, want in [
            ("RUNNING", "ok"),
            ("STARTING", "waiting"),
            ("BACKOFF", "waiting"),
            ("STOPPED", "waiting"),
            ("FATAL", "failed"),
            ("UNKNOWN", "failed"),
            ("EXITED", "failed"),
        ]:
            with self.subTest(state=state):
                self.assertEqual(health.verdict(LONG, info(state)), want)

    def test_a_one_shot_program_by_its_exit_codes(self):
        self.assertEqual(health.verdict(ONE_SHOT, info("EXITED", 0)), "ok")
        self.assertEqual(health.verdict(ONE_SHOT, info("EXITED", 2)), "ok")
        self.assertEqual(health.verdict(ONE_SHOT, info("EXITED", 1)), "failed")
        self.assertEqual(health.verdict(ONE_SHOT, info("RUNNING")), "ok")
        self.assertEqual(health.verdict(ONE_SHOT, info("STARTING")), "waiting")
        self.assertEqual(health.verdict(ONE_SHOT, info("FATAL")), "failed")

    def test_verdicts_cover_autostart_processes_only_and_wait_for_unknown_ones(self):
        x = support.manifest(
            group="g",
            programs=[{"name": "a", "processes": ["a_0", "a_1"]}, {"name": "manual", "autostart": False}],
        )
        got = health.verdicts(x, {"g:a_0": info("RUNNING"), "g:manual": info("FATAL")})
        self.assertEqual(got, {"g:a_0": "ok", "g:a_1": "waiting"})


class StatusTest(unittest.TestCase):
    def test_uptime_only_while_running(self):
        self.assertEqual(health.fmt_uptime({"statename": "RUNNING", "now": 3725 + 10, "start": 10}), "1:02:05")
        self.assertEqual(health.fmt_uptime({"statename": "STOPPED", "now": 5, "start": 1}), "-")

    def test_pids_json_sorted(self):
        self.assertEqual(health.pids_json({"g:b": {"pid": 0}, "g:a": {"pid": 12}}), '{"g:a": 12, "g:b": 0}')


if __name__ == "__main__":
    unittest.main()
