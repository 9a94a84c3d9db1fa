import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;

/** A `weft-sidecar` process; `ports` comes from its start-up log line. */
export interface SidecarProcess {
  child: ChildProcess;
  ports: Record<string, number>;
  stderr: () => string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

export function spawnCli(args: string[]): {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["--conditions=@weft/source", MAIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  let out = "";
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, stderr: () => err, stdout: () => out, exited };
}

/** Starts a sidecar and waits (bounded) for its start-up line. */
export async function startSidecar(args: string[], timeoutMs = 15_000): Promise<SidecarProcess> {
  const p = spawnCli([
    "run",
    "--outbound",
    "127.0.0.1:0",
    "--inbound",
    "127.0.0.1:0",
    "--admin",
    "127.0.0.1:0",
    ...args,
  ]);
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const line = p
      .stderr()
      .split("\n")
      .find((l) => l.includes('"weft-sidecar started"'));
    if (line) {
      const ports = (JSON.parse(line) as { ports: Record<string, number> }).ports;
      return {
        ...p,
        ports,
        stop: async () => {
          if (p.child.exitCode === null) p.child.kill("SIGTERM");
          return p.exited;
        },
      };
    }
    if (p.child.exitCode !== null) throw new Error(`sidecar exited ${p.child.exitCode}: ${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  p.child.kill("SIGKILL");
  throw new Error(`sidecar did not start in ${timeoutMs} ms: ${p.stderr()}`);
}

/** A temporary directory removed by `remove()`. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), "weft-sidecar-"));
  return {
    dir,
    write: (name: string, text: string) => writeFileSync(join(dir, name), text),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Mesh config for a service `orders` in `shop` whose endpoint is a sidecar's inbound port. */
export function ordersConfig(inboundPort: number, rpc: string[] = []): string {
  return `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  ports: [{ name: http, port: 8080, protocol: PROTOCOL_HTTP1 }]
  rpcServices: [${rpc.map((r) => JSON.stringify(r)).join(", ")}]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: orders, namespace: shop }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${inboundPort} }]
`;
}
