"""drift: the host side of `npm run drift` (files by fingerprint, config sections, edits since the
last deploy, the venv, and the processes of a real supervisord), and start_stopped."""

import hashlib
import io
import json
import os
import shutil
import tempfile
import time
import unittest

import support
from jawsctl import connection, drift, programs

TICK = "/bin/sh -c 'while true; do echo tick; sleep 1; done'"
sha = lambda text: hashlib.sha256(text.encode()).hexdigest()  # noqa: E731


class SectionsTest(unittest.TestCase):
    def test_cut_at_headers_like_the_renderer(self):
        text = "; head\n[supervisord]\nlogfile=x\n\n[program:a]\ncommand=a ; not a header [x]\n[group:g]\nprograms=a"
        got = drift.config_sections(text)
        self.assertEqual(list(got), ["", "supervisord", "program:a", "group:g"])
        self.assertEqual("".join(got.values()), text)
        self.assertEqual(got["program:a"], "[program:a]\ncommand=a ; not a header [x]\n")


class FilesTest(unittest.TestCase):
    """An instance directory as a deploy leaves it: files, state/files.json, state/deploy-id."""

    def setUp(self):
        self.d = tempfile.mkdtemp(prefix="jd-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.d, True)
        self.files = {
            "supervisord.conf": "; generated\n[supervisord]\nloglevel=info\n\n[program:a]\ncommand=/x/bin/a.sh\n",
            "bin/a.sh": "#!/bin/bash\nexec a\n",
            "lib/jawsctl/x.py": "X = 1\n",
            "state/deploy-id": "abc\n",
            "state/programs.json": "{}\n",
        }
        stage = os.path.join(self.d, "stage")
        for rel, text in self.files.items():
            for root in (self.d, stage):
                os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
                with open(os.path.join(root, rel), "w") as f:
                    f.write(text)
        os.makedirs(os.path.join(stage, "bin"), exist_ok=True)
        with open(os.path.join(stage, "bin", "deploy"), "w") as f:
            f.write("#!/bin/bash\n")
        drift.record_files(self.d, stage)
        shutil.rmtree(stage)

    def expected(self, **changes):
        files = dict(self.files, **changes)
        return {
            "deployId": "abc",
            "supervisorVersion": "4.2.5",
            "files": {k: sha(v) for k, v in files.items()},
            "sections": {k: sha(v) for k, v in drift.config_sections(files["supervisord.conf"]).items()},
            "manifest": {"group": "g", "programs": []},
        }

    def compare(self, expected):
        out = []
        drift.compare_files(self.d, expected, drift.load_record(self.d), out)
        return out

    def edit(self, rel, text):
        with open(os.path.join(self.d, rel), "w") as f:
            f.write(text)

    def test_the_record_has_every_installed_file_but_bin_deploy(self):
        self.assertEqual(sorted(drift.load_record(self.d)), sorted(self.files))

    def test_in_sync_right_after_the_deploy(self):
        self.assertEqual(self.compare(self.expected()), [])

    def test_a_config_line_edited_on_the_host_names_its_section(self):
        self.edit("supervisord.conf", self.files["supervisord.conf"].replace("loglevel=info", "loglevel=debug"))
        self.assertEqual(
            self.compare(self.expected()),
            [drift.diff("config-section", "[supervisord]", "differs: edited on the host since the last deploy", True)],
        )

    def test_a_code_change_not_deployed_is_not_an_edit(self):
        new_conf = self.files["supervisord.conf"] + "[program:b]\ncommand=b\n"
        got = self.compare(self.expected(**{"supervisord.conf": new_conf, "bin/a.sh": "#!/bin/bash\nexec a2\n"}))
        self.assertEqual(
            got,
            [
                drift.diff("wrapper", "bin/a.sh", "the code renders another version (not deployed yet)"),
                drift.diff("config-section", "[program:b]", "missing on the host: the code renders another version (not deployed yet)"),
            ],
        )

    def test_wrapper_edited_removed_and_one_made_by_hand(self):
        self.edit("bin/a.sh", "#!/bin/bash\nexec evil\n")
        self.edit("bin/extra.sh", "#!/bin/bash\n")
        os.remove(os.path.join(self.d, "lib/jawsctl/x.py"))
        self.assertEqual(
            self.compare(self.expected()),
            [
                drift.diff("wrapper", "bin/a.sh", "edited on the host since the last deploy", True),
                drift.diff("file", "lib/jawsctl/x.py", "missing on the host"),
                drift.diff("wrapper", "bin/extra.sh", "on the host, not in the code", True),
            ],
        )

    def test_report_names_the_deploy_id_the_venv_and_supervisord_down(self):
        out = io.StringIO()
        drift.main(self.d, io.StringIO(json.dumps(dict(self.expected(), deployId="new"))), out)
        r = json.loads(out.getvalue())
        kinds = [(x["kind"], x["name"]) for x in r["differences"]]
        self.assertEqual(r["hostDeployId"], "abc")
        self.assertEqual(kinds, [("deploy", "deploy id"), ("venv", "venv"), ("supervisord", "supervisord")])
        self.assertIn("the host ran deploy abc last; the code renders new", r["differences"][0]["detail"])

    def test_nothing_deployed(self):
        empty = tempfile.mkdtemp(prefix="jd-", dir="/tmp")
        self.addCleanup(shutil.rmtree, empty, True)
        out = io.StringIO()
        drift.main(empty, io.StringIO(json.dumps(self.expected())), out)
        self.assertEqual(json.loads(out.getvalue())["differences"][0]["detail"], "nothing deployed in %s" % empty)


class ProcessesTest(unittest.TestCase):
    """A real supervisord: declared programs up or down, an undeclared one running, a drop-in group."""

    def setUp(self):
        self.inst = support.InstanceDir()
        self.addCleanup(self.inst.cleanup)
        progs = support.program("a", TICK) + support.program("b", TICK) + support.program("one", "/bin/true", startsecs=0)
        progs += support.group("g", ["a", "b", "one"]) + support.program("extra", TICK) + support.program("tool", TICK)
        self.progs = progs
        self.inst.write_conf(progs)
        support.jawsctl(self.inst.dir, "secret", "--user", support.USER, "--conf", self.inst.conf, check=True)
        support.start_supervisord(self.inst)
        self.addCleanup(support.stop_supervisord, self.inst)
        with open(self.inst.path("state", "dropins.json"), "w") as f:
            json.dump({"/elsewhere/tool.conf": {"hash": "h", "groups": ["tool"]}}, f)
        self.manifest = support.manifest(
            group="g",
            programs=[{"name": "a"}, {"name": "b"}, {"name": "one", "oneShot": True}, {"name": "manual", "autostart": False}],
        )

    def test_down_and_undeclared_named_drop_ins_and_one_shots_accepted_and_start_stopped_fixes_it(self):
        s = connection.proxy(self.inst.dir)
        deadline = time.time() + 20
        while time.time() < deadline:
            infos = connection.info_by_name(s)
            if all(infos[n]["statename"] == "RUNNING" for n in ("g:a", "g:b", "extra:extra", "tool:tool")):
                break
            time.sleep(0.2)
        s.supervisor.stopProcess("g:b", True)
        out = []
        self.assertIsNone(drift.compare_processes(self.inst.dir, self.manifest, out))
        self.assertEqual([(x["kind"], x["name"]) for x in out], [("program-not-running", "g:b"), ("program-undeclared", "extra:extra")])
        self.assertEqual(out[0]["detail"], "STOPPED")
        said = []
        programs.start_stopped(s, self.manifest, out=said.append)
        self.assertEqual(said, ["started g:b (it was STOPPED)"])
        # The config as the code has it again (what a deploy installs): apply stops and removes the
        # group made by hand, as `supervisorctl update` would, and touches nothing else.
        pids = {k: v["pid"] for k, v in connection.info_by_name(s).items()}
        self.inst.write_conf(self.progs.replace(support.program("extra", TICK), ""))
        r = support.jawsctl(self.inst.dir, "apply", check=True)
        self.assertEqual(r.stdout, "stopped group extra (not in the config)\nremoved group extra\n")
        after = {k: v["pid"] for k, v in connection.info_by_name(s).items()}
        self.assertEqual(after, {k: v for k, v in pids.items() if k != "extra:extra"})


if __name__ == "__main__":
    unittest.main()


class ReleasesAndConfigFilesTest(unittest.TestCase):
    """Issue 14's records: a release's `current` version, config files by their keyed fingerprint."""

    def setUp(self):
        from jawsctl import config_files

        self.cf = config_files
        self.d = tempfile.mkdtemp(prefix="jd-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.d, True)
        for sub in ("state", "secret", "config", "releases/app/1.0"):
            os.makedirs(os.path.join(self.d, sub))
        with open(os.path.join(self.d, "releases/app/1.0/.jaws-release"), "w") as f:
            json.dump({"package": "app", "version": "1.0"}, f)
        os.symlink("1.0", os.path.join(self.d, "releases/app/current"))
        self.release = {"package": "app", "version": "1.0", "directory": os.path.join(self.d, "releases/app")}
        self.conf = os.path.join(self.d, "config", "app.conf")
        with open(self.conf, "w") as f:
            f.write("[db]\npassword = s3cret%\n")
        os.chmod(self.conf, 0o600)
        key = self.cf.fingerprint_key(self.d)
        fp = self.cf.fingerprint(key, self.conf, "0600", None, "[db]\npassword = s3cret%\n")
        record = {"version": 1, "files": [{"path": self.conf, "mode": "0600", "group": None, "format": "ini", "programs": ["a"], "fingerprint": fp, "copy": "config-files/0"}]}
        with open(os.path.join(self.d, self.cf.RECORD), "w") as f:
            json.dump(record, f)
        self.code = [{"path": self.conf, "mode": "0600", "group": None}]

    def compare(self, releases=None, files=None):
        out = []
        drift.compare_releases(self.d, [self.release] if releases is None else releases, out)
        self.assertIsNone(drift.compare_config_files(self.d, self.code if files is None else files, out))
        return [(x["kind"], x["name"], x["detail"]) for x in out]

    def test_in_sync(self):
        self.assertEqual(self.compare(), [])

    def test_a_release_the_code_moved_on_from_and_one_broken_on_the_host(self):
        self.assertEqual(self.compare([dict(self.release, version="2.0")]), [("release", "app", "the host runs 1.0, the code pins 2.0")])
        os.remove(os.path.join(self.d, "releases/app/1.0/.jaws-release"))
        self.assertEqual(self.compare(), [("release", "app", "1.0 is incomplete on the host (its venv was changed or removed)")])

    def test_a_secret_edited_on_the_host_is_named_without_its_value(self):
        with open(self.conf, "w") as f:
            f.write("[db]\npassword = changed-by-hand\n")
        got = self.compare()
        self.assertEqual(got, [("config-file", self.conf, "edited on the host since the last deploy (its keyed fingerprint differs)")])
        self.assertNotIn("changed-by-hand", json.dumps(got))
        os.chmod(self.conf, 0o644)
        with open(self.conf, "w") as f:
            f.write("[db]\npassword = s3cret%\n")
        self.assertEqual(self.compare(), [("config-file", self.conf, "mode 0644 on the host, 0600 deployed")])
        os.remove(self.conf)
        self.assertEqual(self.compare(), [("config-file", self.conf, "missing on the host")])

    def test_config_files_added_or_dropped_by_the_code(self):
        other = os.path.join(self.d, "config", "new.conf")
        got = self.compare(files=[{"path": other, "mode": "0600", "group": None}])
        self.assertEqual(got, [("config-file", self.conf, "on the host (deployed before), not in the code"), ("config-file", other, "in the code, not deployed yet")])
