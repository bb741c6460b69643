"""The command line: every subcommand and its options as the shell scripts spell them."""

import contextlib
import io
import unittest

import support  # noqa: F401 (templates/ on sys.path)
from jawsctl import __main__ as cli


def parse(*argv):
    return vars(cli.parser().parse_args(["--dir", "/srv/i", *argv]))


def refused(*argv):
    """argparse's exit status and message for argv."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.suppress(SystemExit):
        cli.parser().parse_args(list(argv))
        return None
    return err.getvalue()


class ParseTest(unittest.TestCase):
    def test_every_subcommand_has_a_handler(self):
        names = set(cli.parser()._subparsers._group_actions[0].choices)
        self.assertEqual(names, set(cli.COMMANDS))
        self.assertEqual(len(names), 33)

    def test_subcommands_without_options(self):
        for cmd in ("ping", "apply", "status", "pids"):
            with self.subTest(cmd=cmd):
                self.assertEqual(parse(cmd), {"dir": "/srv/i", "cmd": cmd})

    def test_timeouts_and_their_defaults(self):
        self.assertEqual(parse("wait-up")["timeout"], 30)
        self.assertEqual(parse("wait-up", "--timeout", "2.5")["timeout"], 2.5)
        self.assertEqual(parse("shutdown")["timeout"], 300)
        self.assertEqual(parse("shutdown", "--timeout", "60")["timeout"], 60)
        self.assertEqual(parse("reap", "--conf", "c")["timeout"], 300)

    def test_credentials(self):
        self.assertEqual(parse("secret", "--user", "u"), {"dir": "/srv/i", "cmd": "secret", "user": "u", "conf": None})
        self.assertEqual(parse("secret", "--user", "u", "--conf", "c")["conf"], "c")
        self.assertEqual(parse("rotate-key", "--user", "u", "--conf", "c"), {"dir": "/srv/i", "cmd": "rotate-key", "user": "u", "conf": "c"})
        self.assertEqual(parse("check-config", "f.conf", "--user", "u"), {"dir": "/srv/i", "cmd": "check-config", "file": "f.conf", "user": "u"})

    def test_plan_and_program_phases(self):
        self.assertEqual(parse("plan", "old.json", "new.json"), {"dir": "/srv/i", "cmd": "plan", "old": "old.json", "new": "new.json"})
        for cmd in ("stop-programs", "start-programs"):
            with self.subTest(cmd=cmd):
                # As deploy.sh spells it: names after the manifest, --record last.
                got = parse(cmd, "m.json", "a", "b", "--record", "r")
                self.assertEqual(got, {"dir": "/srv/i", "cmd": cmd, "manifest": "m.json", "names": ["a", "b"], "record": "r", "timeout": 300})
                self.assertEqual(parse(cmd, "m.json")["names"], [])

    def test_preflight_and_drop_ins(self):
        # As deploy.sh spells them.
        got = parse("preflight", "--timeout", "5", "--endpoint", "JAWS central", "central.example.org", "443", "--endpoint", "db", "10.0.0.1", "3306")
        self.assertEqual(got["endpoint"], [["JAWS central", "central.example.org", "443"], ["db", "10.0.0.1", "3306"]])
        self.assertEqual(got["timeout"], 5)
        self.assertEqual(parse("preflight")["endpoint"], [])
        self.assertEqual(parse("dropin-plan", "c.conf")["conf"], "c.conf")
        self.assertEqual(parse("dropin-record", "c.conf")["conf"], "c.conf")
        for cmd in ("dropin-stop", "dropin-start"):
            self.assertEqual(parse(cmd, "cromwell", "pool", "--record", "r"), {"dir": "/srv/i", "cmd": cmd, "groups": ["cromwell", "pool"], "record": "r"})

    def test_health(self):
        self.assertEqual(parse("health", "--manifest", "m.json"), {"dir": "/srv/i", "cmd": "health", "manifest": "m.json", "timeout": 60})
        self.assertEqual(parse("health", "--timeout", "5", "--manifest", "m")["timeout"], 5)

    def test_missing_arguments_are_refused(self):
        for argv, message in [
            (["ping"], "--dir"),
            (["--dir", "d"], "required: cmd"),
            (["--dir", "d", "secret"], "--user"),
            (["--dir", "d", "rotate-key", "--user", "u"], "--conf"),
            (["--dir", "d", "reap"], "--conf"),
            (["--dir", "d", "plan", "old"], "new"),
            (["--dir", "d", "health"], "--manifest"),
            (["--dir", "d", "check-config", "--user", "u"], "file"),
            (["--dir", "d", "wait-up", "--timeout", "soon"], "invalid float"),
            (["--dir", "d", "frobnicate"], "invalid choice"),
            (["--dir", "d", "preflight", "--endpoint", "db", "h"], "expected 3 arguments"),
            (["--dir", "d", "dropin-stop", "g"], "--record"),
        ]:
            with self.subTest(argv=argv):
                self.assertRegex(refused(*argv) or "accepted", message)


if __name__ == "__main__":
    unittest.main()
