import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The workspace's @weft/sidecar; its package.json names the `weft-sidecar` program. */
const sidecarPackage = fileURLToPath(new URL("../../../../node_modules/@weft/sidecar/", import.meta.url));

function sidecarProgram(): string {
  const pkg = JSON.parse(readFileSync(join(sidecarPackage, "package.json"), "utf8")) as {
    bin?: Record<string, string>;
  };
  const bin = pkg.bin?.["weft-sidecar"];
  if (!bin) throw new Error(`${sidecarPackage}package.json has no bin "weft-sidecar"`);
  return join(sidecarPackage, bin);
}

/** A running `weft-sidecar` process; `ports` comes from its start-up log line. */
export interface SidecarProcess {
  readonly child: ChildProcess;
  readonly ports: Readonly<Record<string, number>>;
  stderr(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts `weft-sidecar run` on free loopback ports (outbound, inbound, admin) and waits,
 * bounded, for its start-up line, as packages/sidecar's tests do.
 */
export async function startSidecar(args: readonly string[], timeoutMs = 15_000): Promise<SidecarProcess> {
  const child = spawn(
    process.execPath,
    [
      "--conditions=@weft/source",
      sidecarProgram(),
      "run",
      "--outbound",
      "127.0.0.1:0",
      "--inbound",
      "127.0.0.1:0",
      "--admin",
      "127.0.0.1:0",
      ...args,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async (graceMs = 5_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const line = err.split("\n").find((l) => l.includes('"weft-sidecar started"'));
    if (line) {
      const ports = (JSON.parse(line) as { ports: Record<string, number> }).ports;
      return { child, ports, stderr: () => err, stop };
    }
    if (child.exitCode !== null) throw new Error(`weft-sidecar exited ${child.exitCode}: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop(0);
  throw new Error(`weft-sidecar did not start within ${timeoutMs} ms: ${err}`);
}

/** A temporary directory for configuration and certificate files. */
export async function scratchDir(): Promise<{
  dir: string;
  write(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "weft-codegen-sidecar-"));
  return {
    dir,
    write: async (name, text) => {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
