"""jaws-deploy's supervisord RPC extension (namespace `jawsdeploy`), imported by supervisord
through `[rpcinterface:jawsdeploy]` in supervisord.conf.

`supervisorctl update` stops and restarts every process of a group whose
config changed. `applyInPlace` applies the same new config but rebuilds a
changed group keeping the process objects, and so the running processes,
whose config did not change. Processes whose config changed or that were
removed must be stopped first; nothing is changed when one is still running.

`setCredentials` replaces the credentials of every HTTP endpoint in memory, so
a key rotation takes effect at once without restarting supervisord or any
program (jawsctl rotate-key rewrites secret/auth.conf to match).

Imports nothing of jawsctl: a change elsewhere in the package never restarts supervisord.
"""

from supervisor.states import STOPPED_STATES
from supervisor.xmlrpc import Faults, RPCError

API_VERSION = "2"


class JawsDeployNamespaceRPCInterface:
    def __init__(self, supervisord):
        self.supervisord = supervisord

    def getAPIVersion(self):
        """Return the version of this extension's API.

        @return string version
        """
        return API_VERSION

    def applyInPlace(self):
        """Reload the config and apply it, keeping unchanged processes running.

        @return array [added, changed, removed] group names
        """
        sd = self.supervisord
        try:
            sd.options.process_config(do_usage=False)
        except ValueError as e:
            raise RPCError(Faults.CANT_REREAD, str(e))
        added, changed, removed = sd.diff_to_active()

        busy = []
        for cfg in removed:
            busy += [p.config.name for p in sd.process_groups[cfg.name].get_unstopped_processes()]
        for cfg in changed:
            new_configs = {pc.name: pc for pc in cfg.process_configs}
            for name, proc in sd.process_groups[cfg.name].processes.items():
                unchanged = new_configs.get(name) == proc.config
                if not unchanged and proc.get_state() not in STOPPED_STATES:
                    busy.append(name)
        if busy:
            raise RPCError(Faults.STILL_RUNNING, "stop these processes first: " + ", ".join(sorted(busy)))

        for cfg in removed:
            sd.remove_process_group(cfg.name)
        for cfg in changed:
            old = sd.process_groups[cfg.name]
            cfg.after_setuid()
            new = cfg.make_group()
            for name, proc in list(new.processes.items()):
                kept = old.processes.get(name)
                if kept is not None and kept.config == proc.config:
                    kept.group = new
                    new.processes[name] = kept
            sd.process_groups[cfg.name] = new
        for cfg in added:
            sd.add_process_group(cfg)
        return [[c.name for c in added], [c.name for c in changed], [c.name for c in removed]]

    def setCredentials(self, username, password):
        """Replace the user and password every HTTP endpoint accepts, at once.

        @param string username
        @param string password  "{SHA}" followed by the hex SHA-1 of the key
        @return boolean always True
        """
        if not username or not password.startswith("{SHA}") or len(password) != 45:
            raise RPCError(Faults.BAD_ARGUMENTS, "expected a user name and a {SHA} hash")
        tables = []
        for config, server in self.supervisord.options.httpservers:
            for handler in getattr(server, "handlers", []):
                users = getattr(getattr(handler, "authorizer", None), "dict", None)
                if isinstance(users, dict) and not any(users is t for t in tables):
                    tables.append(users)
            config["username"], config["password"] = username, password
        if not tables:
            raise RPCError(Faults.FAILED, "no endpoint with credentials to change")
        # One table per endpoint, shared by its handlers: swapped in place, no request in between.
        for users in tables:
            users.clear()
            users[username] = password
        return True


def make_rpcinterface(supervisord, **config):
    return JawsDeployNamespaceRPCInterface(supervisord)
