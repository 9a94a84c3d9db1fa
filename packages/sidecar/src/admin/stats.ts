/**
 * The sidecar's own counters (listeners, detection, refusals), shown by /stats as JSON and by
 * /metrics in the Prometheus text format. Keys are `name{label="value"}` so both views share them.
 */
export class Stats {
  readonly #counters = new Map<string, number>();
  readonly #gauges = new Map<string, () => number>();

  inc(name: string, labels?: Readonly<Record<string, string>>, by = 1): void {
    const key = labels ? `${name}{${labelText(labels)}}` : name;
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + by);
  }

  /** A value read when shown (connections open, requests in flight). */
  gauge(name: string, read: () => number): void {
    this.#gauges.set(name, read);
  }

  get(name: string, labels?: Readonly<Record<string, string>>): number {
    return this.#counters.get(labels ? `${name}{${labelText(labels)}}` : name) ?? 0;
  }

  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of [...this.#counters].sort(([a], [b]) => a.localeCompare(b))) out[k] = v;
    for (const [k, read] of this.#gauges) out[k] = read();
    return out;
  }

  /** Prometheus text exposition format 0.0.4. */
  toPrometheus(): string {
    const lines: string[] = [];
    const typed = new Set<string>();
    for (const [key, value] of [...this.#counters].sort(([a], [b]) => a.localeCompare(b))) {
      const name = key.split("{")[0] as string;
      if (!typed.has(name)) {
        typed.add(name);
        lines.push(`# TYPE ${name} counter`);
      }
      lines.push(`${key} ${value}`);
    }
    for (const [name, read] of this.#gauges) lines.push(`# TYPE ${name} gauge`, `${name} ${read()}`);
    return `${lines.join("\n")}\n`;
  }
}

function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}
