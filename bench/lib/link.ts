/**
 * A simulated network link: a TCP proxy on 127.0.0.1 that delays every chunk by a one-way delay D
 * in each direction, so a connection through it sees a round trip of 2 D (no kernel netem here).
 * Each chunk is released D after it arrived, on its own: chunks keep their order but never wait for
 * each other's timers. Opening the upstream connection also waits D, so a TCP connect costs a
 * round trip before the server's first byte arrives, as on a real link.
 *
 * It runs as its own process (`startLink`), so the benchmark's synchronous work (synth, reading
 * process state) never stalls traffic. Bounded: loopback only, at most MAX_CONNECTIONS at once and
 * MAX_QUEUED bytes queued per direction (the sender is paused above that); it exits when the
 * benchmark closes its stdin (ends or dies) or after its lifetime, whichever comes first.
 * A second route leads to an echo server inside the proxy process: `measureRtt` times round trips
 * through the same delay, to check the link is what it claims to be.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import * as readline from "node:readline";

const LOOPBACK = "127.0.0.1";
const MAX_CONNECTIONS = 256;
const MAX_QUEUED = 8 * 2 ** 20;

/** What the proxy process prints once it listens. */
interface Ready {
  /** Delayed route to the target port. */
  readonly port: number;
  /** Delayed route to the proxy's own echo server. */
  readonly probePort: number;
}

// ---------------------------------------------------------------------------------------------
// the proxy process

/** What travels through a pipe: bytes, an orderly end, or a reset (the source closed without ending). */
type Item = Buffer | "end" | "reset";

/**
 * Moves what `from` sends to `to`, each chunk D after it arrived. Its end travels the same way, and
 * so does a reset (`from` closed without ending): after everything sent before it.
 */
function delayedPipe(from: net.Socket, to: () => net.Socket | undefined, delayMs: () => number): void {
  const queue: { due: number; item: Item }[] = [];
  let queued = 0;
  let lastDue = 0;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  const deliver = (target: net.Socket, item: Item) => {
    if (item === "end") target.end();
    else if (item === "reset") target.destroy();
    else if (!target.destroyed) {
      queued -= item.length;
      target.write(item);
    }
  };
  const release = () => {
    timer = undefined;
    const target = to();
    // Sub-millisecond slack: a timer never fires early, but its clock is coarser than performance.now().
    while (target && queue.length > 0 && queue[0].due <= performance.now() + 0.5) deliver(target, (queue.shift() as { item: Item }).item);
    if (from.isPaused() && queued + (target?.writableLength ?? 0) < MAX_QUEUED / 2) from.resume();
    // No upstream yet (its connect waits the same delay): look again in a millisecond.
    if (queue.length > 0) timer = setTimeout(release, target ? Math.max(0, queue[0].due - performance.now()) : 1);
  };
  const push = (item: Item) => {
    // A delay lowered mid-connection must not let a chunk overtake an earlier one.
    const due = Math.max(performance.now() + delayMs(), lastDue);
    lastDue = due;
    const target = to();
    // No delay and nothing waiting: straight through (a timer costs a millisecond at least).
    if (delayMs() === 0 && queue.length === 0 && target) {
      if (typeof item !== "string" && !target.write(item)) {
        from.pause();
        target.once("drain", () => from.resume());
      } else if (typeof item === "string") deliver(target, item);
      return;
    }
    queue.push({ due, item });
    if (typeof item !== "string") queued += item.length;
    if (queued + (target?.writableLength ?? 0) > MAX_QUEUED) from.pause();
    if (timer === undefined) timer = setTimeout(release, Math.max(0, due - performance.now()));
  };
  from.on("data", (chunk: Buffer) => push(chunk));
  from.on("end", () => {
    ended = true;
    push("end");
  });
  // After an orderly end, the other side closes by itself once it has ended too.
  from.on("close", () => {
    if (!ended) push("reset");
  });
  // An error is followed by close (a reset, above).
  from.on("error", () => {});
}

/** A listener on 127.0.0.1 relaying every connection to `targetPort`, delayed both ways. */
function delayedRoute(targetPort: number, delayMs: () => number, open: Set<net.Socket>): net.Server {
  return net.createServer({ allowHalfOpen: true }, (client) => {
    if (open.size >= MAX_CONNECTIONS) {
      client.destroy();
      return;
    }
    let upstream: net.Socket | undefined;
    open.add(client);
    client.on("close", () => open.delete(client));
    client.setNoDelay(true);
    delayedPipe(client, () => upstream, delayMs);
    // Connected even when the client is gone already: what it sent (and its reset) flows through.
    setTimeout(() => {
      upstream = net.connect({ host: LOOPBACK, port: targetPort, allowHalfOpen: true });
      upstream.setNoDelay(true);
      delayedPipe(upstream, () => client, delayMs);
    }, delayMs());
  });
}

const listen = (server: net.Server) =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => resolve((server.address() as net.AddressInfo).port));
  });

/** Entry point of the proxy process: `<targetPort> <delayMs> <lifetimeMs>`; stdin lines `delay <ms>` change the delay. */
async function proxyMain(targetPort: number, initialDelayMs: number, lifetimeMs: number): Promise<void> {
  let delay = initialDelayMs;
  const open = new Set<net.Socket>();
  const echo = net.createServer((s) => {
    s.on("error", () => s.destroy());
    s.pipe(s);
  });
  const echoPort = await listen(echo);
  const route = delayedRoute(targetPort, () => delay, open);
  const probe = delayedRoute(echoPort, () => delay, open);
  const ready: Ready = { port: await listen(route), probePort: await listen(probe) };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  const exit = (why: string) => {
    process.stderr.write(`link proxy: ${why}, exiting\n`);
    process.exit(0);
  };
  setTimeout(() => exit(`lifetime of ${lifetimeMs} ms reached`), lifetimeMs);
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const m = /^delay (\d+(?:\.\d+)?)$/.exec(line.trim());
    if (m) delay = Number(m[1]);
    process.stdout.write(`${JSON.stringify({ delayMs: delay })}\n`);
  });
  // The benchmark ended or died: its end of the pipe is closed.
  lines.on("close", () => exit("stdin closed"));
}

if (require.main === module) {
  const [target, delay, lifetime] = process.argv.slice(2).map(Number);
  if (!(target > 0 && delay >= 0 && lifetime > 0)) {
    process.stderr.write("usage: link.ts <targetPort> <delayMs> <lifetimeMs>\n");
    process.exit(2);
  }
  proxyMain(target, delay, lifetime).catch((e) => {
    process.stderr.write(`link proxy: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}

// ---------------------------------------------------------------------------------------------
// the benchmark's side

export interface Link {
  /** Connect here instead of to the target port. */
  readonly port: number;
  /** The one-way delay now. */
  readonly delayMs: number;
  /** Changes the delay (for connections opened from now on: set it between runs). */
  setDelay(ms: number): Promise<void>;
  /** `samples` round trips of one byte through the link (a fresh connection, then one after the other): each in ms. */
  measureRtt(samples?: number): Promise<number[]>;
  stop(): void;
}

/** Starts the proxy process in front of 127.0.0.1:`targetPort`. */
export async function startLink(targetPort: number, opts: { delayMs?: number; lifetimeMs?: number } = {}): Promise<Link> {
  const lifetimeMs = opts.lifetimeMs ?? 60 * 60_000;
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", __filename, String(targetPort), String(opts.delayMs ?? 0), String(lifetimeMs)],
    // cwd: where `--import tsx` is resolved.
    { cwd: path.resolve(__dirname, "..", ".."), stdio: ["pipe", "pipe", "inherit"] },
  );
  const replies = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: ((line: string) => void)[] = [];
  replies.on("line", (line) => waiting.shift()?.(line));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("link proxy: no answer in 30 s")), 30_000);
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
      child.once("exit", (code) => reject(new Error(`link proxy exited (code ${code})`)));
    });
  const ready = JSON.parse(await next()) as Ready;
  let delayMs = opts.delayMs ?? 0;
  return {
    port: ready.port,
    get delayMs() {
      return delayMs;
    },
    async setDelay(ms) {
      const answer = next();
      child.stdin?.write(`delay ${ms}\n`);
      delayMs = (JSON.parse(await answer) as { delayMs: number }).delayMs;
      if (delayMs !== ms) throw new Error(`link proxy: delay is ${delayMs} ms, not ${ms}`);
    },
    measureRtt: (samples = 10) => roundTrips(ready.probePort, samples),
    stop() {
      child.stdin?.end();
      child.kill("SIGTERM");
    },
  };
}

/** Sends one byte and waits for it to come back, `samples` times over one connection. */
async function roundTrips(port: number, samples: number): Promise<number[]> {
  const socket = net.connect({ host: LOOPBACK, port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("link proxy: no echo in 10 s")), 10_000);
        socket.once("data", () => {
          clearTimeout(timer);
          resolve();
        });
        socket.write("x");
      });
      times.push(performance.now() - t0);
    }
  } finally {
    socket.destroy();
  }
  return times;
}
