import http from "node:http";
import { reportHardening } from "@weft/core/testing";
import { H2cTransport, type MeshServer } from "@weft/core/transport";
import { afterEach, describe, expect, it } from "vitest";
import { recordingApp } from "../helpers.ts";
import { Admission, guardedListener, RawClient, timedGet, until } from "./setup.ts";

// One global connection count for the sidecar's own listeners and core's mesh server (the
// inbound port), as Envoy's global_downstream_max_connections: a flood on one port cannot
// take the file descriptors the other needs past the global cap.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("global connection cap across the outbound listener and the mesh inbound port", () => {
  it("refuses on both once the process-wide count is reached, and admits again when it drops", async () => {
    const admission = new Admission({ maxConnections: 6 });
    const app = await recordingApp();
    cleanups.push(app.close);
    const side = await guardedListener(() => ({ address: "127.0.0.1", port: app.port, protocol: "http1" }), {
      limits: { maxConnections: 100 },
      admission,
    });
    cleanups.push(side.close);
    const inbound: MeshServer = await new H2cTransport().listen(
      { port: 0, limits: { maxConnections: 100, admission, place: "sidecar-inbound" } },
      { request: (stream) => stream.respond({ ":status": 200 }, { endStream: true }) },
    );
    cleanups.push(() => inbound.close());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    expect((await timedGet(side.port, agent, "/first")).status).toBe(200);

    const held: RawClient[] = [];
    cleanups.push(() => {
      for (const c of held) c.destroy();
    });
    for (let i = 0; i < 5; i++) held.push(await RawClient.open(inbound.port));
    await until(() => admission.connections === 6, 2_000);
    const overOutbound = await RawClient.open(side.port);
    const overInbound = await RawClient.open(inbound.port);
    await until(() => overOutbound.closed && overInbound.closed, 1_000);
    expect(admission.refused.global_connections).toBe(2);
    expect(
      side.stats.get("weft_sidecar_refused_total", {
        place: "sidecar-outbound",
        reason: "global_connections",
      }),
    ).toBe(1);
    // The client already connected keeps its connection.
    expect((await timedGet(side.port, agent, "/kept")).status).toBe(200);

    held[0]?.destroy();
    await until(() => admission.connections === 5 && admission.admitting, 2_000);
    const fresh = new http.Agent({ keepAlive: false });
    expect((await timedGet(side.port, fresh, "/again")).status).toBe(200);
    fresh.destroy();
    for (const c of [overOutbound, overInbound])
      reportHardening({
        class: "connection-flood",
        case: "connection over the global cap (outbound listener + mesh inbound)",
        refused: c.closed,
        reachedApp: false,
      });
  });
});
