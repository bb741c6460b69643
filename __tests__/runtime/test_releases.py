"""releases: the current link switched by one rename to complete versions only, pruning that keeps
the newest, the current and the previous version, and a build that fails with pip's own error
(a real venv and pip, no index)."""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import support
from jawsctl import releases


def release(d, version, keep=2):
    return {"package": "demo", "version": version, "directory": os.path.join(d, "releases", "demo"), "python": sys.executable,
            "pip": ["--no-index"], "requirement": "demo==%s" % version, "keep": keep, "programs": ["web"]}


def fake_build(r, age=0):
    target = releases.version_dir(r)
    os.makedirs(target)
    marker = os.path.join(target, releases.MARKER)
    with open(marker, "w") as f:
        json.dump({"package": r["package"], "version": r["version"]}, f)
    t = time.time() - age
    os.utime(marker, (t, t))


def spec(d, rs, name="spec.json"):
    return support.write_json(os.path.join(d, name), {"version": 1, "releases": rs})


class SwitchTest(unittest.TestCase):
    def test_switch_points_current_at_a_complete_version_only(self):
        with tempfile.TemporaryDirectory() as d:
            r1, r2 = release(d, "1"), release(d, "2")
            fake_build(r1)
            out = []
            releases.switch(spec(d, [r1]), out=out.append)
            self.assertEqual(os.readlink(os.path.join(r1["directory"], "current")), "1")
            os.makedirs(releases.version_dir(r2))  # a build that did not finish: no marker
            with self.assertRaises(SystemExit):
                releases.switch(spec(d, [r2]))
            self.assertEqual(os.readlink(os.path.join(r1["directory"], "current")), "1")
            self.assertEqual(out, ["release demo: current is 1"])


class PruneTest(unittest.TestCase):
    def test_keeps_the_newest_the_current_and_the_previous(self):
        with tempfile.TemporaryDirectory() as d:
            for i, v in enumerate(["1", "2", "3", "4"]):
                fake_build(release(d, v), age=100 - i)
            os.makedirs(releases.version_dir(release(d, "5")))  # unfinished
            out = []
            # current 1 (a rollback to an old one), previous 2, keep 2: 3 and 4 are the newest.
            releases.prune(spec(d, [release(d, "1")]), spec(d, [release(d, "2")], "prev.json"), out=out.append)
            self.assertEqual(sorted(os.listdir(release(d, "1")["directory"])), ["1", "2", "3", "4"])
            self.assertEqual(out, ["release demo: removed 5 (unfinished build)"])
            releases.prune(spec(d, [release(d, "4", keep=1)]), None, out=out.append)
            self.assertEqual(sorted(os.listdir(release(d, "1")["directory"])), ["4"])


class BuildTest(unittest.TestCase):
    def test_a_version_pip_cannot_install_fails_with_pips_error_and_leaves_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            r = release(d, "9.9")
            with self.assertRaises(SystemExit) as e:
                releases.build_one(r, out=lambda _: None)
            self.assertIn("release demo==9.9 could not be installed; nothing running was changed", str(e.exception))
            self.assertIn("No matching distribution found for demo==9.9", str(e.exception))
            self.assertFalse(os.path.exists(releases.version_dir(r)))

    def test_without_a_base_pip_the_venv_gets_its_own_and_fails_the_same_way(self):
        self.assertTrue(releases.base_pip(sys.executable), "Debian's python3 has pip >= 22.3 (python3-pip)")
        self.assertFalse(releases.base_pip("/bin/false"))
        saved = releases.base_pip
        releases.base_pip = lambda python: False
        try:
            with tempfile.TemporaryDirectory() as d:
                r = release(d, "9.8")
                with self.assertRaises(SystemExit) as e:
                    releases.build_one(r, out=lambda _: None)
                self.assertIn("No matching distribution found for demo==9.8", str(e.exception))
        finally:
            releases.base_pip = saved


if __name__ == "__main__":
    unittest.main()
