"""The Slurm launcher's host side (jawsctl/slurm.py, the discovery in connection.py): what it reads
from squeue and scontrol, the --time-min it computes, how it finds the job's supervisord. The
commands themselves run against a real Slurm in __tests__/e2e/supervisord-in-a-slurm-job.test.ts."""

import json
import os
import tempfile
import time
import unittest
from unittest import mock

import support  # noqa: F401 (templates/ on sys.path)
from jawsctl import __main__ as cli
from jawsctl import connection, credentials, slurm

# `scontrol -o show res` of Slurm 22.05, as the test cluster prints it.
RESERVATIONS = (
    "ReservationName=maint StartTime=2026-11-28T10:00:00 EndTime=2026-11-28T11:00:00 Duration=01:00:00 Nodes=vm NodeCnt=1 "
    "CoreCnt=2 Features=(null) PartitionName=(null) Flags=MAINT,SPEC_NODES,ALL_NODES TRES=cpu=2 Users=root State=INACTIVE\n"
    "ReservationName=course StartTime=2026-11-28T08:00:00 EndTime=2026-11-28T09:00:00 Duration=01:00:00 Nodes=vm NodeCnt=1 "
    "Flags=SPEC_NODES TRES=cpu=2 Users=root State=INACTIVE\n"
)
NOW = time.mktime(time.strptime("2026-11-28T07:00:00", "%Y-%m-%dT%H:%M:%S"))


class ReservationsTest(unittest.TestCase):
    def test_the_next_maint_reservation_only(self):
        self.assertEqual(slurm.next_maintenance(RESERVATIONS, NOW), ("maint", NOW + 3 * 3600))

    def test_a_maintenance_over_is_ignored_and_none_is_none(self):
        self.assertIsNone(slurm.next_maintenance(RESERVATIONS, NOW + 5 * 3600))
        self.assertIsNone(slurm.next_maintenance("No reservations in the system\n", NOW))

    def test_values_holding_equal_signs(self):
        self.assertEqual(slurm.parse_pairs("TRES=cpu=2 Flags=MAINT")["TRES"], "cpu=2")


class TimeMinTest(unittest.TestCase):
    def test_minutes_until_the_maintenance_minus_the_buffer(self):
        self.assertEqual(slurm.time_min(("m", NOW + 3 * 3600), NOW, 120, 90 * 1440), 60)

    def test_no_maintenance_or_the_whole_limit_fits_before_it(self):
        self.assertIsNone(slurm.time_min(None, NOW, 120, 1440))
        self.assertIsNone(slurm.time_min(("m", NOW + 30 * 3600), NOW, 120, 1440))

    def test_at_least_one_minute(self):
        self.assertEqual(slurm.time_min(("m", NOW + 600), NOW, 120, None), 1)

    def test_slurm_time_formats(self):
        for text, minutes in (("90-00:00:00", 129600), ("720", 720), ("1:30", 2), ("2:00:00", 120), ("1-12", 2160), ("UNLIMITED", None)):
            with self.subTest(text=text):
                self.assertEqual(slurm.limit_minutes(text), minutes)
        with self.assertRaises(SystemExit):
            slurm.limit_minutes("90 days")


class JobsTest(unittest.TestCase):
    def test_squeue_lines(self):
        self.assertEqual(slurm.parse_jobs("12|RUNNING|vm\n13|PENDING|\n"), [
            {"id": "12", "state": "RUNNING", "node": "vm"},
            {"id": "13", "state": "PENDING", "node": ""},
        ])

    def test_two_jobs_of_one_name_keep_the_running_one_wherever_decided(self):
        cancelled = []
        with mock.patch.object(slurm, "command", lambda argv: cancelled.append(argv)):
            keep = slurm.keep_one([{"id": "14", "state": "PENDING", "node": ""}, {"id": "15", "state": "RUNNING", "node": "vm"}], lambda m: None)
        self.assertEqual((keep["id"], cancelled), ("15", [["scancel", "14"]]))
        cancelled.clear()
        with mock.patch.object(slurm, "command", lambda argv: cancelled.append(argv)):
            keep = slurm.keep_one([{"id": "17", "state": "PENDING", "node": ""}, {"id": "16", "state": "PENDING", "node": ""}], lambda m: None)
        self.assertEqual((keep["id"], cancelled), ("16", [["scancel", "17"]]))


class DiscoveryTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        os.makedirs(os.path.join(self.dir, "run"))
        os.makedirs(os.path.join(self.dir, "secret"))
        self.conf = os.path.join(self.dir, "supervisord.conf")
        with open(self.conf, "w") as f:
            f.write("[inet_http_server]\nport=%(ENV_JAWS_SUPERVISOR_ADDRESS)s:64101\n[supervisorctl]\nserverurl=http://%(ENV_JAWS_SUPERVISOR_ADDRESS)s:64101\n")

    def test_before_a_job_published_the_endpoint_is_unknown(self):
        credentials.write_credentials(self.dir, "jaws-dev", self.conf, key="k")
        with self.assertRaises(ConnectionRefusedError):
            connection.proxy(self.dir)
        self.assertFalse(connection.answers(self.dir, "k"))

    def test_the_credentials_carry_the_published_address(self):
        slurm.publish(self.dir, "12", "nid001", "10.1.2.3", "http://10.1.2.3:64101")
        self.assertEqual(connection.location(self.dir)["node"], "nid001")
        credentials.write_credentials(self.dir, "jaws-dev", self.conf, key="k")
        with open(connection.ctl_conf(self.dir)) as f:
            self.assertIn("serverurl=http://10.1.2.3:64101\n", f.read())
        self.assertEqual(slurm.status_line(self.dir).split(" (published")[0], "Slurm job 12 on node nid001, control endpoint http://10.1.2.3:64101")

    def test_a_daemon_instance_is_untouched(self):
        self.assertEqual(connection.resolve_url(self.dir, "http://127.0.0.1:64101"), "http://127.0.0.1:64101")
        self.assertIsNone(slurm.status_line(self.dir))


class CommandLineTest(unittest.TestCase):
    def test_slurm_ensure_takes_the_site_options_after_double_dash(self):
        a = cli.parser().parse_args(["--dir", "/srv/i", "slurm-ensure", "--job-name", "j", "--script", "/s", "--output", "/o",
                                     "--time-limit", "90-00:00:00", "--maintenance-buffer", "120", "--", "--qos=workflow", "--constraint=a&b"])
        self.assertEqual((a.options, a.maintenance_buffer), (["--qos=workflow", "--constraint=a&b"], 120))


if __name__ == "__main__":
    unittest.main()
