"""The command line of jawsctl (`--help` lists the subcommands; the package docstring says how it runs on the host)."""

import argparse
import os
import sys
import xmlrpc.client

from . import config, config_files, connection, credentials, drift, dropins, health, manifest, preflight, probes, processes, programs, releases, slurm


def parser():
    p = argparse.ArgumentParser(prog="jawsctl", description="Control of one supervisord instance deployed by jaws-deploy.")
    p.add_argument("--dir", required=True, help="the instance directory")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("ping", help="exit 0 when supervisord answers with the instance's key")
    w = sub.add_parser("wait-up", help="wait until supervisord is RUNNING")
    w.add_argument("--timeout", type=float, default=30)
    sd = sub.add_parser("shutdown", help="shut supervisord down and wait until it is gone")
    sd.add_argument("--timeout", type=float, default=300)
    sd.add_argument("--remote", action="store_true", help="it runs in a Slurm job: wait until its endpoint stops answering")
    c = sub.add_parser("check-config", help="check a config with supervisord's own parser")
    c.add_argument("file")
    c.add_argument("--user", required=True)
    se = sub.add_parser("secret", help="make the key when missing; with --conf, the auth files for that config")
    se.add_argument("--user", required=True)
    se.add_argument("--conf")
    rk = sub.add_parser("rotate-key", help="replace the key, in the running supervisord too")
    rk.add_argument("--user", required=True)
    rk.add_argument("--conf", required=True)
    rp = sub.add_parser("reap", help="stop a supervisord of CONF nobody can reach and programs a dead one left")
    rp.add_argument("--conf", required=True)
    rp.add_argument("--timeout", type=float, default=300)
    pl = sub.add_parser("plan", help="what changes from one manifest to another")
    pl.add_argument("old")
    pl.add_argument("new")
    for name in ("stop-programs", "start-programs"):
        sp = sub.add_parser(name, help=name.replace("-", " ") + " of a manifest")
        sp.add_argument("manifest")
        sp.add_argument("names", nargs="*")
        sp.add_argument("--record", help="processes that were running (written by stop, read by start)")
        sp.add_argument("--timeout", type=float, default=300)
    sub.add_parser("apply", help="apply the config on disk in place")
    pf = sub.add_parser("preflight", help="each endpoint accepts a TCP connection within the timeout")
    pf.add_argument("--endpoint", nargs=3, action="append", default=[], metavar=("NAME", "HOST", "PORT"))
    pf.add_argument("--timeout", type=float, default=5)
    dp = sub.add_parser("dropin-plan", help="groups of the drop-ins of CONF changed since the last deploy, as shell")
    dp.add_argument("conf")
    dr = sub.add_parser("dropin-record", help="record the drop-ins of CONF as applied (state/dropins.json)")
    dr.add_argument("conf")
    for name in ("dropin-stop", "dropin-start"):
        ds = sub.add_parser(name, help=name.replace("-", " ") + ": the processes of drop-in GROUPS")
        ds.add_argument("groups", nargs="*")
        ds.add_argument("--record", required=True, help="processes that were running (written by stop, read by start)")
    rb = sub.add_parser("release-build", help="build the venv of each release of SPEC not installed yet")
    rb.add_argument("spec")
    rs = sub.add_parser("release-switch", help="point each release's current link at SPEC's version")
    rs.add_argument("spec")
    rpr = sub.add_parser("release-prune", help="remove releases beyond each one's keep count (never the current or previous)")
    rpr.add_argument("record")
    rpr.add_argument("--previous")
    cr = sub.add_parser("config-render", help="render the staged config files with their secrets (in STAGE)")
    cr.add_argument("stage")
    ci = sub.add_parser("config-install", help="install the config files of FROM (the stage or .deploy/previous)")
    ci.add_argument("from_dir")
    ci.add_argument("--known", action="append", default=[], help="records whose files FROM does not have are removed")
    cs = sub.add_parser("config-save", help="keep the installed config files in PREVIOUS for a rollback")
    cs.add_argument("previous")
    sub.add_parser("status", help="every process, its state, pid and uptime")
    sub.add_parser("pids", help='{"group:process": pid} as JSON')
    h = sub.add_parser("health", help="the health gate: every autostart process of MANIFEST up")
    h.add_argument("--manifest", required=True)
    h.add_argument("--timeout", type=float, default=60)
    pe = sub.add_parser("probe-ensure", help="probe each program with restartOnProbeFailures once; restart one failing that often")
    pe.add_argument("--manifest", required=True)
    se = sub.add_parser("slurm-ensure", help="exactly one job of the name queued or running: submit one when there is none")
    se.add_argument("--job-name", required=True)
    se.add_argument("--script", required=True)
    se.add_argument("--output", required=True)
    se.add_argument("--time-limit", required=True)
    se.add_argument("--maintenance-buffer", type=int, required=True, help="minutes kept free before the next maintenance")
    se.add_argument("options", nargs="*", help="the site's sbatch options (after --)")
    sw = sub.add_parser("slurm-wait-up", help="wait until supervisord of the job answers; exit %d when still queued" % slurm.QUEUED)
    sw.add_argument("--job-name", required=True)
    sw.add_argument("--timeout", type=float, default=60)
    sc = sub.add_parser("slurm-cancel", help="scancel every job of the name and wait until none is listed")
    sc.add_argument("--job-name", required=True)
    sc.add_argument("--timeout", type=float, default=300)
    sp = sub.add_parser("slurm-publish", help="(in the job) publish where supervisord runs: run/slurm-job.json")
    for opt in ("--job", "--node", "--address", "--url"):
        sp.add_argument(opt, required=True)
    ss = sub.add_parser("start-stopped", help="start the processes of autostart programs of MANIFEST that are down")
    ss.add_argument("manifest")
    sub.add_parser("drift", help="compare the host with the expectation on stdin (JSON, see drift.py); a JSON report")
    rf = sub.add_parser("record-files", help="record the sha256 of every file of the deploy in STAGE (state/files.json)")
    rf.add_argument("stage")
    return p


def check_config(a):
    # The auth file the new config needs (its endpoint may differ from the running one).
    auth, _ = credentials.auth_texts(a.dir, a.user, a.file)
    config.check_config(a.dir, a.file, auth)


def plan(a):
    print(manifest.plan_shell(manifest.plan(manifest.load(a.old), manifest.load(a.new))))


def status(a):
    """Where a Slurm-launched instance runs, the process table, then each probe's result and age (a probe
    older than its interval runs first)."""
    where = slurm.status_line(a.dir)
    if where:
        print(where)
    infos = connection.info_by_name(connection.proxy(a.dir))
    health.print_status(infos)
    probes.print_rows(probes.status_rows(a.dir, manifest.load(os.path.join(a.dir, "state", "programs.json")), infos), sys.stdout)


def probe_ensure(a):
    s = connection.proxy(a.dir)
    m = manifest.load(a.manifest)
    if any(p.get("restartOnProbeFailures") for p in probes.probed(m)):
        probes.ensure(s, a.dir, m, connection.info_by_name(s), sys.stdout)


def rotate_key(a):
    sys.exit(credentials.rotate_key(a.dir, a.user, a.conf))


COMMANDS = {
    "ping": lambda a: connection.ping(a.dir),
    "wait-up": lambda a: connection.wait_up(a.dir, a.timeout),
    "shutdown": lambda a: connection.shutdown(a.dir, a.timeout, a.remote),
    "check-config": check_config,
    "secret": lambda a: credentials.secret(a.dir, a.user, a.conf),
    "rotate-key": rotate_key,
    "reap": lambda a: processes.reap(a.dir, a.conf, a.timeout),
    "plan": plan,
    "stop-programs": lambda a: programs.stop_programs(
        connection.proxy(a.dir), manifest.load(a.manifest), a.names, a.timeout, a.record
    ),
    "apply": lambda a: programs.apply(connection.proxy(a.dir)),
    "start-programs": lambda a: programs.start_programs(connection.proxy(a.dir), manifest.load(a.manifest), a.names, a.record),
    "preflight": lambda a: preflight.preflight(a.endpoint, a.timeout),
    "dropin-plan": lambda a: print(dropins.plan(a.dir, a.conf)),
    "dropin-record": lambda a: dropins.save(a.dir, a.conf),
    "dropin-stop": lambda a: dropins.stop_groups(connection.proxy(a.dir), a.groups, a.record),
    "dropin-start": lambda a: dropins.start_groups(connection.proxy(a.dir), a.groups, a.record),
    "status": status,
    "probe-ensure": probe_ensure,
    "release-build": lambda a: releases.build(a.spec),
    "release-switch": lambda a: releases.switch(a.spec),
    "release-prune": lambda a: releases.prune(a.record, a.previous),
    "config-render": lambda a: config_files.render(a.dir, a.stage),
    "config-install": lambda a: config_files.install(a.dir, a.from_dir, a.known),
    "config-save": lambda a: config_files.save_previous(a.dir, a.previous),
    "start-stopped": lambda a: programs.start_stopped(connection.proxy(a.dir), manifest.load(a.manifest)),
    "drift": lambda a: drift.main(a.dir),
    "record-files": lambda a: drift.record_files(a.dir, a.stage),
    "pids": lambda a: print(health.pids_json(connection.info_by_name(connection.proxy(a.dir)))),
    "slurm-ensure": lambda a: slurm.ensure(a.job_name, a.script, a.output, a.time_limit, a.maintenance_buffer, a.options),
    "slurm-wait-up": lambda a: slurm.wait_up(a.dir, a.job_name, a.timeout),
    "slurm-cancel": lambda a: slurm.cancel(a.job_name, a.timeout),
    "slurm-publish": lambda a: slurm.publish(a.dir, a.job, a.node, a.address, a.url),
    "health": lambda a: health.health(connection.proxy(a.dir), manifest.load(a.manifest), a.timeout, d=a.dir),
}


def main(argv=None):
    a = parser().parse_args(argv)
    try:
        COMMANDS[a.cmd](a)
    except xmlrpc.client.Fault as e:
        sys.exit("%s: supervisord refused: %s" % (a.cmd, e.faultString))
    except (OSError, xmlrpc.client.ProtocolError) as e:
        sys.exit("%s: cannot reach supervisord of %s: %s" % (a.cmd, a.dir, e))


if __name__ == "__main__":
    main()
