import { execFile, execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
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
    app ??= await recordingApp((_req, res, body) => res.end(`app got ${body}`));
    tmp.write("mesh.yaml", ordersConfig(1));
    await servesUntilStopped(
      exe,
      runArgs(`${tmp.dir}/mesh.yaml`, app.port),
      { PATH: "/nonexistent" },
      "ping",
    );
  });

  it("runs as the image will: in a root filesystem with only distroless/cc's libraries, as its nonroot user", async () => {
    // What gcr.io/distroless/cc-debian12:nonroot holds that a program can use: glibc,
    // libstdc++ and libgcc, /etc/passwd with nonroot (65532), /tmp, and the /dev nodes a
    // container runtime provides. No shell, no /usr/bin, no /proc, no Node. (No Docker daemon
    // runs here, so the Dockerfile's runtime stage is rebuilt by hand; root makes the nodes.)
    if (process.getuid?.() !== 0)
      throw new Error("this test builds a root filesystem with chroot: run it as root");
    const root = `${tmp.dir}/rootfs`;
    const libs = execFileSync("ldd", [exe], { encoding: "utf8" })
      .split("\n")
      .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined);
    const DISTROLESS_CC = /\/(ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s)\.so/;
    expect(libs.filter((l) => !DISTROLESS_CC.test(l))).toEqual([]);
    for (const lib of libs) {
      mkdirSync(`${root}${dirname(lib)}`, { recursive: true });
      copyFileSync(lib, `${root}${lib}`);
    }
    for (const d of ["usr/local/bin", "etc/weft", "tmp", "dev"])
      mkdirSync(`${root}/${d}`, { recursive: true });
    chmodSync(`${root}/tmp`, 0o1777);
    copyFileSync(exe, `${root}/usr/local/bin/weft-sidecar`);
    chmodSync(`${root}/usr/local/bin/weft-sidecar`, 0o755);
    writeFileSync(
      `${root}/etc/passwd`,
      "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n",
    );
    writeFileSync(`${root}/etc/group`, "root:x:0:\nnonroot:x:65532:\n");
    writeFileSync(`${root}/etc/weft/mesh.yaml`, ordersConfig(1));
    for (const [name, minor] of [
      ["null", 3],
      ["random", 8],
      ["urandom", 9],
    ] as const)
      execFileSync("mknod", ["-m", "666", `${root}/dev/${name}`, "c", "1", String(minor)]);
    app ??= await recordingApp((_req, res, body) => res.end(`app got ${body}`));
    // An empty environment, as in the image (so chroot is named by its path).
    const inImage = ["--userspec=65532:65532", root, "/usr/local/bin/weft-sidecar"];
    const args = [...inImage, ...runArgs("/etc/weft/mesh.yaml", app.port)];
    await servesUntilStopped("/usr/sbin/chroot", args, {}, "from the image");
  }, 30_000);
});

function runArgs(config: string, appPort: number): string[] {
  return [
    "run",
    "--config",
    config,
    "--service",
    "orders",
    "--namespace",
    "shop",
    "--app-port",
    String(appPort),
    "--inbound",
    "127.0.0.1:0",
    "--outbound",
    "127.0.0.1:0",
    "--admin",
    "127.0.0.1:0",
  ];
}

/**
 * Starts the sidecar, waits for its start-up line, checks /live and /ready and a request through
 * the mesh inbound (h2c without certificates) to the app (which echoes `body`), then stops it
 * with SIGTERM, which must end it with exit code 0.
 */
async function servesUntilStopped(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  body: string,
): Promise<void> {
  const child = spawn(file, args, { env, stdio: ["ignore", "ignore", "pipe"] });
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
    expect((await fetch(`http://127.0.0.1:${ports.admin}/live`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.admin}/ready`)).status).toBe(200);
    const { stdout } = await promisify(execFile)("curl", [
      "-sS",
      "--max-time",
      "10",
      "--http2-prior-knowledge",
      "--data-binary",
      body,
      `http://127.0.0.1:${ports.inbound}/x`,
    ]);
    expect(stdout).toBe(`app got ${body}`);
  } finally {
    child.kill("SIGTERM");
  }
  expect(await exited).toBe(0);
}
