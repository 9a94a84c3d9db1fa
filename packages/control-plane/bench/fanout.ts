/**
 * `npm run bench`: 1,000 simulated data planes connect to one control plane; a config change
 * must reach all of them and be ACKed. Prints the rollout time (target < 2 s) and the
 * control plane's heap per connected data plane. Data planes run in a worker thread: the
 * control plane's heap is measured alone, and each side has a core.
 *   node --expose-gc --conditions=@weft/source bench/fanout.ts [count] [rounds]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { Http2SessionManager } from "@connectrpc/connect-node";
import { parseMeshConfig } from "@weft/core";
import { createAdminClient } from "../src/admin/admin-client.ts";
import { startControlPlane } from "../src/server/control-plane.ts";
import { fleetConfigYaml, until } from "./fleet.ts";

const count = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 5);
const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};

const dataDir = await mkdtemp(join(tmpdir(), "weft-bench-"));
const cp = await startControlPlane({ dataDir, host: "127.0.0.1", port: 0, keepaliveMs: 0 });
const sessionManager = new Http2SessionManager(cp.url);
const admin = createAdminClient(cp, { sessionManager });
const apply = (stamp: number) =>
  admin.apply({ config: parseMeshConfig({ file: "fleet.yaml", text: fleetConfigYaml(20, stamp) }) });
await apply(0);
const heapBefore = heap();

const started = performance.now();
const worker = new Worker(new URL("./fleet-worker.ts", import.meta.url), {
  workerData: { url: cp.url, count },
});
const fromWorker = (type: string) =>
  new Promise<void>((resolve, reject) => {
    const on = (m: { type: string }) => {
      if (m.type === type) {
        worker.off("message", on);
        resolve();
      }
    };
    worker.on("message", on);
    worker.once("error", reject);
  });
await fromWorker("connected");
const connectMs = performance.now() - started;
// Let the endpoint pushes of the connection storm settle before measuring.
await until(() => cp.hub.ackedVersions().every((v) => v !== ""), Date.now() + 60_000, "first ACKs");
await new Promise((r) => setTimeout(r, 1500));
const heapPer = (heap() - heapBefore) / count;

const times: number[] = [];
for (let round = 1; round <= rounds; round++) {
  const t = performance.now();
  const { version } = await apply(round);
  await until(
    () => cp.hub.ackedVersions().every((v) => v.startsWith(`${version}-`)),
    Date.now() + 60_000,
    `all ${count} data planes to ACK version ${version}`,
  );
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(
  `${count} data planes connected in ${connectMs.toFixed(0)} ms; control-plane heap ${(heapPer / 1024).toFixed(1)} KiB per data plane${gc ? "" : " (run with --expose-gc for a steadier number)"}`,
);
console.log(
  `config change ACKed by all ${count}: median ${times[Math.floor(times.length / 2)]?.toFixed(0)} ms, ` +
    `worst ${times.at(-1)?.toFixed(0)} ms over ${rounds} rounds (target < 2000 ms)`,
);

worker.postMessage({ type: "close" });
await fromWorker("closed");
await worker.terminate();
sessionManager.abort();
await cp.close();
await rm(dataDir, { recursive: true, force: true });
if ((times.at(-1) ?? Number.POSITIVE_INFINITY) >= 2000) process.exitCode = 1;
