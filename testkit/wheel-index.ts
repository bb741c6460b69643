/**
 * A package index for the e2e deploy of the defaults (PyPI is not reachable from the test machine):
 * a real wheel of the supervisor that Debian installs (`/usr/lib/python3/dist-packages/supervisor`
 * and its egg-info), zipped with Python's zipfile with a correct `.dist-info` (METADATA from
 * PKG-INFO, WHEEL, entry_points.txt, RECORD with sha256 and sizes), so it needs neither pip,
 * setuptools nor wheel on the machine; then served from 127.0.0.1 (a secure origin for pip) as a
 * PEP 503 simple index (`/simple/supervisor/`). The wheel's directory is the find-links directory.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { SYSTEM_PYTHON } from "./test-host";

/** Where Debian's python3 packages live (package `supervisor`). */
export const DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages";

export interface BuiltWheel {
  readonly file: string;
  readonly name: string;
  readonly version: string;
  /** sha256 of the wheel file (hex), for the index link. */
  readonly sha256: string;
}

/** Python's zipfile writes the wheel: the package's files, then METADATA (PKG-INFO), WHEEL, entry points and RECORD. */
const WHEEL_SCRIPT = `
import base64, glob, hashlib, json, os, sys, zipfile
dist, out = sys.argv[1], sys.argv[2]
(egg,) = glob.glob(os.path.join(dist, "supervisor-*.egg-info"))
pkg_info = open(os.path.join(egg, "PKG-INFO"), "rb").read()
version = next(l.split()[1] for l in pkg_info.decode().splitlines() if l.startswith("Version: "))
info = "supervisor-%s.dist-info" % version
name = "supervisor-%s-py2.py3-none-any.whl" % version
files = []
for root, dirs, names in os.walk(os.path.join(dist, "supervisor")):
    dirs[:] = sorted(d for d in dirs if d != "__pycache__")
    files += [os.path.join(root, n) for n in sorted(names) if not n.endswith(".pyc")]
entries = [(os.path.relpath(f, dist), open(f, "rb").read()) for f in files]
wheel = "Wheel-Version: 1.0\\nGenerator: jaws-deploy testkit/wheel-index.ts (from Debian's installed files)\\nRoot-Is-Purelib: true\\nTag: py2-none-any\\nTag: py3-none-any\\n"
entries += [(info + "/METADATA", pkg_info), (info + "/WHEEL", wheel.encode())]
entries += [(info + "/" + f, open(os.path.join(egg, f), "rb").read()) for f in ("entry_points.txt", "top_level.txt")]
digest = lambda d: "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode()
record = "".join("%s,%s,%d\\n" % (n, digest(d), len(d)) for n, d in entries) + info + "/RECORD,,\\n"
entries.append((info + "/RECORD", record.encode()))
with zipfile.ZipFile(os.path.join(out, name), "w", zipfile.ZIP_DEFLATED) as z:
    for n, d in entries:
        z.writestr(zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)), d, zipfile.ZIP_DEFLATED)
print(json.dumps({"name": name, "version": version}))
`;

/**
 * Builds `supervisor-<version>-py2.py3-none-any.whl` (PyPI's wheel name for supervisor) into
 * `outDir` from the installed package `supervisor` and its `supervisor-<version>.egg-info`.
 */
export function buildSupervisorWheel(outDir: string, distPackages = DEBIAN_DIST_PACKAGES): BuiltWheel {
  fs.mkdirSync(outDir, { recursive: true });
  const r = spawnSync(SYSTEM_PYTHON, ["-c", WHEEL_SCRIPT, distPackages, outDir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`wheel: building from ${distPackages} failed: ${r.stderr}`);
  const { name, version } = JSON.parse(r.stdout) as { name: string; version: string };
  const file = path.join(outDir, name);
  fs.chmodSync(file, 0o644);
  return { file, name, version, sha256: createHash("sha256").update(fs.readFileSync(file)).digest("hex") };
}

export interface WheelIndex {
  /** The find-links directory (readable by everyone: pip runs as the test users). */
  readonly dir: string;
  readonly wheel: BuiltWheel;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The PEP 503 index, for `pip --index-url`. */
  readonly indexUrl: string;
  /** Every request served, `GET /simple/supervisor/ 200`. */
  readonly requests: string[];
  stop(): Promise<void>;
}

const page = (links: string) => `<!DOCTYPE html>\n<html><body>\n${links}\n</body></html>\n`;

/**
 * Builds the wheel into `dir` (made world-readable) and serves it on 127.0.0.1 as a PEP 503 simple
 * index: `/simple/` lists `supervisor`, `/simple/supervisor/` links the wheel with its sha256
 * (pip checks it), `/files/<wheel>` is the file.
 */
export async function startWheelIndex(dir: string, distPackages = DEBIAN_DIST_PACKAGES): Promise<WheelIndex> {
  const wheel = buildSupervisorWheel(dir, distPackages);
  fs.chmodSync(dir, 0o755);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string | Buffer) => {
      requests.push(`${req.method} ${url} ${status}`);
      res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "method not allowed\n");
    if (url === "/simple/" || url === "/simple") return send(200, "text/html", page('<a href="/simple/supervisor/">supervisor</a>'));
    if (url === "/simple/supervisor/" || url === "/simple/supervisor") {
      return send(200, "text/html", page(`<a href="/files/${wheel.name}#sha256=${wheel.sha256}">${wheel.name}</a>`));
    }
    if (url === `/files/${wheel.name}`) return send(200, "application/octet-stream", fs.readFileSync(wheel.file));
    return send(404, "text/plain", "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    dir,
    wheel,
    url,
    indexUrl: `${url}/simple/`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
