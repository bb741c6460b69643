"""Config files (ConfigFile) rendered on the host, with the secrets filled in here.

Synth stages `config-files.json`: each file's text with its secrets as placeholders
`@@JAWS_SECRET(<name>)@@` (the plain values are in already) and, per secret, the key of its value
in secret/config-values (`env:VARIABLE` or `file:VARIABLE`). That file (0600, in secret/ 0700) is
written by the secrets' send script over SSH's stdin (constructs/render/secrets-script.ts):
a header line, `<key> <base64 value>` lines, `end`. Values are never printed, put on a command
line or in an environment.

`render` writes each file into the stage (0600) and records its keyed fingerprint,
HMAC-SHA256(secret/config-fingerprint-key, path NUL mode NUL group NUL content), made with a key
made once on the host, so the record reveals nothing about a secret. Each program's manifest entry
gets `config`, a digest of its files' fingerprints: the plan (manifest.py) restarts a program
whose files changed, and only those. state/config-files.json, replaced once the health gate
passed (drift detection reads it), version 1:

    {"version": 1, "files": [{"path": "/abs/path", "mode": "0600", "group": null, "format": "ini",
      "programs": ["runs", ...], "fingerprint": "<hex HMAC>", "copy": "config-files/0"}]}

`copy` is where the rendered text is relative to a deploy's directory (the stage, or
.deploy/previous, from which a rollback puts the previous files back).
"""

import base64
import grp
import hashlib
import hmac
import json
import os
import re
import secrets

from .credentials import write_private

VALUES_FILE = "secret/config-values"
KEY_FILE = "secret/config-fingerprint-key"
HEADER = "jaws-config-values 1"
PLACEHOLDER = re.compile(r"@@JAWS_SECRET\(([A-Za-z_][A-Za-z0-9_]*)\)@@")
SPEC = "config-files.json"
RECORD = "state/config-files.json"

CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
EXPANDABLE = re.compile(r"\$(\{|[A-Za-z0-9_])")


def escape(fmt, value):
    """`value` as written into a file of format `fmt` (constructs/render/config-file.ts does the
    same for plain values); ValueError says why it cannot be written without changing its meaning."""
    if fmt == "ini":
        if CONTROL.search(value):
            raise ValueError("contains a control character (newline...): an INI value is one line")
        if value != value.strip() or (value and (value[0].isspace() or value[-1].isspace())):
            raise ValueError("starts or ends with whitespace, which configparser strips")
        if EXPANDABLE.search(value):
            raise ValueError("contains $name or ${: JAWS's config reader would expand it as an environment variable")
        return value.replace("%", "%%")
    if fmt == "env":
        if "\0" in value:
            raise ValueError("contains NUL")
        if value and re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", value):
            return value
        return "'" + value.replace("'", "'\\''") + "'"
    if fmt == "text":
        return value
    raise ValueError("unknown format %s" % fmt)


def read_values(d):
    """{key: value} from secret/config-values; {} when there is none."""
    path = os.path.join(d, VALUES_FILE)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        lines = f.read().split("\n")
    if not lines or lines[0] != HEADER:
        raise SystemExit("%s is not a secrets file of this version (first line)" % path)
    values = {}
    for line in lines[1:]:
        if line in ("end", ""):
            continue
        key, _, encoded = line.partition(" ")
        values[key] = base64.b64decode(encoded).decode("utf-8")
    return values


def fingerprint_key(d):
    path = os.path.join(d, KEY_FILE)
    try:
        with open(path) as f:
            key = f.read().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    write_private(path, secrets.token_hex(32) + "\n")
    return fingerprint_key(d)


def fingerprint(key, path, mode, group, content):
    msg = "\0".join([path, mode, group or "", content]).encode("utf-8")
    return hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()


def load(path):
    if not path or not os.path.exists(path):
        return {"version": 1, "files": []}
    with open(path) as f:
        return json.load(f)


def render(d, stage, out=print):
    """Renders the staged config files with the secrets, records their fingerprints in the stage,
    and gives each program of the staged manifest the digest of its files (`config`)."""
    spec = load(os.path.join(stage, SPEC))
    values = read_values(d)
    key = fingerprint_key(d)
    old = {r["path"]: r["fingerprint"] for r in load(os.path.join(d, RECORD))["files"]}
    os.makedirs(os.path.join(stage, "config-files"), mode=0o700, exist_ok=True)
    errors, records = [], []
    for i, f in enumerate(spec["files"]):

        def substitute(m, f=f):
            name = m.group(1)
            source = f["secrets"].get(name, "")
            variable = source.partition(":")[2] or name
            if source not in values:
                errors.append(
                    "%s: secret %s: CI variable %s was never sent to this host (deploy with the fingerprint key and the variable set)"
                    % (f["path"], name, variable)
                )
                return ""
            try:
                return escape(f["format"], values[source])
            except ValueError as e:
                errors.append("%s: secret %s: the value of CI variable %s %s" % (f["path"], name, variable, e))
                return ""

        text = PLACEHOLDER.sub(substitute, f["text"])
        copy = "config-files/%d" % i
        write_private(os.path.join(stage, copy), text)
        fp = fingerprint(key, f["path"], f["mode"], f["group"], text)
        records.append(
            {
                "path": f["path"],
                "mode": f["mode"],
                "group": f["group"],
                "format": f["format"],
                "programs": f["programs"],
                "fingerprint": fp,
                "copy": copy,
            }
        )
        state = "unchanged" if old.get(f["path"]) == fp else ("new" if f["path"] not in old else "changed")
        users = ", ".join(f["programs"]) or "none"
        out("config file %s: %s (programs: %s)" % (f["path"], state, users))
    if errors:
        raise SystemExit("config files cannot be rendered; nothing running was changed:\n  " + "\n  ".join(errors))
    write_private(os.path.join(stage, RECORD), json.dumps({"version": 1, "files": records}, indent=2) + "\n")
    manifest_path = os.path.join(stage, "state", "programs.json")
    with open(manifest_path) as fh:
        manifest = json.load(fh)
    for p in manifest["programs"]:
        fps = [r["fingerprint"] for r in records if p["name"] in r["programs"]]
        if fps:
            p["config"] = hashlib.sha256("\0".join(fps).encode()).hexdigest()[:16]
    write_private(manifest_path, json.dumps(manifest, indent=2) + "\n")


def install_one(path, content, mode, group):
    """Atomic: a temporary file beside it, made 0600, given its group and mode, renamed over it."""
    want_mode = int(mode, 8)
    gid = None
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise SystemExit("config file %s: group %s does not exist" % (path, group))
    try:
        st = os.stat(path)
        with open(path) as f:
            same = f.read() == content
        if same and (st.st_mode & 0o7777) == want_mode and (gid is None or st.st_gid == gid):
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(content)
    try:
        if gid is not None:
            os.chown(tmp, -1, gid)
        os.chmod(tmp, want_mode)
    except PermissionError:
        os.remove(tmp)
        raise SystemExit("config file %s: cannot give it group %s (is the user in it?)" % (path, group))
    os.replace(tmp, path)
    return True


def install(d, from_dir, known=(), out=print):
    """Installs the config files of `from_dir` (the stage, or .deploy/previous); removes the files
    of the `known` records that `from_dir` does not have."""
    rec = load(os.path.join(from_dir, RECORD))
    for r in rec["files"]:
        src = os.path.join(from_dir, r["copy"])
        if not os.path.exists(src):
            continue
        with open(src) as f:
            content = f.read()
        if install_one(r["path"], content, r["mode"], r["group"]):
            out("config file %s: installed (mode %s%s)" % (r["path"], r["mode"], ", group " + r["group"] if r["group"] else ""))
    wanted = {r["path"] for r in rec["files"]}
    for k in known:
        for r in load(k)["files"]:
            if r["path"] not in wanted and os.path.exists(r["path"]):
                os.remove(r["path"])
                wanted.add(r["path"])
                out("config file %s: removed" % r["path"])


def save_previous(d, prev_dir):
    """Keeps the installed config files and their record in `prev_dir`, for a rollback."""
    rec = load(os.path.join(d, RECORD))
    kept = []
    for r in rec["files"]:
        if not os.path.exists(r["path"]):
            continue
        with open(r["path"]) as f:
            content = f.read()
        os.makedirs(os.path.join(prev_dir, "config-files"), mode=0o700, exist_ok=True)
        write_private(os.path.join(prev_dir, r["copy"]), content)
        kept.append(r)
    os.makedirs(os.path.join(prev_dir, "state"), mode=0o700, exist_ok=True)
    write_private(os.path.join(prev_dir, RECORD), json.dumps({"version": 1, "files": kept}, indent=2) + "\n")
