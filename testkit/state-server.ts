/**
 * A Terraform state server for the tests, written in this harness (not a maintained server): it
 * speaks Terraform's `http` backend protocol the way GitLab's managed Terraform state does for the
 * stacks of this project (constructs/terraform.ts `createStack`):
 *
 *   <base>/projects/<id>/terraform/state/<name>        GET   200 state | 204 none
 *                                                      POST  200 (`?ID=<lock id>` when locked)
 *                                                      DELETE 200
 *   <base>/projects/<id>/terraform/state/<name>/lock   POST  200 | 423 Locked + the holder's lock info
 *                                                      DELETE 200 (body: the lock info with its ID)
 *
 * Every request needs basic auth with the username and password it was given (401 otherwise).
 * A state write while the state is locked must carry the holder's ID (409 otherwise), so does an
 * unlock (409 with the holder's info otherwise). `holdWrites()` parks state writes until released:
 * a test can keep an apply inside its lock for as long as it needs, without sleeping.
 *
 * `spawnStateServer` runs it in a child process, driven over `/_test/*` (same basic auth): a test
 * that runs Terraform synchronously (spawnSync) blocks its own event loop, and with it any
 * server living in the test process.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** Terraform's lock info (statemgr.LockInfo), as sent in the lock body. */
export interface LockInfo {
  readonly ID: string;
  readonly Operation?: string;
  readonly Info?: string;
  readonly Who?: string;
  readonly Version?: string;
  readonly Created?: string;
  readonly Path?: string;
}

export interface StateServerOptions {
  readonly username: string;
  readonly password: string;
}

/** Status and body of an answer. */
type Reply = readonly [status: number, body?: string | Buffer];

interface Held {
  readonly key: string;
  readonly run: () => void;
}

const ROUTE = /^\/api\/v4\/projects\/([^/]+)\/terraform\/state\/([^/]+?)(\/lock)?$/;

/** The key of a state: `<project id>/<state name>`, both decoded. */
export const stateKey = (projectId: string, name: string) => `${projectId}/${name}`;

export class StateServer {
  private server?: http.Server;
  private readonly states = new Map<string, Buffer>();
  /** Every version ever written, per state (the password check reads them all). */
  private readonly history = new Map<string, Buffer[]>();
  private readonly locks = new Map<string, LockInfo>();
  private holding = false;
  private readonly held: Held[] = [];
  /** Every request, `POST /api/v4/.../lock 423` (no credentials). */
  readonly requests: string[] = [];
  url = "";

  constructor(private readonly opts: StateServerOptions) {}

  /** GitLab's API v4 URL of this server (JAWS_GITLAB_API_URL). */
  get apiUrl(): string {
    return `${this.url}/api/v4`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(0, "127.0.0.1", resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.releaseWrites();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The current state of `<project>/<name>`, parsed; undefined when none. */
  state(projectId: string, name: string): Record<string, unknown> | undefined {
    const s = this.states.get(stateKey(projectId, name));
    return s && JSON.parse(s.toString("utf8"));
  }

  /** Every version of every state ever written, as text. */
  allVersions(): string[] {
    return [...this.history.values()].flat().map((b) => b.toString("utf8"));
  }

  /** The lock of `<project>/<name>`, if held. */
  lock(projectId: string, name: string): LockInfo | undefined {
    return this.locks.get(stateKey(projectId, name));
  }

  /** From now on state writes wait (no response) until `releaseWrites()`. */
  holdWrites(): void {
    this.holding = true;
  }

  /** State writes parked by `holdWrites`, per state key. */
  heldWrites(): string[] {
    return this.held.map((h) => h.key);
  }

  releaseWrites(): void {
    this.holding = false;
    for (const h of this.held.splice(0)) h.run();
  }

  private handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const [pathname, query = ""] = (req.url ?? "/").split("?", 2);
    void Promise.resolve(this.answer(req, pathname, query, body)).then(([status, payload]) => {
      this.requests.push(`${req.method} ${pathname} ${status}`);
      const data = payload === undefined ? Buffer.alloc(0) : Buffer.from(payload);
      if (status === 401) res.setHeader("WWW-Authenticate", 'Basic realm="terraform state"');
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": data.length });
      res.end(data);
    });
  }

  private answer(req: http.IncomingMessage, pathname: string, query: string, body: Buffer): Reply | Promise<Reply> {
    if (!this.authorised(req.headers.authorization)) return [401, '{"message":"401 Unauthorized"}'];
    if (pathname.startsWith("/_test/")) return this.control(req.method, pathname);
    const m = ROUTE.exec(pathname);
    if (!m) return [404, '{"message":"404 Not Found"}'];
    const key = stateKey(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
    const holder = this.locks.get(key);
    const md5 = req.headers["content-md5"];
    if (md5 && md5 !== createHash("md5").update(body).digest("base64")) return [400, '{"message":"Content-MD5 mismatch"}'];

    if (m[3]) {
      let info: LockInfo;
      try {
        info = JSON.parse(body.toString("utf8"));
      } catch {
        return [400, '{"message":"lock info is not JSON"}'];
      }
      if (typeof info?.ID !== "string" || info.ID === "") return [400, '{"message":"lock info has no ID"}'];
      if (req.method === "POST") {
        if (holder && holder.ID !== info.ID) return [423, JSON.stringify(holder)];
        this.locks.set(key, info);
        return [200, "{}"];
      }
      if (req.method === "DELETE") {
        if (holder && holder.ID !== info.ID) return [409, JSON.stringify(holder)];
        this.locks.delete(key);
        return [200, "{}"];
      }
      return [405, '{"message":"405 Method Not Allowed"}'];
    }

    switch (req.method) {
      case "GET": {
        const s = this.states.get(key);
        return s ? [200, s] : [204];
      }
      case "POST": {
        const id = new URLSearchParams(query).get("ID");
        if (holder && holder.ID !== id) return [409, JSON.stringify(holder)];
        const write = (): Reply => {
          this.states.set(key, body);
          this.history.set(key, [...(this.history.get(key) ?? []), body]);
          return [200, "{}"];
        };
        if (!this.holding) return write();
        return new Promise<Reply>((resolve) => this.held.push({ key, run: () => resolve(write()) }));
      }
      case "DELETE":
        if (holder) return [409, JSON.stringify(holder)];
        this.states.delete(key);
        return [200, "{}"];
      default:
        return [405, '{"message":"405 Method Not Allowed"}'];
    }
  }

  /** What a test in another process reads and does (spawnStateServer). */
  status(): StateServerStatus {
    const parse = (b: Buffer) => JSON.parse(b.toString("utf8"));
    return {
      states: Object.fromEntries([...this.states].map(([k, b]) => [k, parse(b)])),
      versions: this.allVersions(),
      locks: Object.fromEntries(this.locks),
      held: this.heldWrites(),
      requests: this.requests,
    };
  }

  private control(method: string | undefined, pathname: string): Reply {
    if (method === "GET" && pathname === "/_test/status") return [200, JSON.stringify(this.status())];
    if (method === "POST" && pathname === "/_test/hold") this.holdWrites();
    else if (method === "POST" && pathname === "/_test/release") this.releaseWrites();
    else return [404, '{"message":"404 Not Found"}'];
    return [200, "{}"];
  }

  private authorised(header: string | undefined): boolean {
    const m = /^Basic (.+)$/.exec(header ?? "");
    if (!m) return false;
    const given = Buffer.from(m[1], "base64").toString("utf8");
    return given === `${this.opts.username}:${this.opts.password}`;
  }
}

export interface StateServerStatus {
  /** Current state per `<project id>/<state name>`, parsed. */
  readonly states: Record<string, { serial: number; resources: { type: string; name: string }[] } & Record<string, unknown>>;
  /** Every version ever written, as text. */
  readonly versions: string[];
  readonly locks: Record<string, LockInfo>;
  /** Keys of the state writes parked by a hold. */
  readonly held: string[];
  readonly requests: string[];
}

/** A state server in a child process, and how a test drives it. */
export interface StateServerProcess {
  readonly url: string;
  /** GitLab's API v4 URL of the server (JAWS_GITLAB_API_URL). */
  readonly apiUrl: string;
  status(): Promise<StateServerStatus>;
  holdWrites(): Promise<void>;
  releaseWrites(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the server in a child process (tsx), credentials through its environment. */
export async function spawnStateServer(opts: StateServerOptions): Promise<StateServerProcess> {
  const tsx = `${__dirname}/../node_modules/.bin/tsx`;
  const child = spawn(tsx, [__filename], {
    env: { ...process.env, STATE_SERVER_USERNAME: opts.username, STATE_SERVER_PASSWORD: opts.password },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString("utf8");
      const m = /^(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`state server exited (${code}) before listening: ${out}`)));
  });
  const auth = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString("base64")}`;
  // A new connection per call (agent: false): after a test ran a command synchronously (event loop
  // blocked), a kept-alive one may have been closed by the server unseen ("other side closed").
  const call = (method: string, route: string) =>
    new Promise<unknown>((resolve, reject) => {
      const req = http.request(`${url}/_test/${route}`, { method, agent: false, headers: { Authorization: auth } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          if (res.statusCode !== 200) reject(new Error(`state server: ${method} /_test/${route}: ${res.statusCode}`));
          else resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        });
      });
      req.on("error", reject);
      req.end();
    });
  return {
    url,
    apiUrl: `${url}/api/v4`,
    status: () => call("GET", "status") as Promise<StateServerStatus>,
    holdWrites: async () => void (await call("POST", "hold")),
    releaseWrites: async () => void (await call("POST", "release")),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

if (require.main === module) {
  const server = new StateServer({ username: process.env.STATE_SERVER_USERNAME ?? "", password: process.env.STATE_SERVER_PASSWORD ?? "" });
  void server.start().then(() => console.log(server.url));
}
