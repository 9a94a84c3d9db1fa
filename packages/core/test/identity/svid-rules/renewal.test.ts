import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../../src/clock/fake-clock.ts";
import {
  DEFAULT_RENEWAL_POLICY,
  RenewalScheduler,
  renewalDelay,
  resolveRenewalPolicy,
  retryDelay,
  type Validity,
} from "../../../src/identity/index.ts";

const T0 = Date.UTC(2026, 10, 25, 12);
const P = DEFAULT_RENEWAL_POLICY;

describe("renewal timing", () => {
  it("renews at 50-70 % of the lifetime, never within 10 s (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20_000, max: 30 * 86_400_000 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (lifetime, r) => {
          const v = { notBefore: T0, notAfter: T0 + lifetime };
          const d = renewalDelay(v, T0, P, r);
          expect(d).toBeGreaterThanOrEqual(10_000);
          expect(d).toBeLessThan(v.notAfter - T0);
          if (lifetime * 0.5 >= 10_000) {
            expect(d / lifetime).toBeGreaterThanOrEqual(0.5);
            expect(d / lifetime).toBeLessThanOrEqual(0.7);
          }
        },
      ),
    );
  });

  it("spreads a fleet issued together across the window", () => {
    const v = { notBefore: T0, notAfter: T0 + 86_400_000 };
    expect(renewalDelay(v, T0, P, 0)).toBe(0.5 * 86_400_000);
    expect(renewalDelay(v, T0, P, 0.5)).toBe(0.6 * 86_400_000);
    expect(renewalDelay(v, T0, P, 0.999)).toBeCloseTo(0.6998 * 86_400_000, -3);
  });

  it("a certificate about to expire is renewed at half its remaining time, not after the 10 s floor", () => {
    const v = { notBefore: T0 - 60_000, notAfter: T0 + 8_000 };
    expect(renewalDelay(v, T0, P, 0.5)).toBe(4_000);
  });

  it("backs off 1 s, 2 s, 4 s ... up to 30 s, and never past a quarter of the remaining life", () => {
    const long = { notBefore: T0, notAfter: T0 + 86_400_000 };
    const full = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelay(n, long, T0, P, 0.999999));
    expect(full.map((d) => Math.round(d / 1000))).toEqual([1, 2, 4, 8, 16, 30, 30, 30]);
    expect(retryDelay(3, long, T0, P, 0)).toBe(2_000); // equal jitter: half fixed
    const short = { notBefore: T0 - 10_000, notAfter: T0 + 8_000 };
    expect(retryDelay(6, short, T0, P, 0.5)).toBe(2_000);
    const expired = { notBefore: T0 - 20_000, notAfter: T0 - 1 };
    expect(retryDelay(6, expired, T0, P, 0.5)).toBe(1_000);
  });

  it("refuses a policy that could not work, naming it", () => {
    expect(() => resolveRenewalPolicy({ minRatio: 0.8, maxRatio: 0.6 })).toThrow(
      "0 < minRatio <= maxRatio < 1",
    );
    expect(() => resolveRenewalPolicy({ retryBaseMs: 0 })).toThrow("retryBaseMs");
  });
});

/** A CA on the fake clock issuing `lifetimeMs` certificates; `down` makes it fail. */
function fakeCa(clock: FakeClock, lifetimeMs: number) {
  const ca = { down: false, issued: [] as Validity[], calls: 0 };
  const renew = async (): Promise<Validity> => {
    ca.calls++;
    if (ca.down) throw new Error("CA unavailable");
    const now = T0 + clock.now();
    const v = { notBefore: now, notAfter: now + lifetimeMs };
    ca.issued.push(v);
    return v;
  };
  return { ca, renew };
}

describe("RenewalScheduler on a fake clock", () => {
  it("keeps 20 s certificates fresh for 10 minutes: each renewed at 50-70 %, never expired", async () => {
    const clock = new FakeClock();
    const { ca, renew } = fakeCa(clock, 20_000);
    let inUse = await renew();
    const renewedAt: number[] = [];
    let seed = 7;
    const scheduler = new RenewalScheduler<Validity>({
      clock,
      wallNow: () => T0 + clock.now(),
      validity: (v) => v,
      renew,
      onRenewed: (v) => {
        const now = T0 + clock.now();
        expect(now).toBeLessThan(inUse.notAfter);
        renewedAt.push((now - inUse.notBefore) / (inUse.notAfter - inUse.notBefore));
        inUse = v;
      },
      random: () => {
        seed = (seed * 48271) % 2147483647;
        return seed / 2147483647;
      },
    });
    scheduler.installed(inUse);
    for (let t = 0; t < 600; t++) {
      await clock.advance(1_000);
      expect(T0 + clock.now()).toBeLessThan(inUse.notAfter);
    }
    scheduler.stop();
    expect(clock.pendingTimers).toBe(0);
    expect(renewedAt.length).toBeGreaterThanOrEqual(600 / 14);
    expect(renewedAt.length).toBeLessThanOrEqual(600 / 10);
    expect(Math.min(...renewedAt)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...renewedAt)).toBeLessThanOrEqual(0.7);
    // Jitter: the renewal points are spread, not one value.
    expect(Math.max(...renewedAt) - Math.min(...renewedAt)).toBeGreaterThan(0.1);
    expect(ca.calls).toBe(renewedAt.length + 1);
  });

  it("while the CA is down: backs off, keeps the certificate in use, and renews once it is back", async () => {
    const clock = new FakeClock();
    const { ca, renew } = fakeCa(clock, 60_000);
    let inUse = await renew();
    const retries: number[] = [];
    const scheduler = new RenewalScheduler<Validity>({
      clock,
      wallNow: () => T0 + clock.now(),
      validity: (v) => v,
      renew,
      onRenewed: (v) => {
        inUse = v;
      },
      onError: (_e, retryInMs) => retries.push(retryInMs),
      random: () => 0.5,
    });
    expect(scheduler.installed(inUse)).toBe(36_000); // 60 % of 60 s
    ca.down = true;
    await clock.advance(36_000 + 1_000 + 1_500 + 3_000 + 2);
    // 0.75 of 1 s, 2 s, 4 s: doubling with equal jitter (random 0.5).
    expect(retries.slice(0, 3)).toEqual([750, 1_500, 3_000]);
    expect(ca.issued.length).toBe(1);
    const first = inUse;
    ca.down = false;
    await clock.advance(6_000);
    expect(ca.issued.length).toBe(2);
    expect(inUse).not.toBe(first);
    expect(T0 + clock.now()).toBeLessThan(first.notAfter);
    scheduler.stop();
  });

  it("a long outage: retries never wait past a quarter of the remaining life, so the last ones crowd before expiry", async () => {
    const clock = new FakeClock();
    const { ca, renew } = fakeCa(clock, 600_000);
    const inUse = await renew();
    const at: number[] = [];
    const scheduler = new RenewalScheduler<Validity>({
      clock,
      wallNow: () => T0 + clock.now(),
      validity: (v) => v,
      renew,
      onRenewed: () => {},
      onError: () => at.push(clock.now()),
      random: () => 0.999,
    });
    scheduler.installed(inUse);
    ca.down = true;
    await clock.advance(600_000);
    scheduler.stop();
    const gaps = at.slice(1).map((t, i) => t - (at[i] ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(30_000);
    // In the last minute before expiry, attempts come at least every 15 s.
    const lastMinute = at.filter((t) => t >= 540_000);
    expect(lastMinute.length).toBeGreaterThanOrEqual(4);
  });
});
