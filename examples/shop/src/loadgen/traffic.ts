import type { Client } from "@connectrpc/connect";
import type { OrderService } from "../gen/shop/orders/v1/orders_pb.js";

const SKUS = ["tea-earl-grey", "tea-sencha", "mug-stoneware", "kettle-gooseneck"];

export interface TrafficOptions {
  /** Calls per second, spread evenly (open loop: a slow callee does not slow the sender). */
  readonly rps: number;
  /** Calls in flight at most; beyond it a tick's calls are counted as failed ("overloaded"). */
  readonly maxInFlight?: number;
}

/**
 * The traffic generator: quotes for random items at a fixed rate through a generated
 * OrderService client, counting outcomes and latencies per wall-clock second.
 */
export class Traffic {
  readonly #client: Client<typeof OrderService>;
  readonly #options: TrafficOptions;
  readonly #seconds = new Map<number, { ok: number; failed: number; latenciesMs: number[] }>();
  readonly #errors = new Map<string, number>();
  readonly #replicas = new Map<string, number>();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  #startedAt = 0;
  ok = 0;
  failed = 0;

  constructor(client: Client<typeof OrderService>, options: TrafficOptions) {
    this.#client = client;
    this.#options = options;
  }

  start(): void {
    this.#startedAt = performance.now();
    this.#sent = 0;
    this.#timer = setInterval(() => this.#tick(), 10);
  }

  /** Stops sending and waits for the calls in flight. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Outcomes and exact latency percentiles of the last `seconds` whole seconds. */
  window(seconds: number): { ok: number; failed: number; p50Ms: number; p99Ms: number } {
    const now = Math.floor(Date.now() / 1000);
    let ok = 0;
    let failed = 0;
    const latencies: number[] = [];
    for (let s = now - seconds; s < now; s++) {
      const sec = this.#seconds.get(s);
      if (!sec) continue;
      ok += sec.ok;
      failed += sec.failed;
      for (const l of sec.latenciesMs) latencies.push(l);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    return { ok, failed, p50Ms: at(0.5), p99Ms: at(0.99) };
  }

  /** Exact latency percentiles (ms) of every successful call of the run (the last 120 s of it). */
  percentiles(): { p50Ms: number; p99Ms: number } {
    const { p50Ms, p99Ms } = this.window(120);
    return { p50Ms, p99Ms };
  }

  /** Distinct failure messages and how often each was seen. */
  get errors(): ReadonlyMap<string, number> {
    return this.#errors;
  }

  /** Which inventory replica answered, as the quotes say. */
  get replicas(): ReadonlyMap<string, number> {
    return this.#replicas;
  }

  #tick(): void {
    const due = Math.floor(((performance.now() - this.#startedAt) / 1000) * this.#options.rps);
    const max = this.#options.maxInFlight ?? 256;
    while (this.#sent < due) {
      this.#sent++;
      if (this.#inFlight.size >= max) {
        this.#record(Date.now(), false, 0, `more than ${max} calls in flight`);
        continue;
      }
      const p = this.#one().finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }
  }

  async #one(): Promise<void> {
    const sku = SKUS[this.#sent % SKUS.length] ?? "tea-sencha";
    const t0 = performance.now();
    try {
      const quote = await this.#client.getQuote({ sku, quantity: 1 + (this.#sent % 3) });
      this.#replicas.set(quote.inventoryReplica, (this.#replicas.get(quote.inventoryReplica) ?? 0) + 1);
      this.#record(Date.now(), true, performance.now() - t0);
    } catch (e) {
      this.#record(Date.now(), false, performance.now() - t0, (e as Error).message);
    }
  }

  #record(now: number, ok: boolean, ms: number, error?: string): void {
    const key = Math.floor(now / 1000);
    let s = this.#seconds.get(key);
    if (!s) {
      s = { ok: 0, failed: 0, latenciesMs: [] };
      this.#seconds.set(key, s);
      this.#seconds.delete(key - 120);
    }
    if (ok) {
      s.ok++;
      this.ok++;
      s.latenciesMs.push(ms);
    } else {
      s.failed++;
      this.failed++;
      if (error !== undefined) this.#errors.set(error, (this.#errors.get(error) ?? 0) + 1);
    }
  }
}
