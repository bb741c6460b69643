"""A supervisord.conf written by jaws-deploy: its control endpoint, and a check with supervisord's own parser."""

import configparser
import os
import re
import tempfile


def endpoint(conf_file):
    """(server section, serverurl) of a supervisord.conf written by jaws-deploy."""
    p = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";", "#"))
    if not p.read(conf_file):
        raise SystemExit("cannot read %s" % conf_file)
    section = "inet_http_server" if p.has_section("inet_http_server") else "unix_http_server"
    # Values in the config are %-escaped for supervisord.
    return section, p.get("supervisorctl", "serverurl").strip().replace("%%", "%")


def check_config(d, conf_file, auth_text):
    """Parses `conf_file` the way supervisord does at start-up; nothing is started.

    The config includes secret/auth.conf, which matches the running endpoint: it is checked
    with `auth_text`, the one the new config needs. SystemExit with the reason when rejected.
    """
    from supervisor.options import ServerOptions

    include = os.path.join(d, "secret", "auth.conf").replace("%", "%%")
    with open(conf_file) as f:
        text = f.read()
    fd, auth_file = tempfile.mkstemp(prefix=".check-auth-", dir=os.path.dirname(os.path.abspath(conf_file)))
    with os.fdopen(fd, "w") as f:
        f.write(auth_text)
    checked = auth_file + ".conf"
    try:
        with open(os.open(checked, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(re.sub(r"^(files\s*=\s*)" + re.escape(include) + r"\s*$", lambda m: m.group(1) + auth_file, text, flags=re.M))
        opts = ServerOptions()
        opts.configfile = checked
        try:
            opts.process_config(do_usage=False)
        except ValueError as e:
            raise SystemExit("the new config is rejected by supervisord's parser: %s" % e)
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
        for f in (auth_file, checked):
            if os.path.exists(f):
                os.remove(f)
