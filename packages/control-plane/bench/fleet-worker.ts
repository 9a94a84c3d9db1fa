// Runs simulated data planes in a worker thread, so the control plane in the main thread
// has its own core and its own heap (measured alone).
import { parentPort, workerData } from "node:worker_threads";
import { startFleet } from "./fleet.ts";

const { url, count } = workerData as { url: string; count: number };
const fleet = await startFleet({ url, count, timeoutMs: 120_000 });
parentPort?.postMessage({ type: "connected" });
parentPort?.on("message", async (m: { type: string }) => {
  if (m.type === "close") {
    await fleet.close();
    parentPort?.postMessage({ type: "closed" });
  }
});
