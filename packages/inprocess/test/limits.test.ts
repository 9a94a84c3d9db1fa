import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createMesh, type Mesh } from "../src/index.ts";

let started: Mesh[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const m of started) await m.close({ graceMs: 0 });
  started = [];
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
    sockets.push(s);
  });
}

/** Resolves true when the socket is closed by the server within `ms`. */
function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    s.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe("in-process inbound limits", () => {
  it("applies listen.limits: the connection past maxConnections is closed, the ones under it are kept", async () => {
    const mesh = await createMesh({
      service: "echo",
      namespace: "test",
      insecure: true,
      listen: { host: "127.0.0.1", port: 0, limits: { maxConnections: 2 } },
    });
    started.push(mesh);
    const port = mesh.port as number;
    const kept = [await open(port), await open(port)];
    const third = await open(port);
    expect(await closedWithin(third, 3_000)).toBe(true);
    expect(await Promise.all(kept.map((s) => closedWithin(s, 200)))).toEqual([false, false]);
  });
});
