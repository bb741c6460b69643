"""jawsctl: control of one supervisord instance deployed by jaws-deploy.

Used by the instance's deploy, ensure and destroy scripts and by operators; talks to
supervisord over XML-RPC with the instance's own key, never parses supervisorctl's text.

On the host the package lives in <dir>/lib/jawsctl/ and runs with the instance's venv:

    <dir>/venv/bin/python -I -m jawsctl --dir <dir> <command> ...

(the argv before <command> is controlCommand() in constructs/host-layout.ts; the shell
scripts get it from there). <dir>/lib is importable through a .pth file the bootstrap puts
into the venv's site-packages (jaws-deploy.pth, one line: <dir>/lib). That one line serves
both users of the package: `-m jawsctl` finds it, and supervisord imports its RPC extension
from it (`jawsctl.rpc_extension:make_rpcinterface` in supervisord.conf) with nothing copied
into the venv, so the deployed files are the only copy. `-I` keeps the operator's environment
(PYTHONPATH of a `module load`, the current directory) from shadowing supervisor or jawsctl.

supervisord imports this file and rpc_extension.py only: keep this file free of imports, so
that the instance fingerprint (which restarts supervisord when these files change) covers
exactly what supervisord runs.

Modules: connection (endpoint, proxy, up/down), credentials (key, auth files, rotation),
config (the endpoint of a config, check with supervisord's parser), manifest (programs.json,
plan), programs (stop/apply/start), processes (reap what nobody can reach), health (gate,
status, pids), rpc_extension (loaded by supervisord).
"""
