"""state/programs.json (rendered by constructs/render.ts): the programs of an instance, and the
plan from one manifest to another."""

import json
import os


def load(path):
    """A manifest; an empty one (no instance, no programs) when `path` is missing."""
    if not path or not os.path.exists(path):
        return {"instance": None, "programs": []}
    with open(path) as f:
        return json.load(f)


def processes_of(manifest, names):
    """(group, process) of every process of the programs `names`, in that order; unknown names are skipped."""
    by_name = {p["name"]: p for p in manifest["programs"]}
    return [(manifest["group"], proc) for n in names if n in by_name for proc in by_name[n]["processes"]]


def plan(old, new):
    """What changes from manifest `old` to `new`: supervisord settings ("same"/"changed") and the
    programs changed, added and removed (sorted names)."""
    # `config`: the digest of the program's config files, rendered on the host (config_files.py).
    oldp = {p["name"]: (p["fingerprint"], p.get("config")) for p in old["programs"]}
    newp = {p["name"]: (p["fingerprint"], p.get("config")) for p in new["programs"]}
    return {
        "instance": "changed" if old["instance"] != new["instance"] or old.get("group") != new.get("group") else "same",
        "changed": sorted(n for n in newp if n in oldp and oldp[n] != newp[n]),
        "added": sorted(n for n in newp if n not in oldp),
        "removed": sorted(n for n in oldp if n not in newp),
    }


def plan_shell(p):
    """The plan as shell assignments for `eval` (program names are validated: no quotes, no spaces)."""
    return "PLAN_INSTANCE=%s\nPLAN_CHANGED='%s'\nPLAN_ADDED='%s'\nPLAN_REMOVED='%s'" % (
        p["instance"],
        " ".join(p["changed"]),
        " ".join(p["added"]),
        " ".join(p["removed"]),
    )
