"""credentials and config: the key and the files made from it, the endpoint of a config."""

import os
import stat
import unittest

import support
from jawsctl import config, credentials


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class EndpointTest(unittest.TestCase):
    def setUp(self):
        self.inst = support.InstanceDir()
        self.addCleanup(self.inst.cleanup)

    def test_unix_socket_with_its_inline_comment_dropped(self):
        self.inst.write_conf()
        sock = "unix://" + self.inst.path("run", "supervisor.sock")
        self.assertEqual(config.endpoint(self.inst.conf), ("unix_http_server", sock))

    def test_inet(self):
        self.inst.write_conf(inet_port=19001)
        self.assertEqual(config.endpoint(self.inst.conf), ("inet_http_server", "http://127.0.0.1:19001"))

    def test_percent_escapes_undone(self):
        with open(self.inst.conf, "w") as f:
            f.write("[unix_http_server]\nfile=/x/100%%/s.sock\n[supervisorctl]\nserverurl=unix:///x/100%%/s.sock\n")
        self.assertEqual(config.endpoint(self.inst.conf), ("unix_http_server", "unix:///x/100%/s.sock"))

    def test_a_missing_config_is_a_clear_error(self):
        with self.assertRaisesRegex(SystemExit, "cannot read .*nope.conf"):
            config.endpoint(self.inst.path("nope.conf"))


class CredentialsTest(unittest.TestCase):
    def setUp(self):
        self.inst = support.InstanceDir()
        self.addCleanup(self.inst.cleanup)
        self.inst.write_conf()

    def test_secret_makes_a_private_key_and_the_auth_files_and_never_prints_the_key(self):
        r = support.jawsctl(self.inst.dir, "secret", "--user", support.USER, "--conf", self.inst.conf, check=True)
        key = credentials.read_key(self.inst.path("secret", "key"))
        self.assertRegex(key, "^[0-9a-f]{64}$")
        for f in ("key", "auth.conf", "supervisorctl.conf"):
            self.assertEqual(mode(self.inst.path("secret", f)), 0o600, f)
        self.assertNotIn(key, r.stdout + r.stderr)
        with open(self.inst.path("secret", "auth.conf")) as f:
            auth = f.read()
        self.assertEqual(auth, "[unix_http_server]\nusername=%s\npassword=%s\n" % (support.USER, credentials.key_hash(key)))
        self.assertNotIn(key, auth)
        with open(self.inst.path("secret", "supervisorctl.conf")) as f:
            ctl = f.read()
        sock = "unix://" + self.inst.path("run", "supervisor.sock")
        self.assertEqual(ctl, "[supervisorctl]\nserverurl=%s\nusername=%s\npassword=%s\n" % (sock, support.USER, key))

    def test_the_key_is_kept_and_the_files_follow_the_endpoint(self):
        credentials.secret(self.inst.dir, support.USER, self.inst.conf)
        key = credentials.read_key(self.inst.path("secret", "key"))
        self.inst.write_conf(inet_port=19002)
        credentials.secret(self.inst.dir, support.USER, self.inst.conf)
        self.assertEqual(credentials.read_key(self.inst.path("secret", "key")), key)
        with open(self.inst.path("secret", "auth.conf")) as f:
            self.assertTrue(f.read().startswith("[inet_http_server]\n"))

    def test_write_private_leaves_an_identical_file_alone_and_replaces_a_changed_one(self):
        path = self.inst.path("secret", "x")
        credentials.write_private(path, "a\n")
        inode = os.stat(path).st_ino
        credentials.write_private(path, "a\n")
        self.assertEqual(os.stat(path).st_ino, inode)
        os.chmod(path, 0o644)
        credentials.write_private(path, "b\n")
        self.assertNotEqual(os.stat(path).st_ino, inode)
        self.assertEqual(mode(path), 0o600)
        self.assertEqual(os.listdir(self.inst.path("secret")), ["x"])  # no temp file left

    def test_key_hash_is_what_supervisord_compares(self):
        # supervisor.medusa's authorizer: "{SHA}" + hex sha1 of the password it is sent.
        from supervisor.http import encrypted_dictionary_authorizer

        auth = encrypted_dictionary_authorizer({"u": credentials.key_hash("k3y")})
        self.assertTrue(auth.authorize(("u", "k3y")))
        self.assertFalse(auth.authorize(("u", "other")))

    def test_an_interrupted_rotation_without_a_running_supervisord_is_undone(self):
        credentials.secret(self.inst.dir, support.USER, self.inst.conf)
        key = credentials.read_key(self.inst.path("secret", "key"))
        credentials.write_private(self.inst.path("secret", "key.new"), "ab" * 32 + "\n")
        said = []
        credentials.settle_rotation(self.inst.dir, support.USER, self.inst.conf, out=said.append)
        self.assertEqual(said, ["undid an interrupted key rotation (supervisord still uses the previous key)"])
        self.assertFalse(os.path.exists(self.inst.path("secret", "key.new")))
        self.assertEqual(credentials.read_key(self.inst.path("secret", "key")), key)

    def test_rotation_while_stopped_replaces_the_key_and_files_and_prints_neither_key(self):
        credentials.secret(self.inst.dir, support.USER, self.inst.conf)
        old = credentials.read_key(self.inst.path("secret", "key"))
        r = support.jawsctl(self.inst.dir, "rotate-key", "--user", support.USER, "--conf", self.inst.conf, check=True)
        new = credentials.read_key(self.inst.path("secret", "key"))
        self.assertNotEqual(new, old)
        self.assertEqual(r.stdout, "key rotated: supervisord is not running; it starts with the new key\n")
        for k in (old, new):
            self.assertNotIn(k, r.stdout + r.stderr)
        with open(self.inst.path("secret", "supervisorctl.conf")) as f:
            self.assertIn("password=%s\n" % new, f.read())
        self.assertEqual(mode(self.inst.path("secret", "key")), 0o600)


if __name__ == "__main__":
    unittest.main()
