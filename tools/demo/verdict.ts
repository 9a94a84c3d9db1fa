/** What the run measured, for the verdict. */
export interface RunFigures {
  readonly aborted: boolean;
  readonly seconds?: number;
  /** End-to-end outcomes of the traffic generator's calls. */
  readonly ok?: number;
  readonly failed?: number;
  readonly errors?: ReadonlyMap<string, number>;
  /** Quotes answered per inventory replica. */
  readonly replicas?: ReadonlyMap<string, number>;
  /** Requests served by the in-process service (orders). */
  readonly inProcessServed?: number;
  /** Requests served per sidecar workload. */
  readonly sidecarServed?: Readonly<Record<string, number>>;
  readonly fault?: {
    readonly victim: string;
    readonly killedAtS: number | undefined;
    readonly restartedAtS: number | undefined;
    readonly error: string | undefined;
    readonly failuresSeen: number;
    readonly retries: number;
    readonly ejections: number;
  };
  readonly retries?: number;
  /** Processes that died without being told to. */
  readonly unexpectedExits?: readonly string[];
}

export interface Verdict {
  readonly pass: boolean;
  /** Why it failed (empty when it passed). */
  readonly reasons: readonly string[];
  /** The summary, the first line of which starts `SUMMARY: PASS` or `SUMMARY: FAIL`. */
  readonly lines: readonly string[];
}

export const REQUIRED_SUCCESS = 0.999;

/**
 * The demo passes when traffic flowed in both shapes (the in-process service and the sidecar
 * services all served requests) and at least 99.9% of the end-to-end calls succeeded.
 */
export function verdict(f: RunFigures): Verdict {
  const reasons: string[] = [];
  if (f.aborted) reasons.push("stopped by a signal before the run's duration was up");
  const ok = f.ok ?? 0;
  const failed = f.failed ?? 0;
  const total = ok + failed;
  const rate = total > 0 ? ok / total : 0;
  if (total === 0) reasons.push("no end-to-end call completed");
  else if (rate < REQUIRED_SUCCESS)
    reasons.push(
      `end-to-end success rate ${pct(rate)} is below ${pct(REQUIRED_SUCCESS)} (${failed} of ${total} failed)`,
    );
  if (!f.inProcessServed) reasons.push("no traffic in in-process mode: orders served no request");
  for (const [name, n] of Object.entries(f.sidecarServed ?? {}))
    if (!n && name !== f.fault?.victim) reasons.push(`no traffic in sidecar mode: ${name} served no request`);
  for (const e of f.unexpectedExits ?? []) reasons.push(e);
  if (f.fault?.error) reasons.push(`the killed replica did not come back: ${f.fault.error.split("\n")[0]}`);

  const pass = reasons.length === 0;
  const lines = [
    `SUMMARY: ${pass ? "PASS" : "FAIL"}: ${total} calls end to end in ${(f.seconds ?? 0).toFixed(1)} s, ${pct(rate)} succeeded (need >= ${pct(REQUIRED_SUCCESS)}); in-process: orders served ${f.inProcessServed ?? 0}; sidecar: ${Object.entries(
      f.sidecarServed ?? {},
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  ];
  if (f.fault?.killedAtS !== undefined) {
    lines.push(
      `  fault: ${f.fault.victim} killed at ${f.fault.killedAtS.toFixed(1)} s, ${f.fault.restartedAtS === undefined ? "not back" : `back at ${f.fault.restartedAtS.toFixed(1)} s`}; callers saw ${f.fault.failuresSeen} failures from then on (retries to inventory ${f.fault.retries}, ejections ${f.fault.ejections})`,
    );
  }
  if (f.replicas && f.replicas.size > 0)
    lines.push(
      `  inventory replicas that answered: ${[...f.replicas].map(([k, v]) => `${k} ${v}`).join(", ")}`,
    );
  if (f.errors && f.errors.size > 0) {
    lines.push("  failures seen by the traffic generator:");
    for (const [msg, n] of [...f.errors].sort((a, b) => b[1] - a[1]).slice(0, 5))
      lines.push(`    ${n} x ${msg}`);
  }
  for (const r of reasons) lines.push(`  reason: ${r}`);
  return { pass, reasons, lines };
}

function pct(r: number): string {
  return `${(r * 100).toFixed(3)}%`;
}
