import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { defaultSidecarLimits } from "../../src/http/limits.ts";
import { limitsFromFlags } from "../../src/listeners/limit-flags.ts";
import { ordersConfig, spawnCli, startSidecar, tempDir } from "../process-helpers.ts";

describe("limit flags of weft-sidecar run", () => {
  it("defaults to the documented limits", () => {
    const s = limitsFromFlags({});
    expect(s.listeners).toEqual(defaultSidecarLimits);
    expect(s.listeners.headersTimeoutMs).toBe(10_000);
    expect(s.admission).toEqual({ maxConnections: 16_384, shedAt: 0.9 });
    expect(s.inbound).toEqual({
      maxConnections: 4_096,
      sessionIdleTimeoutMs: 300_000,
      tunnelIdleTimeoutMs: 3_600_000,
    });
  });

  it("reads caps, durations and the heap threshold", () => {
    const s = limitsFromFlags({
      "max-connections": "100",
      "max-connections-global": "500",
      "headers-timeout": "2s",
      "keepalive-timeout": "250ms",
      "tcp-idle-timeout": "5m",
      "overload-heap": "0.8",
    });
    expect(s.listeners.maxConnections).toBe(100);
    expect(s.listeners.headersTimeoutMs).toBe(2_000);
    expect(s.listeners.keepAliveTimeoutMs).toBe(250);
    expect(s.inbound.tunnelIdleTimeoutMs).toBe(300_000);
    expect(s.admission).toEqual({ maxConnections: 500, shedAt: 0.8 });
  });

  it("names the flag and what it expected", () => {
    expect(() => limitsFromFlags({ "max-connections": "lots" })).toThrow(
      '--max-connections: "lots" is not a positive whole number',
    );
    expect(() => limitsFromFlags({ "headers-timeout": "soon" })).toThrow("--headers-timeout");
    expect(() => limitsFromFlags({ "overload-heap": "90" })).toThrow(
      '--overload-heap: "90" is not a fraction of the heap limit (0.1-1, like 0.9)',
    );
    expect(() => limitsFromFlags({ "request-timeout": "1s" })).toThrow(
      "--request-timeout: must be 0 (none) or at least --headers-timeout",
    );
  });
});

describe("weft-sidecar run with limit flags", () => {
  it("refuses the connection past --max-connections on the outbound listener, and serves again once one closes", async () => {
    const tmp = tempDir();
    tmp.write("mesh.yaml", ordersConfig(9));
    const sidecar = await startSidecar([
      "--config",
      `${tmp.dir}/mesh.yaml`,
      "--service",
      "web",
      "--app-port",
      "9",
      "--max-connections",
      "2",
    ]);
    const held: Socket[] = [];
    try {
      const port = sidecar.ports.outbound as number;
      for (let i = 0; i < 2; i++) held.push(await open(port));
      const third = await open(port);
      // Past the cap the listener closes the socket at once (held ones wait out --headers-timeout).
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 3_000);
        third.once("close", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      expect(closed).toBe(true);
      held.shift()?.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const again = await open(port);
      const stillOpen = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), 300);
        again.once("close", () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
      held.push(again);
      expect(stillOpen).toBe(true);
    } finally {
      for (const s of held) s.destroy();
      await sidecar.stop();
      tmp.remove();
    }
  }, 30_000);
});

/** A connection that has begun a request head and not finished it: it holds its slot. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => {
      s.write("GET / HTTP/1.1\r\nHost: orders.shop\r\n");
      resolve(s);
    });
    s.once("error", reject);
  });
}

describe("weft-sidecar run --headers-with-underscores", () => {
  it("names the flag and the choices when given something else", async () => {
    const run = spawnCli([
      "run",
      "--service",
      "web",
      "--app-port",
      "9",
      "--headers-with-underscores",
      "strip",
    ]);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('--headers-with-underscores: expected allow, reject or drop, got "strip"');
  });
});
