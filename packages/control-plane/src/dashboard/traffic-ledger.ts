import type { Clock } from "@weft/core";
import type { TrafficStat } from "@weft/core/model";
import { resolveServiceRef } from "../config/keys.ts";

/** Who sent a TrafficReport. */
export interface TrafficReporter {
  /** Stable per data-plane instance (`namespace/service#instance`): a reconnect continues its record. */
  readonly key: string;
  /** The calling service, `namespace/name`. */
  readonly caller: string;
  /** Namespace a bare destination name is resolved in (the caller's own). */
  readonly namespace: string;
  /** Clock time the reporter's stream opened: its first report counts from then. */
  readonly since: number;
}

/** One caller -> callee edge over the ledger's window. */
export interface EdgeTraffic {
  /** Caller, `namespace/name`. */
  readonly from: string;
  /** Callee, `namespace/name`. */
  readonly to: string;
  readonly requests: number;
  readonly failures: number;
  readonly retries: number;
  readonly requestsPerSecond: number;
  /** (requests - failures) / requests; 1 when there were none. */
  readonly successRate: number;
  /** Request-weighted mean of the reported medians: an estimate, medians do not merge exactly. */
  readonly p50Ms: number;
  /**
   * The largest p99 reported in the window. A quantile of a mixture never exceeds the
   * largest quantile of its parts, so this is an upper bound of the edge's true p99.
   */
  readonly p99Ms: number;
  /** Data-plane instances that reported this edge in the window. */
  readonly reporters: number;
}

export interface TrafficLedgerOptions {
  clock: Clock;
  /** Reports older than this are forgotten. Default 30 s. */
  windowMs?: number;
  /** Reports kept per instance, so one that reports every millisecond stays bounded. Default 16. */
  maxReports?: number;
  /** Destinations taken from one report; the rest are dropped. Default 256. */
  maxStats?: number;
}

interface Counts {
  requests: number;
  failures: number;
  retries: number;
  p50Ms: number;
  p99Ms: number;
}

interface Entry {
  /** When it arrived, and the start of the interval it covers (the previous report). */
  readonly at: number;
  readonly start: number;
  readonly stats: Map<string, Counts>;
}

interface InstanceRecord {
  readonly caller: string;
  lastAt: number;
  lastInterval: number;
  entries: Entry[];
}

/** Longest service reference a report may name (a DNS name plus a namespace). */
const MAX_DESTINATION = 320;

/**
 * The rolling view of data planes' TrafficReports: each report holds counters since the
 * previous one, so a rate is the requests of the reports in the window over the time they
 * cover. An instance that stops reporting fades out: after two of its usual intervals
 * without a report, its rate counts the silence too, and its reports leave with the window.
 */
export class TrafficLedger {
  readonly windowMs: number;
  private readonly clock: Clock;
  private readonly maxReports: number;
  private readonly maxStats: number;
  private readonly records = new Map<string, InstanceRecord>();

  constructor(options: TrafficLedgerOptions) {
    this.clock = options.clock;
    this.windowMs = options.windowMs ?? 30_000;
    this.maxReports = options.maxReports ?? 16;
    this.maxStats = options.maxStats ?? 256;
    if (!(this.windowMs > 0)) throw new RangeError(`traffic windowMs must be > 0, got ${this.windowMs}`);
  }

  record(reporter: TrafficReporter, stats: readonly TrafficStat[]): void {
    const now = this.clock.now();
    let rec = this.records.get(reporter.key);
    const start = rec ? rec.lastAt : Math.min(reporter.since, now);
    if (!rec) {
      rec = { caller: reporter.caller, lastAt: now, lastInterval: 0, entries: [] };
      this.records.set(reporter.key, rec);
    }
    const merged = new Map<string, Counts>();
    for (const s of stats.length > this.maxStats ? stats.slice(0, this.maxStats) : stats) {
      if (s.destination === "" || s.destination.length > MAX_DESTINATION) continue;
      const to = resolveServiceRef(s.destination, reporter.namespace);
      const requests = Number(s.requests);
      const c = merged.get(to);
      const failures = Math.min(Number(s.failures), requests);
      if (c) {
        c.requests += requests;
        c.failures += failures;
        c.retries += Number(s.retries);
        c.p50Ms = Math.max(c.p50Ms, finite(s.p50Ms));
        c.p99Ms = Math.max(c.p99Ms, finite(s.p99Ms));
      } else
        merged.set(to, {
          requests,
          failures,
          retries: Number(s.retries),
          p50Ms: finite(s.p50Ms),
          p99Ms: finite(s.p99Ms),
        });
    }
    rec.lastInterval = now - start;
    rec.lastAt = now;
    rec.entries.push({ at: now, start, stats: merged });
    if (rec.entries.length > this.maxReports) rec.entries.shift();
  }

  /** Every edge seen in the window, sorted by caller then callee. */
  edges(): EdgeTraffic[] {
    const now = this.clock.now();
    const horizon = now - this.windowMs;
    const acc = new Map<string, EdgeAcc>();
    for (const [key, rec] of this.records) {
      const entries = rec.entries.filter((e) => e.at >= horizon);
      rec.entries = entries;
      const first = entries[0];
      if (!first) {
        this.records.delete(key);
        continue;
      }
      // While the instance reports on its rhythm, the silence since its last report is
      // not yet news; once it is overdue, that silence lowers its rate.
      const live = now - rec.lastAt <= 2 * rec.lastInterval;
      const span = Math.max(1000, (live ? rec.lastAt : now) - first.start);
      const mine = new Map<string, Counts>();
      for (const e of entries)
        for (const [to, c] of e.stats) {
          const m = mine.get(to);
          if (!m) mine.set(to, { ...c, p50Ms: c.p50Ms * c.requests, p99Ms: c.requests > 0 ? c.p99Ms : 0 });
          else {
            m.requests += c.requests;
            m.failures += c.failures;
            m.retries += c.retries;
            m.p50Ms += c.p50Ms * c.requests;
            if (c.requests > 0) m.p99Ms = Math.max(m.p99Ms, c.p99Ms);
          }
        }
      for (const [to, m] of mine) {
        const edgeKey = `${rec.caller}\u0000${to}`;
        let a = acc.get(edgeKey);
        if (!a) {
          a = {
            from: rec.caller,
            to,
            requests: 0,
            failures: 0,
            retries: 0,
            rate: 0,
            p50Sum: 0,
            p99Ms: 0,
            reporters: 0,
          };
          acc.set(edgeKey, a);
        }
        a.requests += m.requests;
        a.failures += m.failures;
        a.retries += m.retries;
        a.rate += (m.requests * 1000) / span;
        a.p50Sum += m.p50Ms;
        if (m.requests > 0) a.p99Ms = Math.max(a.p99Ms, m.p99Ms);
        a.reporters++;
      }
    }
    return [...acc.values()]
      .sort((x, y) => (x.from === y.from ? compare(x.to, y.to) : compare(x.from, y.from)))
      .map((a) => ({
        from: a.from,
        to: a.to,
        requests: a.requests,
        failures: a.failures,
        retries: a.retries,
        requestsPerSecond: a.rate,
        successRate: a.requests === 0 ? 1 : (a.requests - a.failures) / a.requests,
        p50Ms: a.requests === 0 ? 0 : a.p50Sum / a.requests,
        p99Ms: a.p99Ms,
        reporters: a.reporters,
      }));
  }

  /** Instances with reports still in the window (or not yet swept by `edges()`). */
  get reporterCount(): number {
    return this.records.size;
  }
}

interface EdgeAcc {
  from: string;
  to: string;
  requests: number;
  failures: number;
  retries: number;
  rate: number;
  p50Sum: number;
  p99Ms: number;
  reporters: number;
}

function finite(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
