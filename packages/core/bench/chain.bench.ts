/**
 * Per-call cost of the default outbound chain against an empty one, in one run.
 *
 * The full chain is what DataPlane builds for a route with the mesh defaults below
 * (tracing, metrics, timeout with deadline propagation, retry with a budget, P2C peak-EWMA
 * over three endpoints with outlier detection watching them), run through
 * `DataPlane.outbound` so routing is counted too. The empty chain is `compose` with only the
 * terminal. Both terminals answer at once with a settled response, so the difference is
 * what the mesh adds to a call. Each step is also measured alone (step + terminal - empty).
 *
 * Variants run interleaved, in a shuffled order each round; the figure per variant is the
 * median of the rounds' ns/call. Results: a table on stdout and bench/results/latest.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  balancePlugin,
  balancerOptionsFromProto,
  compose,
  createPlugin,
  DataPlane,
  type Handler,
  type MeshCall,
  MeshMetrics,
  type MeshResponse,
  metricsPlugin,
  newCall,
  type PluginContext,
  parseMeshConfig,
  ResilienceState,
  resilienceSteps,
  type Step,
  settledResponse,
  silentLogger,
  systemClock,
  terminalStep,
  tracingPlugin,
} from "../src/index.ts";

const CONFIG = `
apiVersion: weft.dev/v1
kind: Mesh
spec:
  defaults:
    timeout: { request: 5s }
    retry:
      attempts: 3
      backoff: { base: 25ms, max: 250ms }
      budget: { ratio: 0.2, minRetriesPerSecond: 10, window: 10s }
    loadBalancer: { algorithm: ALGORITHM_P2C_PEAK_EWMA }
    outlierDetection: { consecutiveFailures: 5, baseEjectionTime: 30s, maxEjectionPercent: 50 }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  rpcServices: [shop.v1.OrderService]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: orders, namespace: shop }
spec:
  endpoints:
    - { address: 10.0.0.1, port: 15008 }
    - { address: 10.0.0.2, port: 15008 }
    - { address: 10.0.0.3, port: 15008 }
`;

const OK: MeshResponse = settledResponse({ status: 200, headers: { "content-type": "application/grpc" } });
const OK_PROMISE = Promise.resolve(OK);
/**
 * The terminal: a transport that answers at once. It watches the call's cancellation while
 * the exchange lasts, as the mesh transports do (CallWatch), so what it costs to be told of
 * the caller going away or a policy giving up (one listener on the caller's signal) is
 * counted on both sides.
 */
const unwatched = (): void => {};
const send: Handler = (c) => {
  const cancellation = c.cancellation;
  if (cancellation.aborted) return Promise.reject(cancellation.reason);
  cancellation.onAbort(unwatched);
  cancellation.offAbort(unwatched);
  return OK_PROMISE;
};

function call(): MeshCall {
  return newCall({
    kind: "unary",
    place: "client",
    service: "orders",
    namespace: "shop",
    method: "shop.v1.OrderService/GetOrder",
    headers: { "content-type": "application/grpc", te: "trailers" },
    idempotent: true,
    // The caller's signal, as the in-process client gives every call one.
    signal: new AbortController().signal,
  });
}

async function build(): Promise<{ variants: Map<string, Handler>; dataPlane: DataPlane }> {
  const config = parseMeshConfig({ file: "bench.yaml", text: CONFIG });
  const dataPlane = new DataPlane({ shape: "inprocess", service: "web", namespace: "shop", send });
  await dataPlane.applyConfig(config, "bench");
  const defaults = config.mesh?.defaults;
  if (!defaults?.loadBalancer) throw new Error("bench config has no mesh defaults");

  const ctx: PluginContext = {
    place: "client",
    clock: systemClock,
    service: "web",
    namespace: "shop",
    log: silentLogger,
  };
  const terminal = terminalStep("transport", send);
  const metrics = new MeshMetrics();
  const tracing = createPlugin(tracingPlugin, {}, ctx);
  const metricsStep = createPlugin(metricsPlugin(metrics), {}, ctx);
  const resilience = resilienceSteps({ timeout: defaults.timeout, retry: defaults.retry }, ctx, {
    state: new ResilienceState(systemClock),
  });
  const timeout = resilience.find((s) => s.name === "timeout");
  const retry = resilience.find((s) => s.name === "retry");
  if (!timeout || !retry) throw new Error("the default policies did not make a timeout and a retry step");
  // The same endpoint sets (and outlier detectors) as the data plane's chain uses.
  const balance = createPlugin(
    balancePlugin({ endpoints: dataPlane.destinations.registry }),
    balancerOptionsFromProto(defaults.loadBalancer),
    ctx,
  );
  const alone = (step: Step) => compose("client", [step], terminal);

  const variants = new Map<string, Handler>([
    ["empty", compose("client", [], terminal)],
    ["full (DataPlane.outbound)", (c) => dataPlane.outbound(c)],
    [
      "full (composed)",
      compose("client", [tracing, metricsStep, timeout, retry, balance], terminal, systemClock),
    ],
    ["tracing", alone(tracing)],
    ["metrics", alone(metricsStep)],
    ["timeout", alone(timeout)],
    ["retry", alone(retry)],
    ["balancer", alone(balance)],
  ]);
  return { variants, dataPlane };
}

/** Runs `n` calls one after the other; ns per call. */
async function batch(handler: Handler, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await handler(call());
  return Number(process.hrtime.bigint() - start) / n;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The 10th percentile of rounds: what a variant costs when the machine leaves it alone. */
function p10(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 10)] ?? Number.NaN;
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

const BATCH = 2_000;
const WARMUP_ROUNDS = 10;
const MAX_ROUNDS = 150;
const TIME_BUDGET_MS = 40_000;

async function main(): Promise<void> {
  const { variants, dataPlane } = await build();
  // Fail loudly rather than time a chain that does not work.
  const probe = await variants.get("full (DataPlane.outbound)")?.(call());
  if (probe?.status !== 200) throw new Error("the full chain did not answer 200");

  const names = [...variants.keys()];
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  const began = performance.now();
  let rounds = 0;
  for (let r = 0; r < WARMUP_ROUNDS + MAX_ROUNDS; r++) {
    for (const name of shuffle([...names])) {
      const ns = await batch(variants.get(name) as Handler, BATCH);
      if (r >= WARMUP_ROUNDS) samples.get(name)?.push(ns);
    }
    if (r >= WARMUP_ROUNDS) rounds++;
    if (performance.now() - began > TIME_BUDGET_MS) break;
  }
  dataPlane.close();

  const med = new Map(names.map((n) => [n, median(samples.get(n) ?? [])]));
  const low = new Map(names.map((n) => [n, p10(samples.get(n) ?? [])]));
  const empty = med.get("empty") ?? 0;
  const emptyLow = low.get("empty") ?? 0;
  const rows = names.map((name) => {
    const ns = med.get(name) ?? 0;
    const nsLow = low.get(name) ?? 0;
    return {
      variant: name,
      nsPerCall: Math.round(ns),
      addedUs: name === "empty" ? 0 : (ns - empty) / 1000,
      p10NsPerCall: Math.round(nsLow),
      p10AddedUs: name === "empty" ? 0 : (nsLow - emptyLow) / 1000,
    };
  });
  const full = rows.find((r) => r.variant === "full (DataPlane.outbound)");
  const targetUs = 2;

  console.log(
    `\nWeft core chain bench: ${rounds} rounds x ${BATCH} sequential unary calls per variant, median ns/call`,
  );
  console.log(
    `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}\n`,
  );
  console.log(
    `${"variant".padEnd(28)}${"ns/call".padStart(10)}${"added µs".padStart(12)}${"p10 ns".padStart(10)}${"p10 added".padStart(11)}`,
  );
  for (const r of rows) {
    const empty = r.variant === "empty";
    const added = empty ? "-" : r.addedUs.toFixed(3);
    const addedLow = empty ? "-" : r.p10AddedUs.toFixed(3);
    console.log(
      `${r.variant.padEnd(28)}${String(r.nsPerCall).padStart(10)}${added.padStart(12)}${String(r.p10NsPerCall).padStart(10)}${addedLow.padStart(11)}`,
    );
  }
  console.log(
    "(steps alone: each with only the terminal; timeout as the default chain builds it, where retry writes the deadline headers)",
  );
  const met = full !== undefined && full.addedUs < targetUs;
  console.log(
    `\nfull default chain adds ${full?.addedUs.toFixed(3)} µs per unary call (target < ${targetUs} µs): ${met ? "MET" : "NOT MET"}`,
  );
  console.log(`(${((performance.now() - began) / 1000).toFixed(1)} s)`);

  const out = join(dirname(fileURLToPath(import.meta.url)), "results", "latest.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpus().length,
        cpu: cpus()[0]?.model ?? "",
        rounds,
        callsPerBatch: BATCH,
        statistic: "median (and 10th percentile) over rounds of ns/call, sequential awaited unary calls",
        loadAverage: loadavg(),
        targetAddedUs: targetUs,
        fullAddedUs: full?.addedUs,
        met,
        variants: rows,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${out}`);
}

await main();
