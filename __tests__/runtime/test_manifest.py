"""manifest: the plan from one programs.json to another, and processes_of."""

import os
import subprocess
import tempfile
import unittest

import support
from jawsctl import manifest

m = support.manifest


class PlanTest(unittest.TestCase):
    def test_same_manifest_plans_nothing(self):
        a = m(programs=[{"name": "a"}, {"name": "b"}])
        self.assertEqual(manifest.plan(a, a), {"instance": "same", "changed": [], "added": [], "removed": []})

    def test_changed_added_removed_by_fingerprint_and_name(self):
        old = m(programs=[{"name": "keep"}, {"name": "edit", "fingerprint": "1"}, {"name": "gone"}])
        new = m(programs=[{"name": "zadd"}, {"name": "edit", "fingerprint": "2"}, {"name": "keep"}, {"name": "add"}])
        self.assertEqual(
            manifest.plan(old, new), {"instance": "same", "changed": ["edit"], "added": ["add", "zadd"], "removed": ["gone"]}
        )

    def test_instance_changes_with_its_hash_or_the_group(self):
        a = m(programs=[{"name": "a"}])
        self.assertEqual(manifest.plan(a, m(instance="i2", programs=[{"name": "a"}]))["instance"], "changed")
        self.assertEqual(manifest.plan(a, m(group="h", programs=[{"name": "a"}]))["instance"], "changed")

    def test_nothing_deployed_yet_everything_is_added(self):
        with tempfile.TemporaryDirectory() as d:
            old = manifest.load(os.path.join(d, "missing.json"))
        self.assertEqual(old, {"instance": None, "programs": []})
        p = manifest.plan(old, m(programs=[{"name": "b"}, {"name": "a"}]))
        self.assertEqual(p, {"instance": "changed", "changed": [], "added": ["a", "b"], "removed": []})

    def test_plan_shell_is_what_bash_evals(self):
        p = {"instance": "same", "changed": ["a", "b"], "added": [], "removed": ["c"]}
        script = manifest.plan_shell(p) + '\nprintf "%s|%s|%s|%s" "$PLAN_INSTANCE" "$PLAN_CHANGED" "$PLAN_ADDED" "$PLAN_REMOVED"'
        r = subprocess.run(["bash", "-c", 'eval "$(cat)"'], input=script, capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout), (0, "same|a b||c"))

    def test_the_cli_reads_files_and_prints_assignments(self):
        with tempfile.TemporaryDirectory() as d:
            old = support.write_json(os.path.join(d, "old.json"), m(programs=[{"name": "a", "fingerprint": "1"}]))
            new = support.write_json(os.path.join(d, "new.json"), m(programs=[{"name": "a", "fingerprint": "2"}]))
            r = support.jawsctl(d, "plan", old, new, check=True)
        self.assertEqual(r.stdout, "PLAN_INSTANCE=same\nPLAN_CHANGED='a'\nPLAN_ADDED=''\nPLAN_REMOVED=''\n")


class ProcessesOfTest(unittest.TestCase):
    def test_every_process_of_the_named_programs_in_order_unknown_names_skipped(self):
        x = m(group="grp", programs=[{"name": "a", "processes": ["a_0", "a_1"]}, {"name": "b"}])
        self.assertEqual(manifest.processes_of(x, ["b", "nope", "a"]), [("grp", "b"), ("grp", "a_0"), ("grp", "a_1")])
        self.assertEqual(manifest.processes_of(x, []), [])


if __name__ == "__main__":
    unittest.main()
