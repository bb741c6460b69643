"""A supervisord.conf written by jaws-deploy: its control endpoint, its drop-ins, and a check with
supervisord's own parser."""

import configparser
import glob
import os
import re
import tempfile

from .connection import NODE_ADDRESS_VARIABLE


def endpoint(conf_file):
    """(server section, serverurl) of a supervisord.conf written by jaws-deploy."""
    p = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";", "#"))
    if not p.read(conf_file):
        raise SystemExit("cannot read %s" % conf_file)
    section = "inet_http_server" if p.has_section("inet_http_server") else "unix_http_server"
    # Values in the config are %-escaped for supervisord.
    return section, p.get("supervisorctl", "serverurl").strip().replace("%%", "%")


def include_line(text, include):
    """The `files = ...` line of [include] in `text`: (match, the drop-in globs after `include`)."""
    m = re.search(r"^(files\s*=\s*)" + re.escape(include) + r"((?:[ \t]+\S+)*)[ \t]*$", text, flags=re.M)
    if not m:
        raise SystemExit("no [include] files = %s line in the config" % include)
    return m, [g.replace("%%", "%") for g in m.group(2).split()]


def dropin_files(conf_file, d):
    """The drop-in files the config at `conf_file` includes (its globs, expanded as supervisord does)."""
    with open(conf_file) as f:
        _, globs = include_line(f.read(), os.path.join(d, "secret", "auth.conf").replace("%", "%%"))
    return sorted({f for g in globs for f in glob.glob(g)})


# What a drop-in may define: programs and groups of its own, nothing of the instance's.
DROPIN_SECTIONS = ("program:", "group:", "eventlistener:", "fcgi-program:")


def read_sections(path):
    p = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";", "#"))
    try:
        p.read(path)
    except configparser.Error as e:
        raise SystemExit("the drop-in %s does not parse: %s" % (path, " ".join(str(e).split())))
    return p


def check_dropins(text, files):
    """A drop-in defines only its own programs and groups (supervisord would merge a second
    [program:x] into ours silently). SystemExit naming the file otherwise."""
    main = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";", "#"))
    main.read_string(text)
    ours = set(main.sections())
    our_programs = {s.split(":", 1)[1] for s in ours if s.startswith("program:")}
    our_groups = {s.split(":", 1)[1] for s in ours if s.startswith("group:")}
    for path in files:
        p = read_sections(path)
        for section in p.sections():
            name = section.split(":", 1)[1] if ":" in section else ""
            if section in ours:
                raise SystemExit("the drop-in %s redefines [%s] of this instance's own config" % (path, section))
            if not section.startswith(DROPIN_SECTIONS):
                raise SystemExit("the drop-in %s has a [%s] section: a drop-in may only add programs and groups" % (path, section))
            if name in our_groups or name in our_programs:
                raise SystemExit("the drop-in %s: [%s] takes the name of this instance's own program or group" % (path, section))
            if section.startswith("group:"):
                taken = our_programs & {x.strip() for x in p.get(section, "programs", fallback="").split(",")}
                if taken:
                    raise SystemExit("the drop-in %s: [%s] claims this instance's program(s) %s" % (path, section, ", ".join(sorted(taken))))


def parse(d, text, conf_file, files_value):
    """supervisord's parser on `text` with the [include] files value replaced; ValueError when rejected."""
    from supervisor.options import ServerOptions

    # A Slurm-launched instance's config names its node's address, known only in the job.
    os.environ.setdefault(NODE_ADDRESS_VARIABLE, "127.0.0.1")
    checked = os.path.join(os.path.dirname(os.path.abspath(conf_file)), ".check-%d.conf" % os.getpid())
    m, _ = include_line(text, os.path.join(d, "secret", "auth.conf").replace("%", "%%"))
    try:
        with open(os.open(checked, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(text[: m.start()] + m.group(1) + files_value + text[m.end() :])
        opts = ServerOptions()
        opts.configfile = checked
        opts.process_config(do_usage=False)
        return opts
    finally:
        if os.path.exists(checked):
            os.remove(checked)


def check_config(d, conf_file, auth_text):
    """Parses `conf_file` the way supervisord does at start-up, drop-ins included; nothing is started.

    The config includes secret/auth.conf, which matches the running endpoint: it is checked
    with `auth_text`, the one the new config needs. SystemExit with the reason when rejected,
    naming the drop-in file when one is the cause.
    """
    with open(conf_file) as f:
        text = f.read()
    _, globs = include_line(text, os.path.join(d, "secret", "auth.conf").replace("%", "%%"))
    files = dropin_files(conf_file, d)
    check_dropins(text, files)
    fd, auth_file = tempfile.mkstemp(prefix=".check-auth-", dir=os.path.dirname(os.path.abspath(conf_file)))
    with os.fdopen(fd, "w") as f:
        f.write(auth_text)
    esc = lambda p: p.replace("%", "%%")  # noqa: E731
    try:
        try:
            opts = parse(d, text, conf_file, " ".join([esc(auth_file)] + [esc(g) for g in globs]))
        except ValueError as e:
            # Name the drop-in that breaks it: the config alone, then with each drop-in.
            try:
                parse(d, text, conf_file, esc(auth_file))
            except ValueError:
                raise SystemExit("the new config is rejected by supervisord's parser: %s" % e)
            for path in files:
                try:
                    parse(d, text, conf_file, esc(auth_file) + " " + esc(path))
                except ValueError as e1:
                    raise SystemExit("the drop-in %s is rejected by supervisord's parser: %s" % (path, e1))
            raise SystemExit("the new config with its drop-ins is rejected by supervisord's parser: %s" % e)
        # The parser leaves a program's `directory` to spawn time, where a missing one makes the
        # program FATAL after the deploy has already stopped things: refuse it here instead.
        missing = sorted(
            "%s: directory %s" % (pc.name, pc.directory)
            for g in opts.process_group_configs
            for pc in g.process_configs
            if pc.directory and not os.path.isdir(pc.directory)
        )
        if missing:
            raise SystemExit("the new config is rejected: missing on this host: %s" % "; ".join(missing))
    finally:
        os.remove(auth_file)
