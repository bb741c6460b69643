"""Prints, as JSON, what a supervisord runs: {"supervisord": pid, "processes": {"group:name":
{"pid", "start", "state"}}}. Run as the instance's user with a Python that has `supervisor`.
Reads the [supervisorctl] section (serverurl, username, password) of the file given, so it
works for the library's instances (secret/supervisorctl.conf) and for the baseline's plain
supervisord.conf alike. Uses XML-RPC; opens no SSH session.
"""
import configparser
import json
import sys
import xmlrpc.client

from supervisor import xmlrpc as sxmlrpc

conf = configparser.RawConfigParser()
conf.read(sys.argv[1])
s = conf["supervisorctl"]
transport = sxmlrpc.SupervisorTransport(s.get("username"), s.get("password"), s["serverurl"])
server = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
try:
    pid = server.supervisor.getPID()
    infos = server.supervisor.getAllProcessInfo()
except Exception as e:  # not running
    print(json.dumps({"supervisord": 0, "processes": {}, "error": str(e)}))
    sys.exit(0)
print(json.dumps({
    "supervisord": pid,
    "processes": {
        "%s:%s" % (i["group"], i["name"]): {"pid": i["pid"], "start": i["start"], "state": i["statename"]}
        for i in infos
    },
}))
