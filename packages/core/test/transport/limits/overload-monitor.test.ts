import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../../src/clock/fake-clock.ts";
import { Admission } from "../../../src/transport/limits/admission.ts";
import { type HeapReading, OverloadMonitor } from "../../../src/transport/overload/overload-monitor.ts";

const LIMIT = 1_000 * 1024 * 1024;

/** A heap whose fill the test sets, so no test has to exhaust memory. */
function heap(fraction = 0.1) {
  const h = { fraction, reads: 0 };
  const read = (): HeapReading => {
    h.reads++;
    return { used: h.fraction * LIMIT, limit: LIMIT };
  };
  return { h, read };
}

describe("OverloadMonitor", () => {
  it("reads the heap on its interval and sheds at 90%, recovering only below 85%", async () => {
    const clock = new FakeClock();
    const { h, read } = heap(0.5);
    const m = new OverloadMonitor({ read, clock });
    const changes: boolean[] = [];
    m.onChange((o) => changes.push(o));
    m.start();
    expect(h.reads).toBe(1);
    h.fraction = 0.91;
    await clock.advance(999);
    expect(m.overloaded).toBe(false);
    await clock.advance(1);
    expect(m.overloaded).toBe(true);
    expect(m.reason).toBe("overloaded: heap 91% of 1000 MB used (sheds at 90%, recovers below 85%)");
    h.fraction = 0.87; // between the two lines: still shedding
    await clock.advance(1_000);
    expect(m.overloaded).toBe(true);
    h.fraction = 0.84;
    await clock.advance(1_000);
    expect(m.overloaded).toBe(false);
    expect(changes).toEqual([true, false]);
    m.stop();
    expect(clock.pendingTimers).toBe(0);
  });

  it("is overloaded exactly when the last crossing was up past shedAt, not back below recoverBelow", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 60 }), (fractions) => {
        let f = 0;
        const m = new OverloadMonitor({
          read: () => ({ used: f * LIMIT, limit: LIMIT }),
          shedAt: 0.9,
          recoverBelow: 0.8,
        });
        let expected = false;
        for (const x of fractions) {
          f = x;
          if (x >= 0.9) expected = true;
          else if (x < 0.8) expected = false;
          expect(m.check()).toBe(expected);
        }
      }),
    );
  });

  it("refuses thresholds that cannot work, naming them", () => {
    expect(() => new OverloadMonitor({ shedAt: 0.8, recoverBelow: 0.9 })).toThrow(
      "need 0 < recoverBelow (0.9) <= shedAt (0.8) <= 1",
    );
    expect(() => new OverloadMonitor({ intervalMs: 0 })).toThrow("intervalMs must be > 0, got 0");
  });

  it("gives Admission its shedding state and a 503 error naming the heap, with overload provenance", () => {
    const { h, read } = heap(0.95);
    const m = new OverloadMonitor({ read, clock: new FakeClock() });
    const admission = new Admission({ maxConnections: 10, overload: m });
    expect(admission.shedding).toBe(false);
    m.check();
    expect(admission.shedding).toBe(true);
    expect(admission.admitting).toBe(false);
    const e = admission.overloadError("sidecar-inbound");
    expect(e.httpStatus).toBe(503);
    expect(e.neverSent).toBe(true);
    expect(e.toHeader()).toContain("plugin=overload");
    expect(e.reason).toContain("heap 95% of 1000 MB used");
    h.fraction = 0.1;
    m.check();
    expect(admission.shedding).toBe(false);
    expect(admission.admitting).toBe(true);
  });
});
