/**
 * A small real Python application for the release tests and the bench: the package `jawsdemo`,
 * built at test time into one wheel per version by Debian's python3 (setuptools and wheel:
 * `setup.py bdist_wheel`), into a find-links directory the test users can read (no index).
 * Its console script
 *
 *   jaws-demo --config FILE --name NAME
 *
 * reads FILE (INI, configparser: `[demo]` with `port` and `password`), listens on 127.0.0.1:port
 * and answers each connection with one line, `<name> <version> <sha256 of the password>`, so a
 * test can see which version runs and that the password it read is the one deployed. A version
 * built with `crash` exits at start (its programs fail the health gate).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { runOk } from "./commands";
import { SYSTEM_PYTHON } from "./test-host";

export const DEMO_PACKAGE = "jawsdemo";
export const DEMO_SCRIPT = "jaws-demo";

const program = (version: string, crash: boolean) => `"""jaws-demo ${version}: a test application of jaws-deploy."""
import argparse, configparser, hashlib, socket, sys

VERSION = ${JSON.stringify(version)}


def main():
    p = argparse.ArgumentParser(prog="jaws-demo")
    p.add_argument("--config", required=True)
    p.add_argument("--name", required=True)
    a = p.parse_args()
    if ${crash ? "True" : "False"}:
        print("jaws-demo %s: this release is broken, exiting" % VERSION, file=sys.stderr, flush=True)
        sys.exit(3)
    c = configparser.ConfigParser()
    with open(a.config) as f:
        c.read_file(f)
    port = c.getint("demo", "port")
    digest = hashlib.sha256(c.get("demo", "password").encode()).hexdigest()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    print("jaws-demo %s (%s) listening on 127.0.0.1:%d" % (VERSION, a.name, port), flush=True)
    while True:
        conn, _ = s.accept()
        conn.sendall(("%s %s %s\\n" % (a.name, VERSION, digest)).encode())
        conn.close()
`;

const setup = (version: string) => `from setuptools import setup
setup(name=${JSON.stringify(DEMO_PACKAGE)}, version=${JSON.stringify(version)}, packages=[${JSON.stringify(DEMO_PACKAGE)}],
      entry_points={"console_scripts": ["${DEMO_SCRIPT}=${DEMO_PACKAGE}:main"]})
`;

/** Builds `jawsdemo-<version>-py3-none-any.whl` for each version into `dir` (made readable by everyone). */
export function buildDemoWheels(dir: string, versions: readonly { version: string; crash?: boolean }[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  const built: string[] = [];
  for (const { version, crash } of versions) {
    const src = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-demo-src-"));
    try {
      fs.mkdirSync(path.join(src, DEMO_PACKAGE));
      fs.writeFileSync(path.join(src, DEMO_PACKAGE, "__init__.py"), program(version, crash ?? false));
      fs.writeFileSync(path.join(src, "setup.py"), setup(version));
      runOk(SYSTEM_PYTHON, ["setup.py", "-q", "bdist_wheel", "-d", dir], { cwd: src, timeoutMs: 60_000 });
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
    }
    const wheel = path.join(dir, `${DEMO_PACKAGE}-${version}-py3-none-any.whl`);
    fs.chmodSync(wheel, 0o644);
    built.push(wheel);
  }
  return built;
}

/** What a running jaws-demo answers on `port`: its name, version and the sha256 of its password. */
export function askDemo(port: number, timeoutMs = 2000): Promise<{ name: string; version: string; passwordSha256: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let data = "";
    const timer = setTimeout(() => sock.destroy(new Error(`no answer on ${port}`)), timeoutMs);
    sock.on("data", (d) => {
      data += d.toString();
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      const [name, version, passwordSha256] = data.trim().split(" ");
      if (passwordSha256) resolve({ name, version, passwordSha256 });
      else reject(new Error(`unexpected answer on ${port}: ${JSON.stringify(data)}`));
    });
  });
}

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");
