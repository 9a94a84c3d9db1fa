import { Lab, type LabOptions } from "../lab.ts";
import { metricSum, type ServicePod, sidecarMetrics } from "../pod.ts";
import type { Check, ScenarioResult } from "../verdict.ts";

/**
 * Calls per second of every scenario's load: 1000+ calls per scenario, so that 99.9% allows
 * a failure, yet light enough for four sidecar hops per call on two cores.
 */
export const RPS = 100;

/** What a scenario gets from whoever runs it (the CLI or the test). */
export interface ScenarioContext {
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

/** What a scenario's body returns; `runScenario` adds the name, the verdict and the time. */
export interface Findings {
  readonly checks: readonly Check[];
  readonly numbers: Readonly<Record<string, string | number>>;
}

/**
 * Builds a lab with `options`, runs `body` in it, and always tears the lab down. The verdict
 * passes when every check passed.
 */
export async function runScenario(
  scenario: { name: string; title: string },
  ctx: ScenarioContext,
  options: Omit<LabOptions, "log" | "signal">,
  body: (lab: Lab) => Promise<Findings>,
): Promise<ScenarioResult> {
  const started = performance.now();
  ctx.log(`== ${scenario.name}: ${scenario.title}`);
  const findings = await Lab.run({ ...options, log: ctx.log, signal: ctx.signal }, async (lab) => {
    const found = await body(lab);
    if (process.env.LAB_DEBUG) await debugDump(lab);
    return found;
  });
  return {
    ...scenario,
    ...findings,
    passed: findings.checks.length > 0 && findings.checks.every((c) => c.passed),
    seconds: (performance.now() - started) / 1000,
  };
}

/** Load warms up this long (connections, JIT) before its calls count. */
const WARM_LOAD_MS = 2_000;

/** Starts the client's load at RPS; resolves once the warm-up is over and calls count. */
export async function startLoad(lab: Lab): Promise<void> {
  lab.client.load.start(RPS);
  await lab.sleep(WARM_LOAD_MS);
  lab.client.load.measureFromNow();
}

/**
 * The replica that answered most of the calls so far: the one to hurt, so the fault lands
 * where the traffic is (peak EWMA may have sidelined a replica whose first calls were cold).
 */
export function busiestReplica(lab: Lab): ServicePod {
  const answered = new Map<string, number>();
  for (const r of lab.client.load.records)
    if (r.status === 200) answered.set(r.replica, (answered.get(r.replica) ?? 0) + 1);
  const sorted = [...lab.replicas].sort(
    (a, b) => (answered.get(b.replica) ?? 0) - (answered.get(a.replica) ?? 0),
  );
  const top = sorted[0];
  if (!top) throw new Error("the lab has no replica");
  return top;
}

/** The client sidecar's retries and ejections so far (its admin /metrics). */
export async function clientCounters(lab: Lab): Promise<{ retries: number; ejections: number }> {
  const text = await sidecarMetrics(lab.client.net);
  return {
    retries: metricSum(text, "weft_retries_total"),
    ejections: metricSum(text, "weft_endpoint_ejections_total"),
  };
}

/** Polls `condition` every `everyMs` until it holds or `timeoutMs` passed; true if it held. */
export async function waitFor(
  lab: Lab,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if (await condition()) return true;
    await lab.sleep(everyMs);
  }
  return condition();
}

/** LAB_DEBUG=1: failures per second of the run, and what the client's sidecar wrote. */
async function debugDump(lab: Lab): Promise<void> {
  const records = lab.client.load.records;
  const t0 = records[0]?.start ?? 0;
  const perSecond = new Map<number, { calls: number; failed: number; slowest: number }>();
  for (const r of records) {
    const s = Math.floor((r.start - t0) / 1000);
    const b = perSecond.get(s) ?? { calls: 0, failed: 0, slowest: 0 };
    b.calls++;
    if (r.status !== 200) b.failed++;
    b.slowest = Math.max(b.slowest, r.latencyMs);
    perSecond.set(s, b);
  }
  for (const [s, b] of perSecond)
    lab.log(`debug +${s}s: ${b.calls} calls, ${b.failed} failed, slowest ${b.slowest} ms`);
  lab.log(`debug client sidecar output:\n${lab.client.sidecar.output().slice(-4000)}`);
  const text = await sidecarMetrics(lab.client.net).catch((e: Error) => e.message);
  const lines = text.split("\n").filter((l) => /refused|failed|reset|shed/.test(l));
  lab.log(`debug client sidecar metrics:\n${lines.join("\n")}`);
}
