import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSea } from "../build/sea.ts";
import { recordingApp } from "./helpers.ts";
import { ordersConfig, tempDir } from "./process-helpers.ts";

const PKG = new URL("..", import.meta.url).pathname;

describe("the single executable (Node SEA, no Node needed on the target)", () => {
  const tmp = tempDir();
  let app: Awaited<ReturnType<typeof recordingApp>>;
  let exe = "";

  beforeAll(() => {
    // Built from the current source into a temporary directory (dist/ is left alone).
    execFileSync("npx", ["tsup", "--out-dir", `${tmp.dir}/build`, "--no-dts"], { cwd: PKG, stdio: "ignore" });
    exe = `${tmp.dir}/weft-sidecar`;
    buildSea(`${tmp.dir}/build/weft-sidecar.cjs`, exe);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    tmp.remove();
  });

  it("a wrong config file is refused with exit code 3, naming the file, line and field", async () => {
    tmp.write(
      "bad.yaml",
      `${ordersConfig(1)}---\napiVersion: weft.dev/v1\nkind: Service\nmetadata: { name: x }\nspec:\n  ports: [{ port: 99999 }]\n`,
    );
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(
        exe,
        ["run", "--config", `${tmp.dir}/bad.yaml`, "--service", "x", "--app-port", "1"],
        {
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      let err = "";
      child.stderr.on("data", (c: Buffer) => {
        err += c.toString();
      });
      child.once("exit", (code) => resolve({ code, err }));
    });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/configuration rejected:[\s\S]*bad\.yaml:\d+:\d+: spec\.ports/);
  });

  it("runs with no node on PATH: reads its config, serves /live and /ready, and proxies to the app", async () => {
    app = await recordingApp((_req, res, body) => res.end(`app got ${body}`));
    tmp.write("mesh.yaml", ordersConfig(1));
    const child = spawn(
      exe,
      [
        "run",
        "--config",
        `${tmp.dir}/mesh.yaml`,
        "--service",
        "orders",
        "--namespace",
        "shop",
        "--app-port",
        String(app.port),
        "--inbound",
        "127.0.0.1:0",
        "--outbound",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
      ],
      { env: { PATH: "/nonexistent" }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let err = "";
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      const started = performance.now();
      while (!err.includes('"weft-sidecar started"') && performance.now() - started < 15_000) {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const line = err.split("\n").find((l) => l.includes('"weft-sidecar started"'));
      expect(line, err).toBeDefined();
      const ports = (JSON.parse(line as string) as { ports: Record<string, number> }).ports;
      const live = await fetch(`http://127.0.0.1:${ports.admin}/live`);
      expect(live.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${ports.admin}/ready`)).status).toBe(200);
      // The mesh inbound (h2c without certificates) to the app.
      const { stdout } = await promisify(execFile)("curl", [
        "-sS",
        "--max-time",
        "10",
        "--http2-prior-knowledge",
        "--data-binary",
        "ping",
        `http://127.0.0.1:${ports.inbound}/x`,
      ]);
      expect(stdout).toBe("app got ping");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
