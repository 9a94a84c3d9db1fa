import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { EndpointSet } from "../../src/endpoints/endpoint-set.ts";

const endpointArb = fc.record({
  zone: fc.constantFrom("a", "b", "c"),
  healthy: fc.boolean(),
  ejected: fc.boolean(),
  draining: fc.boolean(),
});

describe("view (property)", () => {
  it("is the healthy endpoints, or every member below the panic threshold, never a draining one", () => {
    fc.assert(
      fc.property(
        fc.array(endpointArb, { maxLength: 20 }),
        fc.integer({ min: 0, max: 100 }),
        fc.boolean(),
        (specs, threshold, zoneAware) => {
          const set = new EndpointSet({
            service: "orders",
            clock: new FakeClock(),
            endpoints: specs.map((s, i) => ({
              address: `10.0.0.${i + 1}`,
              port: 1,
              zone: s.zone,
              draining: s.draining,
            })),
          });
          specs.forEach((s, i) => {
            const ep = set.all[i];
            if (!ep) throw new Error("missing endpoint");
            set.setHealthy(ep, s.healthy);
            if (s.ejected) set.eject(ep, 1000);
          });
          const view = set.view({ panicThresholdPercent: threshold, zoneAware, localZone: "a" });
          const members = specs.filter((s) => !s.draining);
          const healthy = members.filter((s) => s.healthy && !s.ejected);
          const local = members.filter((s) => s.zone === "a");
          const localHealthy = healthy.filter((s) => s.zone === "a");
          expect(view.endpoints.every((ep) => !ep.draining)).toBe(true);
          if (zoneAware && localHealthy.length > 0 && localHealthy.length * 100 >= threshold * local.length) {
            expect(view.endpoints).toHaveLength(localHealthy.length);
            expect(view.endpoints.every((ep) => ep.zone === "a" && ep.eligible)).toBe(true);
          } else if (threshold > 0 && healthy.length * 100 < threshold * members.length) {
            expect(view.panic).toBe(true);
            expect(view.endpoints).toHaveLength(members.length);
          } else {
            expect(view.panic).toBe(false);
            expect(view.endpoints).toHaveLength(healthy.length);
            expect(view.endpoints.every((ep) => ep.eligible)).toBe(true);
          }
          expect(view.ejected).toBe(members.filter((s) => s.ejected).length);
          expect(view.unhealthy).toBe(members.filter((s) => !s.healthy).length);
          set.close();
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });
});
