"""Drift: what the host runs compared with what the current code renders, computed on the host.

`jawsctl drift` reads the expectation (rendered by scripts/drift.ts, sent on stdin over the one
SSH session) and prints one JSON report on stdout. The expectation:

    {"deployId": str, "supervisorVersion": str,
     "files": {path: sha256},          every file the deploy installs (relative to the instance dir)
     "sections": {name: sha256},       the sections of supervisord.conf ("" = the lines before the first)
     "manifest": {...},                state/programs.json as the code renders it
     "releases": [{"package", "version", "directory"}],   the PythonReleases the code pins
     "configFiles": [{"path", "mode", "group"}]}           the ConfigFiles the code renders (no content)

Files are compared by sha256 of their content, config files with secrets by their keyed
fingerprint (config_files.fingerprint, HMAC with the host's own key): no content and no secret
leaves the host. Each difference says whether the host file was edited since the last deploy
(state/files.json, recorded by the deploy) or the code changed since then. Runs with the venv's
Python, or any Python 3 when the venv is gone (then supervisord is reached only when that Python
has supervisor; otherwise the report says it could not look).
"""

import hashlib
import json
import os
import re
import subprocess
import sys

ACTIVE = ("RUNNING", "STARTING", "BACKOFF", "STOPPING")


def sha256_file(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return None


def sha256_text(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def files_record_path(d):
    return os.path.join(d, "state", "files.json")


def record_files(d, stage):
    """state/files.json: {"files": {path: sha256}} of every staged file the deploy installed at the
    same path (not bin/deploy, not the config files' spec and rendered copies, which hold secrets:
    those have their keyed record, state/config-files.json): what the host had right after the
    deploy, to tell edits later."""
    files = {}
    for root, _, names in os.walk(stage):
        for n in names:
            full = os.path.join(root, n)
            rel = os.path.relpath(full, stage)
            if rel != os.path.join("bin", "deploy") and not rel.startswith("config-files") and os.path.isfile(os.path.join(d, rel)):
                files[rel] = sha256_file(full)
    path = files_record_path(d)
    tmp = "%s.new.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump({"files": files}, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def load_record(d):
    try:
        with open(files_record_path(d)) as f:
            return json.load(f).get("files", {})
    except (OSError, ValueError):
        return {}


def config_sections(text):
    """Section name -> its text, cut like configSections() in constructs/render/render-instance.ts."""
    out, current = {}, ""
    for line in re.findall(r"[^\n]*\n|[^\n]+$", text):
        m = re.match(r"^\[([^\]]+)\]\s*$", line)
        if m:
            current = m.group(1)
        out[current] = out.get(current, "") + line
    return out


def section_label(name):
    return "(lines before the first section)" if name == "" else "[%s]" % name


def file_kind(path):
    if path == "supervisord.conf":
        return "config-section"
    if path.startswith("bin/") and path.endswith(".sh"):
        return "wrapper"
    return "file"


def cause(host, recorded, expected):
    """Why a host file differs from the code: missing, edited on the host, or not deployed."""
    if host is None:
        return "missing on the host", False
    if recorded is not None and host != recorded:
        return "edited on the host since the last deploy", True
    if recorded is None and expected is None:
        return "on the host, not in the code", False
    return "the code renders another version (not deployed yet)", False


def compare_files(d, expected, record, out):
    conf_path = os.path.join(d, "supervisord.conf")
    for path in sorted(expected["files"]):
        if path.startswith("state/"):
            continue  # what the deploy recorded, compared as the deploy id
        want = expected["files"][path]
        have = sha256_file(os.path.join(d, path))
        if have == want:
            continue
        why, edited = cause(have, record.get(path), want)
        if path == "supervisord.conf" and have is not None:
            with open(conf_path, encoding="utf-8", errors="surrogateescape") as f:
                host_sections = {k: sha256_text(v) for k, v in config_sections(f.read()).items()}
            for name in sorted(set(host_sections) | set(expected["sections"])):
                h, w = host_sections.get(name), expected["sections"].get(name)
                if h == w:
                    continue
                what = "not in the code" if w is None else "missing on the host" if h is None else "differs"
                out.append(diff("config-section", section_label(name), "%s: %s" % (what, why), edited))
            continue
        out.append(diff(file_kind(path), path, why, edited))
    # Wrappers the code does not have (a removed program's, one made by hand).
    bindir = os.path.join(d, "bin")
    for n in sorted(os.listdir(bindir)) if os.path.isdir(bindir) else []:
        rel = "bin/" + n
        if n.endswith(".sh") and rel not in expected["files"]:
            edited = record.get(rel) != sha256_file(os.path.join(d, rel))
            out.append(diff("wrapper", rel, "on the host, not in the code", edited))


def diff(kind, name, detail, edited=False):
    return {"kind": kind, "name": name, "detail": detail, "editedOnHost": bool(edited)}


def venv_version(d):
    """The supervisor version the instance's venv imports, or None (no venv, or broken)."""
    py = os.path.join(d, "venv", "bin", "python")
    if not os.access(py, os.X_OK):
        return None
    try:
        r = subprocess.run(
            [py, "-I", "-c", "import importlib.metadata as m; print(m.version('supervisor'))"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def dropin_groups(d):
    """Process groups of the drop-ins as of the last deploy (state/dropins.json): declared elsewhere."""
    try:
        with open(os.path.join(d, "state", "dropins.json")) as f:
            return {g for v in json.load(f).values() for g in v.get("groups", [])}
    except (OSError, ValueError, AttributeError):
        return set()


def compare_processes(d, manifest, out):
    """Programs that should run and do not, and programs running that the code does not declare.
    Returns None when it looked, or why it could not."""
    try:
        from .connection import info_by_name, proxy
    except ImportError as e:
        return "cannot ask supervisord: this Python has no supervisor (%s)" % e
    s = None
    try:
        s = proxy(d)
        infos = info_by_name(s)
    except Exception as e:  # no credentials, refused, no socket, wrong key: supervisord is not there for us
        out.append(diff("supervisord", "supervisord", "not running or not answering (%s: %s)" % (type(e).__name__, " ".join(str(e).split()))))
        return None
    finally:
        if s is not None:
            s("close")()
    group = manifest["group"]
    declared = set()
    for p in manifest["programs"]:
        for proc in p["processes"]:
            full = "%s:%s" % (group, proc)
            declared.add(full)
            i = infos.get(full)
            if not p["autostart"]:
                continue
            if i is None:
                out.append(diff("program-not-running", full, "not loaded by supervisord"))
                continue
            state = i["statename"]
            if p["oneShot"]:
                ok = state in ("RUNNING", "STARTING") or (state == "EXITED" and i["exitstatus"] in p["exitcodes"])
            else:
                ok = state == "RUNNING"
            if not ok:
                out.append(diff("program-not-running", full, state + ("" if state != "EXITED" else " (exit %d)" % i["exitstatus"])))
    others = dropin_groups(d)
    for full, i in sorted(infos.items()):
        if full not in declared and i["group"] not in others and i["statename"] in ACTIVE:
            out.append(diff("program-undeclared", full, "%s, pid %d: not declared by the code" % (i["statename"], i["pid"])))
    return None


def compare_releases(d, releases, out):
    """Each release the code pins: the version its `current` link names, complete (releases.py)."""
    from .releases import complete

    for r in releases:
        try:
            version = os.readlink(os.path.join(r["directory"], "current"))
        except OSError:
            version = None
        if version != r["version"]:
            out.append(diff("release", r["package"], "the host runs %s, the code pins %s" % (version or "no version", r["version"])))
        elif not complete(os.path.join(r["directory"], version), r):
            out.append(diff("release", r["package"], "%s is incomplete on the host (its venv was changed or removed)" % version))


def compare_config_files(d, files, out):
    """Config files (state/config-files.json, the deploy's keyed record): each one's keyed
    fingerprint now, its mode, and the set of files against the code's. Returns why it could not
    look, or None."""
    try:
        from . import config_files
    except ImportError as e:
        return "config files: this Python has no supervisor to load jawsctl.config_files (%s)" % e
    record = config_files.load(os.path.join(d, config_files.RECORD))["files"]
    code = {f["path"]: f for f in files}
    for f in record:
        if f["path"] not in code:
            out.append(diff("config-file", f["path"], "on the host (deployed before), not in the code"))
    for path in sorted(set(code) - {f["path"] for f in record}):
        out.append(diff("config-file", path, "in the code, not deployed yet"))
    if not record:
        return None
    try:
        with open(os.path.join(d, config_files.KEY_FILE)) as k:
            key = k.read().strip()
    except OSError:
        key = ""
    if not key:
        return "config files: no fingerprint key on the host (%s)" % config_files.KEY_FILE
    for f in record:
        try:
            with open(f["path"], encoding="utf-8") as h:
                content = h.read()
            mode = "0%o" % (os.stat(f["path"]).st_mode & 0o7777)
        except FileNotFoundError:
            out.append(diff("config-file", f["path"], "missing on the host"))
            continue
        except (OSError, UnicodeDecodeError) as e:
            out.append(diff("config-file", f["path"], "cannot be read: %s" % e))
            continue
        if config_files.fingerprint(key, f["path"], f["mode"], f["group"], content) != f["fingerprint"]:
            out.append(diff("config-file", f["path"], "edited on the host since the last deploy (its keyed fingerprint differs)", True))
        elif int(mode, 8) != int(f["mode"], 8):
            out.append(diff("config-file", f["path"], "mode %s on the host, %s deployed" % (mode, f["mode"]), True))
    return None


def report(d, expected):
    out = []
    host_id = None
    try:
        with open(os.path.join(d, "state", "deploy-id")) as f:
            host_id = f.read().strip() or None
    except OSError:
        pass
    if host_id != expected["deployId"]:
        out.append(diff("deploy", "deploy id", "the host ran deploy %s last; the code renders %s" % (host_id or "(none)", expected["deployId"])))
    compare_files(d, expected, load_record(d), out)
    version = venv_version(d)
    if version != expected["supervisorVersion"]:
        out.append(
            diff(
                "venv",
                "venv",
                "missing or broken (no venv/bin/python importing supervisor)"
                if version is None
                else "supervisor %s, the code pins %s" % (version, expected["supervisorVersion"]),
            )
        )
    compare_releases(d, expected.get("releases", []), out)
    not_checked = [compare_config_files(d, expected.get("configFiles", []), out), compare_processes(d, expected["manifest"], out)]
    return {"hostDeployId": host_id, "differences": out, "notChecked": [n for n in not_checked if n]}


def main(d, stdin=None, stdout=None):
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    expected = json.load(stdin)
    if not os.path.exists(os.path.join(d, "supervisord.conf")) and not os.path.exists(os.path.join(d, "state", "deploy-id")):
        json.dump({"hostDeployId": None, "differences": [diff("deploy", "deploy id", "nothing deployed in %s" % d)], "notChecked": []}, stdout)
        return
    json.dump(report(d, expected), stdout)
    stdout.write("\n")
