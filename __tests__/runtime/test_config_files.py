"""config_files: secrets read from secret/config-values, each format's escape checked against its
real reader (configparser, bash), the keyed fingerprints, the `config` digest in the staged
manifest, atomic installs with their modes, and the copies a rollback puts back."""

import base64
import configparser
import json
import os
import stat
import subprocess
import tempfile
import unittest

import support
from jawsctl import config_files, manifest

ODD = ["pa%ss", "a'b\"c", "x;y #z", "%(here)s", "tab\tinside", "ünïcode", "a\\b", "$", "50%"]


def values_file(d, values):
    os.makedirs(os.path.join(d, "secret"), exist_ok=True)
    lines = [config_files.HEADER] + ["%s %s" % (k, base64.b64encode(v.encode()).decode()) for k, v in values.items()] + ["end", ""]
    with open(os.path.join(d, config_files.VALUES_FILE), "w") as f:
        f.write("\n".join(lines))


def stage_with(d, files, programs):
    stage = os.path.join(d, ".deploy", "incoming")
    os.makedirs(os.path.join(stage, "state"))
    support.write_json(os.path.join(stage, config_files.SPEC), {"version": 1, "files": files})
    support.write_json(os.path.join(stage, "state", "programs.json"), support.manifest(programs=[{"name": p} for p in programs]))
    return stage


def spec(path, text, secrets, programs, fmt="ini", mode="0600", group=None):
    return {"path": path, "mode": mode, "group": group, "format": fmt, "text": text, "secrets": secrets, "programs": programs}


class EscapeTest(unittest.TestCase):
    def test_ini_values_read_back_by_configparser(self):
        for v in ODD:
            with self.subTest(v=v):
                text = "[s]\nk = %s\n" % config_files.escape("ini", v)
                c = configparser.ConfigParser()
                c.read_string(text)
                self.assertEqual(c.get("s", "k"), v)

    def test_ini_refuses_what_it_cannot_carry(self):
        for v in ["a\nb", "a\r", " lead", "trail ", "$HOME", "${X}", "a\x00"]:
            with self.subTest(v=v), self.assertRaises(ValueError):
                config_files.escape("ini", v)

    def test_env_values_read_back_by_bash(self):
        for v in ODD + ["line1\nline2", " spaced ", "$(id)", "`id`", "'"]:
            with self.subTest(v=v):
                script = "K=%s\nprintf '%%s' \"$K\"" % config_files.escape("env", v)
                out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
                self.assertEqual(out, v)


class RenderTest(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp()
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.d]))
        self.target = os.path.join(self.d, "config", "a.conf")

    def render(self, secret_value, other="p2"):
        values_file(self.d, {"env:DB": secret_value, "file:RMQ": other})
        stage = stage_with(
            self.d,
            [
                spec(self.target, "[db]\npassword = @@JAWS_SECRET(pw)@@\n", {"pw": "env:DB"}, ["web"]),
                spec(self.target + ".2", "[r]\npassword = @@JAWS_SECRET(pw)@@\n", {"pw": "file:RMQ"}, ["worker"]),
            ],
            ["web", "worker", "ticker"],
        )
        out = []
        config_files.render(self.d, stage, out=out.append)
        return stage, out

    def record(self, stage):
        with open(os.path.join(stage, config_files.RECORD)) as f:
            return json.load(f)

    def test_renders_the_secret_and_records_a_keyed_fingerprint_only(self):
        stage, _ = self.render("s%cret")
        with open(os.path.join(stage, "config-files", "0")) as f:
            self.assertEqual(f.read(), "[db]\npassword = s%%cret\n")
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(stage, "config-files", "0")).st_mode), 0o600)
        rec = self.record(stage)
        text = json.dumps(rec)
        self.assertNotIn("s%cret", text)
        self.assertEqual(len(rec["files"][0]["fingerprint"]), 64)
        key_file = os.path.join(self.d, config_files.KEY_FILE)
        self.assertEqual(stat.S_IMODE(os.stat(key_file).st_mode), 0o600)

    def test_a_changed_secret_changes_exactly_its_programs_config_digest(self):
        stage1, _ = self.render("one")
        m1 = manifest.load(os.path.join(stage1, "state", "programs.json"))
        os.makedirs(os.path.join(self.d, "state"), exist_ok=True)
        os.replace(os.path.join(stage1, config_files.RECORD), os.path.join(self.d, config_files.RECORD))
        subprocess.run(["rm", "-rf", stage1])
        stage2, out = self.render("two")
        m2 = manifest.load(os.path.join(stage2, "state", "programs.json"))
        self.assertEqual(manifest.plan(m1, m2)["changed"], ["web"])
        self.assertIn("config file %s: changed (programs: web)" % self.target, out)
        self.assertIn("config file %s.2: unchanged (programs: worker)" % self.target, out)
        self.assertNotIn("config", [k for p in m2["programs"] if p["name"] == "ticker" for k in p])

    def test_a_value_that_would_change_the_file_fails_naming_the_variable_not_the_value(self):
        with self.assertRaises(SystemExit) as e:
            self.render("line1\n[evil]\nx = 1")
        self.assertIn("CI variable DB", str(e.exception))
        self.assertIn("newline", str(e.exception))
        self.assertNotIn("evil", str(e.exception))

    def test_a_secret_never_sent_fails_naming_its_variable(self):
        values_file(self.d, {})
        stage = stage_with(self.d, [spec(self.target, "p = @@JAWS_SECRET(pw)@@\n", {"pw": "env:DB_PW"}, ["web"])], ["web"])
        with self.assertRaises(SystemExit) as e:
            config_files.render(self.d, stage, out=lambda _: None)
        self.assertIn("CI variable DB_PW was never sent", str(e.exception))


class InstallTest(unittest.TestCase):
    def test_install_is_atomic_with_its_mode_and_removes_files_no_longer_declared(self):
        with tempfile.TemporaryDirectory() as d:
            values_file(d, {"env:A": "a"})
            target = os.path.join(d, "config", "x.conf")
            gone = os.path.join(d, "config", "gone.conf")
            stage = stage_with(d, [spec(target, "v = @@JAWS_SECRET(s)@@\n", {"s": "env:A"}, ["p"])], ["p"])
            config_files.render(d, stage, out=lambda _: None)
            os.makedirs(os.path.dirname(gone), mode=0o700, exist_ok=True)
            open(gone, "w").close()
            old = support.write_json(os.path.join(d, "old.json"), {"version": 1, "files": [{"path": gone}]})
            out = []
            config_files.install(d, stage, [old], out=out.append)
            with open(target) as f:
                self.assertEqual(f.read(), "v = a\n")
            self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o600)
            self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(target)).st_mode) & 0o077, 0)
            self.assertFalse(os.path.exists(gone))
            out2 = []
            config_files.install(d, stage, [], out=out2.append)
            self.assertEqual(out2, [], "an identical file is left alone")

    def test_save_previous_keeps_what_runs_for_a_rollback(self):
        with tempfile.TemporaryDirectory() as d:
            values_file(d, {"env:A": "first"})
            target = os.path.join(d, "config", "x.conf")
            stage = stage_with(d, [spec(target, "v = @@JAWS_SECRET(s)@@\n", {"s": "env:A"}, ["p"])], ["p"])
            config_files.render(d, stage, out=lambda _: None)
            config_files.install(d, stage, [], out=lambda _: None)
            os.makedirs(os.path.join(d, "state"), exist_ok=True)
            os.replace(os.path.join(stage, config_files.RECORD), os.path.join(d, config_files.RECORD))
            prev = os.path.join(d, ".deploy", "previous")
            config_files.save_previous(d, prev)
            with open(target, "w") as f:
                f.write("v = second\n")
            config_files.install(d, prev, [], out=lambda _: None)
            with open(target) as f:
                self.assertEqual(f.read(), "v = first\n")


if __name__ == "__main__":
    unittest.main()
