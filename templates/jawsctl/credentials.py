"""The instance's key and the files derived from it.

secret/key is made once on the host and never leaves it: nothing here prints it. auth.conf
(included by supervisord.conf) and supervisorctl.conf are derived from the key and from the
control endpoint of the config that supervisord runs, so they follow a unix <-> inet change.
A rotation writes secret/key.new first; one left behind is settled by the next run.
"""

import hashlib
import os
import secrets
import xmlrpc.client

from .config import endpoint
from .connection import answers, ctl_conf, proxy, resolve_url

# Exit status of rotate-key when the running supervisord cannot take a new key in place.
ROTATE_NEEDS_RESTART = 3


def secret_path(d, name="key"):
    return os.path.join(d, "secret", name)


def write_private(path, text):
    """Atomic write, mode 0600; leaves an identical file alone."""
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(text)
    os.replace(tmp, path)


def read_key(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


def instance_key(d):
    """The instance's key; made (random, 256 bits) when there is none."""
    path = secret_path(d)
    key = read_key(path)
    if key:
        return key
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    write_private(path, secrets.token_hex(32) + "\n")
    return instance_key(d)


def key_hash(key):
    """The form supervisord's config takes: {SHA} and the hex SHA-1 of the key."""
    return "{SHA}" + hashlib.sha1(key.encode()).hexdigest()


def auth_texts(d, user, conf_file, key=None):
    """(auth.conf, supervisorctl.conf) for the endpoint of `conf_file`."""
    key = key or instance_key(d)
    section, url = endpoint(conf_file)
    url = resolve_url(d, url)
    auth = "[%s]\nusername=%s\npassword=%s\n" % (section, user, key_hash(key))
    ctl = "[supervisorctl]\nserverurl=%s\nusername=%s\npassword=%s\n" % (url, user, key)
    return auth, ctl


def write_credentials(d, user, conf_file, key=None):
    auth, ctl = auth_texts(d, user, conf_file, key)
    write_private(secret_path(d, "auth.conf"), auth)
    write_private(ctl_conf(d), ctl)


def settle_rotation(d, user, conf_file, out=print):
    """Finishes or undoes a key rotation that was interrupted (secret/key.new left behind)."""
    new_path = secret_path(d, "key.new")
    if not os.path.exists(new_path):
        return
    new_key = read_key(new_path)
    if new_key and os.path.exists(conf_file) and answers(d, new_key):
        os.replace(new_path, secret_path(d))
        write_credentials(d, user, conf_file)
        out("finished an interrupted key rotation")
    else:
        os.remove(new_path)
        out("undid an interrupted key rotation (supervisord still uses the previous key)")


def secret(d, user, conf_file=None):
    """Settles a rotation, makes the key when missing, and with `conf_file` writes the auth files for it."""
    settle_rotation(d, user, conf_file or os.path.join(d, "supervisord.conf"))
    instance_key(d)
    if conf_file:
        write_credentials(d, user, conf_file)


def rotate_key(d, user, conf_file, out=print):
    """A new key for the instance, effective at once: the running supervisord swaps its
    credentials in memory (jawsdeploy.setCredentials, no restart), then the files follow.
    Returns ROTATE_NEEDS_RESTART (nothing changed) when the running supervisord predates
    setCredentials, else 0; SystemExit when supervisord does not behave as asked."""
    settle_rotation(d, user, conf_file, out)
    old_key = read_key(secret_path(d))
    running = bool(old_key) and os.path.exists(ctl_conf(d)) and answers(d, old_key)
    if running:
        try:
            version = proxy(d, old_key).jawsdeploy.getAPIVersion()
        except xmlrpc.client.Fault:
            version = "0"
        if int(version) < 2:
            out("the running supervisord cannot change its key in place (extension API %s)" % version)
            return ROTATE_NEEDS_RESTART
    new_key = secrets.token_hex(32)
    new_path = secret_path(d, "key.new")
    write_private(new_path, new_key + "\n")
    if running:
        # From here on supervisord accepts the new key only; a crash before the rename below is
        # settled by the next deploy, ensure or rotation (settle_rotation).
        proxy(d, old_key).jawsdeploy.setCredentials(user, key_hash(new_key))
    write_credentials(d, user, conf_file, new_key)
    os.replace(new_path, secret_path(d))
    if running:
        if not answers(d, new_key):
            raise SystemExit("supervisord does not accept the new key")
        if answers(d, old_key):
            raise SystemExit("supervisord still accepts the previous key")
        out("key rotated: supervisord accepts the new key only (no restart)")
    else:
        out("key rotated: supervisord is not running; it starts with the new key")
    return 0
