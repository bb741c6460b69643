"""Releases of a Python application (PythonRelease): one venv per version in
<dir>/releases/<package>/<version>/, and a `current` link the programs' wrappers run, switched by
one rename (a symlink made beside it, then renamed over it).

state/releases.json (rendered by constructs/render/render-instance.ts releasesSpec) is what a
deploy installs when staged, and, once the health gate passed, the record of what the host runs
(drift detection reads it). Shape, version 1:

    {"version": 1, "releases": [{"package": "jaws-site", "version": "2.5.4",
      "directory": "<dir>/releases/jaws-site", "python": "python3", "pip": ["--no-index", ...],
      "requirement": "jaws-site==2.5.4", "keep": 3, "programs": ["runs", ...]}]}

A version's venv is built at its final path, not under a temporary name renamed at the end: a venv
is not relocatable (its scripts name its python by absolute path). It is complete once the marker
`.jaws-release` is written, last; a directory without it is a build that did not finish, removed
and built again. `current` only ever names a complete version.
"""

import json
import os
import re
import shutil
import subprocess
import time

MARKER = ".jaws-release"


class BuildError(Exception):
    pass


def load(path):
    if not path or not os.path.exists(path):
        return {"version": 1, "releases": []}
    with open(path) as f:
        return json.load(f)


def version_dir(r, version=None):
    return os.path.join(r["directory"], version or r["version"])


def complete(target, r=None):
    """True when `target` holds a finished build (of release `r`, when given)."""
    try:
        with open(os.path.join(target, MARKER)) as f:
            m = json.load(f)
    except (OSError, ValueError):
        return False
    return r is None or (m.get("package") == r["package"] and m.get("version") == r["version"])


def run(argv, what):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    if p.returncode != 0:
        tail = "\n".join(p.stdout.rstrip().splitlines()[-40:])
        raise BuildError("%s failed (exit %d):\n%s" % (what, p.returncode, tail))
    return p.stdout


def base_pip(python):
    """True when `python` has a pip that installs into another environment (`pip --python`,
    pip >= 22.3): the venv is then made without pip of its own, seconds faster (ensurepip)."""
    try:
        p = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except OSError:
        return False
    m = re.match(r"pip (\d+)\.(\d+)", p.stdout)
    return p.returncode == 0 and m is not None and (int(m.group(1)), int(m.group(2))) >= (22, 3)


def build_one(r, out=print):
    target = version_dir(r)
    name = "%s==%s" % (r["package"], r["version"])
    if complete(target, r):
        out("release %s: installed already (%s)" % (name, target))
        return
    os.makedirs(r["directory"], mode=0o700, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    started = time.time()
    out("release %s: building its venv %s (pip %s)" % (name, target, " ".join(r["pip"] + [r["requirement"]])))
    try:
        python = os.path.join(target, "bin", "python")
        if base_pip(r["python"]):
            run([r["python"], "-m", "venv", "--without-pip", target], "%s -m venv --without-pip %s" % (r["python"], target))
            pip = [r["python"], "-m", "pip", "--python", python]
        else:
            run([r["python"], "-m", "venv", target], "%s -m venv %s" % (r["python"], target))
            pip = [python, "-m", "pip"]
        pip += ["install", "--disable-pip-version-check", "--no-input", "--quiet"]
        run(pip + r["pip"] + [r["requirement"]], "pip install %s" % r["requirement"])
        probe = "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))"
        installed = run([python, "-c", probe, r["package"]], "reading the installed version of %s" % r["package"]).strip()
        if installed != r["version"]:
            raise BuildError("pip installed %s %s, not %s" % (r["package"], installed, r["version"]))
    except (BuildError, OSError) as e:
        shutil.rmtree(target, ignore_errors=True)
        raise SystemExit("release %s could not be installed; nothing running was changed:\n%s" % (name, e))
    tmp = os.path.join(target, MARKER + ".tmp")
    with open(tmp, "w") as f:
        json.dump({"package": r["package"], "version": r["version"], "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, f)
    os.replace(tmp, os.path.join(target, MARKER))
    out("release %s: ready in %.1fs" % (name, time.time() - started))


def build(spec_path, out=print):
    """Builds every release of the spec that is not installed yet; SystemExit with pip's output when one fails."""
    for r in load(spec_path)["releases"]:
        build_one(r, out)


def switch(spec_path, out=print):
    """Points each release's `current` at the spec's version, by one rename."""
    for r in load(spec_path)["releases"]:
        if not complete(version_dir(r), r):
            raise SystemExit("release %s==%s is not installed in %s" % (r["package"], r["version"], version_dir(r)))
        link = os.path.join(r["directory"], "current")
        try:
            if os.readlink(link) == r["version"]:
                continue
        except OSError:
            pass
        tmp = "%s.new.%d" % (link, os.getpid())
        os.symlink(r["version"], tmp)
        os.replace(tmp, link)
        out("release %s: current is %s" % (r["package"], r["version"]))


def prune(record_path, previous_path=None, out=print):
    """Keeps the newest `keep` versions of each release, and always the current and the previous
    one; removes the others and unfinished builds."""
    previous = {r["package"]: r["version"] for r in load(previous_path)["releases"]}
    for r in load(record_path)["releases"]:
        d = r["directory"]
        if not os.path.isdir(d):
            continue
        names = [n for n in os.listdir(d) if n != "current" and not n.startswith(".") and ".new." not in n]
        done = [n for n in names if complete(os.path.join(d, n))]
        done.sort(key=lambda n: os.path.getmtime(os.path.join(d, n, MARKER)), reverse=True)
        keep = set(done[: r["keep"]]) | {r["version"]}
        if r["package"] in previous:
            keep.add(previous[r["package"]])
        for n in names:
            if n not in keep:
                shutil.rmtree(os.path.join(d, n), ignore_errors=True)
                out("release %s: removed %s%s" % (r["package"], n, "" if n in done else " (unfinished build)"))
