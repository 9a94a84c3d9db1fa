import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { recordingApp } from "./helpers.ts";
import { ordersConfig, type SidecarProcess, spawnCli, startSidecar, tempDir } from "./process-helpers.ts";

describe("weft-sidecar lifecycle", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  function track(p: SidecarProcess) {
    cleanup.push(() => p.stop());
    return p;
  }

  it("SIGTERM: readiness drops, new connections are refused, the request in flight completes, exit 0", async () => {
    let release: () => void = () => {};
    const app = await recordingApp((_req, res) => {
      release = () => res.end("slow done");
    });
    cleanup.push(() => app.close());
    const tmp = tempDir();
    cleanup.push(() => tmp.remove());
    tmp.write("m.yaml", ordersConfig(1));
    const side = track(
      await startSidecar([
        "--config",
        `${tmp.dir}/m.yaml`,
        "--service",
        "orders",
        "--namespace",
        "shop",
        "--app-port",
        String(app.port),
        "--drain-ms",
        "5000",
      ]),
    );
    // The mesh inbound port speaks HTTP/2 (h2c here: no certificate was given).
    const session = http2.connect(`http://127.0.0.1:${side.ports.inbound}`);
    cleanup.push(() => session.destroy());
    session.on("error", () => {});
    const pending = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const stream = session.request({ ":path": "/slow", ":authority": "orders.shop" });
      let status = 0;
      let body = "";
      stream.on("response", (h) => {
        status = Number(h[":status"]);
      });
      stream.setEncoding("utf8");
      stream.on("data", (d: string) => (body += d));
      stream.on("end", () => resolve({ status, body }));
      stream.on("error", reject);
    });
    for (let i = 0; i < 100 && app.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(app.seen.length).toBe(1);
    side.child.kill("SIGTERM");
    // Bounded wait for the listener to close.
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      refused = await new Promise<boolean>((resolve) => {
        const s = net.connect(side.ports.inbound as number, "127.0.0.1");
        s.once("connect", () => {
          s.destroy();
          resolve(false);
        });
        s.once("error", () => resolve(true));
      });
      if (!refused) await new Promise((r) => setTimeout(r, 20));
    }
    expect(refused).toBe(true);
    expect(side.child.exitCode).toBe(null);
    const ready = await fetch(`http://127.0.0.1:${side.ports.admin}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain("draining");
    release();
    expect(await pending).toEqual({ status: 200, body: "slow done" });
    expect(await side.exited).toBe(0);
  });

  it("run -- <app>: starts the app, exits with its exit code when it exits", async () => {
    const tmp = tempDir();
    cleanup.push(() => tmp.remove());
    tmp.write("m.yaml", ordersConfig(1));
    const p = spawnCli([
      "run",
      "--config",
      `${tmp.dir}/m.yaml`,
      "--service",
      "job",
      "--app-port",
      "9",
      "--outbound",
      "127.0.0.1:0",
      "--inbound",
      "127.0.0.1:0",
      "--admin",
      "127.0.0.1:0",
      "--",
      process.execPath,
      "-e",
      "setTimeout(() => process.exit(7), 200)",
    ]);
    cleanup.push(() => p.child.kill("SIGKILL"));
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r("hung"), 15_000))]);
    expect(code).toBe(7);
    expect(p.stderr()).toContain('"app exited; stopping"');
  });

  it("run -- <app>: SIGTERM goes to the app, and the sidecar exits with the app's code", async () => {
    const tmp = tempDir();
    cleanup.push(() => tmp.remove());
    tmp.write("m.yaml", ordersConfig(1));
    const p = spawnCli([
      "run",
      "--config",
      `${tmp.dir}/m.yaml`,
      "--service",
      "job",
      "--app-port",
      "9",
      "--outbound",
      "127.0.0.1:0",
      "--inbound",
      "127.0.0.1:0",
      "--admin",
      "127.0.0.1:0",
      "--",
      process.execPath,
      "-e",
      "process.on('SIGTERM', () => process.exit(42)); console.error('app up'); setInterval(() => {}, 1000)",
    ]);
    cleanup.push(() => p.child.kill("SIGKILL"));
    for (let i = 0; i < 300 && !p.stderr().includes("app up"); i++)
      await new Promise((r) => setTimeout(r, 50));
    p.child.kill("SIGTERM");
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r("hung"), 15_000))]);
    expect(code).toBe(42);
  });

  it("wait-ready returns 0 once the sidecar is ready, and 1 with the reason when nothing answers", async () => {
    const tmp = tempDir();
    cleanup.push(() => tmp.remove());
    tmp.write("m.yaml", ordersConfig(1));
    const side = track(
      await startSidecar(["--config", `${tmp.dir}/m.yaml`, "--service", "web", "--app-port", "9"]),
    );
    const ok = spawnCli(["wait-ready", "--admin", `127.0.0.1:${side.ports.admin}`, "--timeout", "10s"]);
    expect(await ok.exited).toBe(0);
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const started = performance.now();
    const bad = spawnCli(["wait-ready", "--admin", `127.0.0.1:${closed}`, "--timeout", "400ms"]);
    expect(await bad.exited).toBe(1);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(bad.stderr()).toContain("not ready after 400ms");
  });

  it("a restart without config files serves the snapshot cached on disk, same version", async () => {
    const app = await recordingApp();
    cleanup.push(() => app.close());
    const tmp = tempDir();
    cleanup.push(() => tmp.remove());
    tmp.write("m.yaml", ordersConfig(4242));
    const first = await startSidecar([
      "--config",
      `${tmp.dir}/m.yaml`,
      "--data-dir",
      `${tmp.dir}/data`,
      "--service",
      "web",
      "--app-port",
      String(app.port),
    ]);
    const dump1 = (await (await fetch(`http://127.0.0.1:${first.ports.admin}/config_dump`)).json()) as {
      version: string;
      source: string;
    };
    expect(await first.stop()).toBe(0);
    const second = track(
      await startSidecar([
        "--data-dir",
        `${tmp.dir}/data`,
        "--service",
        "web",
        "--app-port",
        String(app.port),
      ]),
    );
    const dump2 = (await (await fetch(`http://127.0.0.1:${second.ports.admin}/config_dump`)).json()) as {
      version: string;
      source: string;
      config: { endpoints: { endpoints: { port: number }[] }[] };
    };
    expect(dump1.source).toBe("file");
    expect(dump2.source).toBe("cache");
    expect(dump2.version).toBe(dump1.version);
    expect(dump2.config.endpoints[0]?.endpoints[0]?.port).toBe(4242);
  });

  it("usage and configuration errors exit 2 and 3 and say what was wrong", async () => {
    const tmp = tempDir();
    cleanup.push(() => tmp.remove());
    const noService = spawnCli(["run", "--config", "x.yaml", "--app-port", "1"]);
    expect(await noService.exited).toBe(2);
    expect(noService.stderr()).toContain("--service is required");
    const unknown = spawnCli(["frobnicate"]);
    expect(await unknown.exited).toBe(2);
    expect(unknown.stderr()).toContain('unknown command "frobnicate"');
    tmp.write("bad.yaml", "apiVersion: weft.dev/v1\nkind: Service\nmetadata: { name: Bad_Name }\nspec: {}\n");
    const bad = spawnCli(["run", "--config", `${tmp.dir}/bad.yaml`, "--service", "web", "--app-port", "1"]);
    expect(await bad.exited).toBe(3);
    expect(bad.stderr()).toContain("bad.yaml");
    const nothing = spawnCli(["run", "--service", "web", "--app-port", "1"]);
    expect(await nothing.exited).toBe(2);
    expect(nothing.stderr()).toContain("no configuration");
  });
});
