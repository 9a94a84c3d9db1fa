import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

// Under vitest, protobufjs (which etcd3 decodes with) gets long.js's ES module namespace
// instead of its class, so 64-bit lease ids come back as rounded numbers and every lease
// put fails with "requested lease not found". Plain Node resolves it right; give protobufjs
// the class before any etcd client decodes anything.
{
  const require = createRequire(import.meta.url);
  const long = require("long") as { default?: unknown };
  const protobuf = require("protobufjs/minimal") as { util: { Long: unknown }; configure(): void };
  protobuf.util.Long = long.default ?? long;
  protobuf.configure();
}

/** Debian's etcd-server, installed by tools/scripts/ensure-system-deps.sh. */
export const ETCD_BINARY = process.env.WEFT_ETCD_BINARY ?? "/usr/bin/etcd";

export interface EtcdMember {
  readonly name: string;
  /** `127.0.0.1:port`, as the etcd3 client and `--store etcd://` take it. */
  readonly clientAddress: string;
  readonly running: boolean;
  /** SIGKILLs the member (no clean shutdown), resolving once it is gone. */
  kill(): Promise<void>;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Every member's client address. */
  readonly hosts: string[];
  /** Kills every member and removes the data directories. */
  close(): Promise<void>;
}

/**
 * Starts a real etcd cluster of `size` members on 127.0.0.1 (distinct client and peer
 * ports, one temporary data directory each) and resolves once it answers health checks.
 * Short heartbeat and election timeouts so a killed member's loss is noticed quickly.
 * Fails loudly when etcd is not installed: these tests exist to run against the real thing.
 */
export async function startEtcdCluster(size = 3, timeoutMs = 20_000): Promise<EtcdCluster> {
  if (!existsSync(ETCD_BINARY))
    throw new Error(
      `etcd is not installed at ${ETCD_BINARY}; run tools/scripts/ensure-system-deps.sh (as root) or set WEFT_ETCD_BINARY`,
    );
  const root = await mkdtemp(join(tmpdir(), "weft-etcd-"));
  const ports = await freePorts(size * 2);
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    client: ports[2 * i] as number,
    peer: ports[2 * i + 1] as number,
  }));
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(",");
  const processes: ChildProcess[] = [];
  const logs = new Map<string, string[]>();
  const members: EtcdMember[] = specs.map((s) => {
    const log: string[] = [];
    logs.set(s.name, log);
    const child = spawn(
      ETCD_BINARY,
      [
        `--name=${s.name}`,
        `--data-dir=${join(root, s.name)}`,
        `--listen-client-urls=http://127.0.0.1:${s.client}`,
        `--advertise-client-urls=http://127.0.0.1:${s.client}`,
        `--listen-peer-urls=http://127.0.0.1:${s.peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${s.peer}`,
        `--initial-cluster=${initialCluster}`,
        "--initial-cluster-state=new",
        `--initial-cluster-token=${basename(root)}`,
        "--heartbeat-interval=50",
        "--election-timeout=500",
        "--logger=zap",
        "--log-level=error",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      // Keep the tail only: enough to say why a member failed.
      log.push(chunk);
      if (log.length > 20) log.shift();
    });
    processes.push(child);
    let running = true;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    exited.then(() => {
      running = false;
    });
    return {
      name: s.name,
      clientAddress: `127.0.0.1:${s.client}`,
      get running() {
        return running;
      },
      async kill() {
        if (running) child.kill("SIGKILL");
        await exited;
      },
    };
  });
  const cluster: EtcdCluster = {
    members,
    hosts: members.map((m) => m.clientAddress),
    async close() {
      await Promise.all(members.map((m) => m.kill()));
      await rm(root, { recursive: true, force: true });
    },
  };
  try {
    const deadline = Date.now() + timeoutMs;
    for (const m of members) {
      while (!(await healthy(m.clientAddress))) {
        if (!m.running)
          throw new Error(`etcd member ${m.name} exited while starting:\n${logs.get(m.name)?.join("")}`);
        if (Date.now() > deadline)
          throw new Error(
            `etcd member ${m.name} was not healthy within ${timeoutMs} ms:\n${logs.get(m.name)?.join("")}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}

async function healthy(address: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === "true";
  } catch {
    return false;
  }
}

/** Ports the kernel hands out for port 0, all held at once so they are distinct. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === "string") throw new Error("no port for a TCP server");
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
