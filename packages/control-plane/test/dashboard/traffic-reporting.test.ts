import { FakeClock } from "@weft/core";
import { connectDataPlane, type DataPlaneEvent } from "@weft/core/transport";
import { afterEach, describe, expect, it } from "vitest";
import { Resources, waitFor } from "../helpers.ts";

const res = new Resources();
afterEach(() => res.closeAll());

describe("data-plane traffic reports", () => {
  it("reach the control plane's ledger every interval; a failing `traffic` call is reported and skipped", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir(), dashboardPort: 0 });
    const clock = new FakeClock(0);
    const events: DataPlaneEvent[] = [];
    let calls = 0;
    const client = connectDataPlane({
      url: cp.url,
      clock,
      trafficIntervalMs: 1000,
      registration: { service: "web", namespace: "shop", instanceId: "web-1" },
      onSnapshot() {},
      onEvent: (e) => events.push(e),
      traffic: () => {
        calls++;
        if (calls === 1) throw new Error("metrics registry closed");
        return [{ destination: "orders", requests: 7n, failures: 0n, p50Ms: 1, p99Ms: 2 }];
      },
    });
    res.add(() => client.close(), undefined);
    await waitFor(() => client.connected && client.version !== undefined, "the first ACK");
    const edges = async () =>
      (
        (await (await fetch(new URL("/api/overview", cp.dashboardUrl))).json()) as {
          edges: { requests: number }[];
        }
      ).edges;

    await clock.advance(1000);
    await waitFor(() => events.some((e) => e.type === "traffic-failed"), "the traffic-failed event");
    expect(events.find((e) => e.type === "traffic-failed")).toMatchObject({
      error: new Error("metrics registry closed"),
    });
    expect(await edges()).toEqual([]);

    await clock.advance(1000);
    let seen = await edges();
    for (let i = 0; i < 500 && seen.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      seen = await edges();
    }
    expect(seen[0]).toMatchObject({ from: "shop/web", to: "shop/orders", requests: 7 });
    expect(calls).toBe(2);
  });
});
