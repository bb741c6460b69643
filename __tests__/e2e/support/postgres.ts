/**
 * A throw-away PostgreSQL server for the `pg` state backend test: initdb + pg_ctl of Debian's
 * `postgresql` package (installed by .ci/run), run as the `postgres` Unix user, data and socket
 * in a temp dir, listening on 127.0.0.1 at a free port, trust authentication (nothing else can
 * reach it), stopped and removed by `stop()`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run } from "../../../testkit/commands";
import { findExecutable, freeStablePort, lookupUser } from "../../../testkit/test-host";

const PG_TOOLS = ["initdb", "pg_ctl", "postgres", "psql"];

/** Directory holding the server tools: Debian's versioned dirs (newest first), then PATH's. */
function pgBinDir(): string | undefined {
  const versions = fs.existsSync("/usr/lib/postgresql") ? fs.readdirSync("/usr/lib/postgresql").filter((v) => /^\d+$/.test(v)) : [];
  const initdb = findExecutable("initdb");
  const candidates = [
    ...versions.sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`),
    ...(initdb ? [path.dirname(fs.realpathSync(initdb))] : []),
  ];
  return candidates.find((d) => PG_TOOLS.every((t) => findExecutable(path.join(d, t))));
}

/** What is missing to start a throw-away server; empty when it can run. */
export function postgresPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("must run as root (starts PostgreSQL as the postgres user)");
  if (!pgBinDir()) missing.push(`PostgreSQL server tools (${PG_TOOLS.join(", ")}) not found (apt-get install postgresql)`);
  if (!lookupUser("postgres")) missing.push("no 'postgres' Unix user (apt-get install postgresql)");
  return missing;
}

export class ThrowawayPostgres {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "jaws-pg-"));
  private readonly bin = pgBinDir() as string;
  /** Set once the server runs. */
  port = 0;

  /** A tool of the server's bin dir as the postgres user; throws unless it exits 0. */
  private pg(tool: string, args: string[]): string {
    const r = run(findExecutable("runuser") as string, ["-u", "postgres", "--", path.join(this.bin, tool), ...args], {
      cwd: this.dir,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8" },
      timeoutMs: 60_000,
    });
    if (r.code !== 0) throw new Error(`${tool} failed (exit ${r.code}):\n${r.output}`);
    return r.stdout.trim();
  }

  async start(): Promise<void> {
    const pg = lookupUser("postgres");
    if (!pg) throw new Error("no postgres user");
    fs.mkdirSync(`${this.dir}/sock`);
    for (const d of [this.dir, `${this.dir}/sock`]) fs.chownSync(d, pg.uid, pg.gid);
    fs.chmodSync(this.dir, 0o700);
    this.pg("initdb", ["-D", `${this.dir}/data`, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
    for (let attempt = 1; ; attempt++) {
      const port = await freeStablePort();
      const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${this.dir}/sock -c fsync=off`;
      try {
        this.pg("pg_ctl", ["-D", `${this.dir}/data`, "-l", `${this.dir}/postgres.log`, "-w", "-t", "30", "-o", opts, "start"]);
        this.port = port;
        return;
      } catch (e) {
        // A port taken meanwhile: another one.
        if (attempt === 3) throw new Error(`${(e as Error).message}\n${fs.readFileSync(`${this.dir}/postgres.log`, "utf8")}`);
      }
    }
  }

  /** psql over TCP as postgres; throws on error. */
  psql(sql: string, db = "postgres"): string {
    return this.pg("psql", [
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
  }

  connStr(db: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}?sslmode=disable`;
  }

  stop(): void {
    if (this.port) this.pg("pg_ctl", ["-D", `${this.dir}/data`, "-m", "fast", "-w", "-t", "30", "stop"]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
