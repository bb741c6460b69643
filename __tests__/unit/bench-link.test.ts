/**
 * The benchmark's simulated link (bench/lib/link.ts): a real proxy process between real sockets.
 * Lower bounds of delays are exact (a chunk is never released early); upper bounds are loose, as
 * the machine may be loaded.
 */
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Link, startLink } from "../../bench/lib/link";

/** A server on 127.0.0.1 that sends `banner` on accept, then echoes. */
async function echoServer(banner: string): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on("error", () => s.destroy());
    s.write(banner);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;

describe("the simulated link", () => {
  let server: net.Server;
  let link: Link;

  beforeAll(async () => {
    server = await echoServer("HELLO\n");
    link = await startLink(portOf(server), { lifetimeMs: 120_000 });
  });
  afterAll(() => {
    link.stop();
    server.close();
  });

  it("delays each direction by the one-way delay: round trips of at least 2 D", async () => {
    await link.setDelay(30);
    const rtt = await link.measureRtt(5);
    expect(rtt).toHaveLength(5);
    for (const ms of rtt) expect(ms).toBeGreaterThanOrEqual(60);
    expect(Math.min(...rtt)).toBeLessThan(60 + 500);
    await link.setDelay(0);
    const fast = await link.measureRtt(5);
    expect(Math.min(...fast)).toBeLessThan(Math.min(...rtt));
  });

  it("makes a connect cost a round trip: the server's first byte arrives 2 D after connecting", async () => {
    await link.setDelay(40);
    const t0 = performance.now();
    const socket = net.connect(link.port, "127.0.0.1");
    const first = await new Promise<string>((resolve, reject) => {
      socket.once("data", (b) => resolve(b.toString()));
      socket.once("error", reject);
    });
    const ms = performance.now() - t0;
    socket.destroy();
    expect(first).toBe("HELLO\n");
    expect(ms).toBeGreaterThanOrEqual(80);
  });

  it("keeps every byte and their order through many chunks in flight at once, both ways", async () => {
    await link.setDelay(5);
    const socket = net.connect(link.port, "127.0.0.1");
    socket.setNoDelay(true);
    const chunks = Array.from({ length: 400 }, (_, i) => randomBytes(1 + ((i * 7919) % 20_000)));
    const sent = Buffer.concat([Buffer.from("HELLO\n"), ...chunks]);
    const received: Buffer[] = [];
    let size = 0;
    const done = new Promise<void>((resolve, reject) => {
      socket.on("data", (b: Buffer) => {
        received.push(b);
        size += b.length;
        if (size >= sent.length) resolve();
      });
      socket.once("error", reject);
    });
    // Chunks written back to back: each is in the proxy's queue while the ones before it wait.
    for (const c of chunks) socket.write(c);
    await done;
    socket.destroy();
    expect(Buffer.concat(received).equals(sent)).toBe(true);
  });

  it("delays chunks side by side, not one behind the other's timer", async () => {
    await link.setDelay(50);
    const socket = net.connect(link.port, "127.0.0.1");
    socket.setNoDelay(true);
    await new Promise<void>((resolve) => socket.once("data", () => resolve())); // the banner
    const n = 20;
    let got = 0;
    const t0 = performance.now();
    const done = new Promise<void>((resolve) =>
      socket.on("data", (b: Buffer) => {
        got += b.length;
        if (got >= n) resolve();
      }),
    );
    // One byte every 5 ms: serialised, the last would come back after n round trips (2 s).
    for (let i = 0; i < n; i++) {
      socket.write("x");
      await new Promise((r) => setTimeout(r, 5));
    }
    await done;
    const ms = performance.now() - t0;
    socket.destroy();
    expect(ms).toBeGreaterThanOrEqual(100);
    expect(ms).toBeLessThan(1000);
  });

  it("passes an orderly close (half-close) on, after the delay", async () => {
    await link.setDelay(10);
    const socket = net.connect({ port: link.port, host: "127.0.0.1", allowHalfOpen: true });
    let text = "";
    socket.on("data", (b) => {
      text += b.toString();
    });
    socket.end("bye\n");
    // The echo server ends its side when ours has ended: the end came through both ways.
    await new Promise<void>((resolve, reject) => {
      socket.once("end", resolve);
      socket.once("error", reject);
    });
    socket.destroy();
    expect(text).toBe("HELLO\nbye\n");
  });
});

describe("the simulated link's process", () => {
  it("stops when the benchmark stops it: its port refuses connections", async () => {
    const server = await echoServer("");
    const link = await startLink(portOf(server));
    link.stop();
    const refused = async () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(link.port, "127.0.0.1");
        s.once("connect", () => {
          s.destroy();
          resolve(false);
        });
        s.once("error", () => resolve(true));
      });
    let gone = false;
    for (const deadline = Date.now() + 10_000; !gone && Date.now() < deadline; ) {
      gone = await refused();
      if (!gone) await new Promise((r) => setTimeout(r, 100));
    }
    server.close();
    expect(gone).toBe(true);
  });
});
