/**
 * A package index for the e2e deploy of the defaults (PyPI is not reachable from the test machine):
 * a real wheel of the supervisor that Debian installs (`/usr/lib/python3/dist-packages/supervisor`
 * and its egg-info), made by hand here as a zip with a correct `.dist-info` (METADATA from
 * PKG-INFO, WHEEL, entry_points.txt, RECORD with sha256 and sizes), so it needs neither pip,
 * setuptools nor wheel on the machine; then served from 127.0.0.1 (a secure origin for pip) as a
 * PEP 503 simple index (`/simple/supervisor/`). The wheel's directory is the find-links directory.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import * as zlib from "node:zlib";

/** Where Debian's python3 packages live (package `supervisor`). */
export const DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages";

interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
  readonly mode: number;
}

/** A zip archive (deflated entries, fixed 1980-01-01 timestamps: the same files give the same bytes). */
function zip(entries: readonly ZipEntry[]): Buffer {
  const DOS_TIME = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, "utf8");
    const packed = zlib.deflateRawSync(e.data);
    const crc = zlib.crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, packed);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix (keeps the file mode)
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x0800, 8);
    dir.writeUInt16LE(8, 10);
    dir.writeUInt16LE(DOS_TIME, 12);
    dir.writeUInt16LE(DOS_DATE, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(packed.length, 20);
    dir.writeUInt32LE(e.data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    // extra, comment, disk, internal attributes: 0
    dir.writeUInt32LE(((0o100000 | e.mode) << 16) >>> 0, 38);
    dir.writeUInt32LE(offset, 42);
    central.push(dir, name);
    offset += local.length + name.length + packed.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** The RECORD hash of a file: `sha256=` and the urlsafe base64 digest without padding. */
const recordHash = (data: Buffer) => `sha256=${createHash("sha256").update(data).digest("base64url")}`;

/** Every file under `dir`, relative, sorted; no byte code. */
function packageFiles(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const r = path.posix.join(rel, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "__pycache__") out.push(...packageFiles(dir, r));
    } else if (!entry.name.endsWith(".pyc")) {
      out.push(r);
    }
  }
  return out;
}

export interface BuiltWheel {
  readonly file: string;
  readonly name: string;
  readonly version: string;
  /** sha256 of the wheel file (hex), for the index link. */
  readonly sha256: string;
}

/**
 * Builds `supervisor-<version>-py2.py3-none-any.whl` (PyPI's wheel name for supervisor) into
 * `outDir` from the installed package `supervisor` and its `supervisor-<version>.egg-info`.
 */
export function buildSupervisorWheel(outDir: string, distPackages = DEBIAN_DIST_PACKAGES): BuiltWheel {
  const eggInfos = fs.readdirSync(distPackages).filter((f) => /^supervisor-[^-]+\.egg-info$/.test(f));
  if (eggInfos.length !== 1)
    throw new Error(`wheel: expected one supervisor-*.egg-info in ${distPackages}, found ${eggInfos.join(", ") || "none"}`);
  const eggInfo = path.join(distPackages, eggInfos[0]);
  const pkgInfo = fs.readFileSync(path.join(eggInfo, "PKG-INFO"));
  const version = /^Version: (\S+)$/m.exec(pkgInfo.toString("utf8"))?.[1];
  if (!version) throw new Error(`wheel: no Version in ${eggInfo}/PKG-INFO`);
  const distInfo = `supervisor-${version}.dist-info`;

  const entries: ZipEntry[] = packageFiles(path.join(distPackages, "supervisor")).map((rel) => {
    const file = path.join(distPackages, "supervisor", rel);
    return { name: `supervisor/${rel}`, data: fs.readFileSync(file), mode: fs.statSync(file).mode & 0o777 };
  });
  const meta = (name: string, data: Buffer | string) => entries.push({ name: `${distInfo}/${name}`, data: Buffer.from(data), mode: 0o644 });
  meta("METADATA", pkgInfo);
  meta(
    "WHEEL",
    "Wheel-Version: 1.0\nGenerator: jaws-deploy testkit/wheel-index.ts (from Debian's installed files)\nRoot-Is-Purelib: true\nTag: py2-none-any\nTag: py3-none-any\n",
  );
  for (const f of ["entry_points.txt", "top_level.txt"]) meta(f, fs.readFileSync(path.join(eggInfo, f)));
  const record = [...entries.map((e) => `${e.name},${recordHash(e.data)},${e.data.length}`), `${distInfo}/RECORD,,`];
  meta("RECORD", `${record.join("\n")}\n`);

  const name = `supervisor-${version}-py2.py3-none-any.whl`;
  const data = zip(entries);
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, name);
  fs.writeFileSync(file, data, { mode: 0o644 });
  return { file, name, version, sha256: createHash("sha256").update(data).digest("hex") };
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
