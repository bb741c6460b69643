/**
 * A throw-away PostgreSQL server for the `pg` state backend test: initdb + pg_ctl of Debian's
 * `postgresql` package (installed by .ci/run), run as the `postgres` Unix user via runuser, data
 * and socket directories in a temp dir, listening on 127.0.0.1 at a free port, trust
 * authentication (nothing else can reach it), stopped and removed by `stop()`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findExecutable, lookupUser } from "../../host/test-host";
import { freeStablePort } from "./project";

const PG_TOOLS = ["initdb", "pg_ctl", "postgres", "psql"] as const;

/** Directory holding initdb, pg_ctl, postgres and psql: Debian's versioned dir first, then PATH. */
function findPgBinDir(): string | undefined {
  const candidates: string[] = [];
  try {
    const versions = fs
      .readdirSync("/usr/lib/postgresql")
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    // 15 is what the brief and .ci/run's Debian give; any other installed major works the same.
    candidates.push(...["15", ...versions].map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    /* no Debian postgresql */
  }
  const initdb = findExecutable("initdb");
  if (initdb) candidates.push(path.dirname(fs.realpathSync(initdb)));
  return candidates.find((d) => PG_TOOLS.every((t) => isExecutable(path.join(d, t))));
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** What is missing to start a throw-away server; empty when it can run. */
export function postgresPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("must run as root (starts PostgreSQL as the postgres user)");
  if (!findPgBinDir())
    missing.push(
      `PostgreSQL server binaries (${PG_TOOLS.join(", ")}) not found in /usr/lib/postgresql/*/bin or on PATH (apt-get install postgresql)`,
    );
  if (!lookupUser("postgres")) missing.push("no 'postgres' Unix user (apt-get install postgresql)");
  if (!findExecutable("runuser")) missing.push("runuser missing (apt-get install util-linux)");
  return missing;
}

export class ThrowawayPostgres {
  readonly dir: string;
  readonly bin: string;
  port = 0;
  private started = false;

  constructor() {
    const bin = findPgBinDir();
    if (!bin) throw new Error(postgresPrerequisites().join("; "));
    this.bin = bin;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-pg-"));
    const pg = lookupUser("postgres");
    if (!pg) throw new Error("no postgres user");
    fs.chmodSync(this.dir, 0o700);
    fs.chownSync(this.dir, pg.uid, pg.gid);
  }

  get dataDir(): string {
    return path.join(this.dir, "data");
  }

  get socketDir(): string {
    return path.join(this.dir, "sock");
  }

  /** Runs a tool of the server's bin dir as the postgres user. */
  private pg(tool: string, args: string[], timeoutMs = 60_000) {
    const r = spawnSync(findExecutable("runuser") ?? "/usr/sbin/runuser", ["-u", "postgres", "--", path.join(this.bin, tool), ...args], {
      cwd: this.dir,
      encoding: "utf8",
      timeout: timeoutMs,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8" },
    });
    return { code: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? r.error.message : ""}` };
  }

  async start(): Promise<void> {
    const init = this.pg("initdb", ["-D", this.dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
    if (init.code !== 0) throw new Error(`initdb failed (exit ${init.code}):\n${init.out}`);
    fs.mkdirSync(this.socketDir, { mode: 0o700 });
    const pg = lookupUser("postgres");
    if (pg) fs.chownSync(this.socketDir, pg.uid, pg.gid);
    let last = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = await freeStablePort();
      const opts = `-c listen_addresses=127.0.0.1 -p ${this.port} -k ${this.socketDir} -c fsync=off`;
      const r = this.pg("pg_ctl", ["-D", this.dataDir, "-l", path.join(this.dir, "postgres.log"), "-w", "-t", "30", "-o", opts, "start"]);
      if (r.code === 0) {
        this.started = true;
        return;
      }
      last = `${r.out}\n${this.log()}`;
    }
    throw new Error(`pg_ctl start failed:\n${last}`);
  }

  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, "postgres.log"), "utf8");
    } catch {
      return "(no log)";
    }
  }

  /** psql over TCP as postgres; throws on error. */
  psql(sql: string, db = "postgres"): string {
    const r = this.pg("psql", [
      "-h",
      "127.0.0.1",
      "-p",
      String(this.port),
      "-U",
      "postgres",
      "-d",
      db,
      "-v",
      "ON_ERROR_STOP=1",
      "-At",
      "-c",
      sql,
    ]);
    if (r.code !== 0) throw new Error(`psql failed (exit ${r.code}): ${r.out}`);
    return r.out.trim();
  }

  connStr(db: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}?sslmode=disable`;
  }

  stop(): void {
    if (this.started) {
      this.pg("pg_ctl", ["-D", this.dataDir, "-m", "fast", "-w", "-t", "30", "stop"]);
      this.started = false;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
