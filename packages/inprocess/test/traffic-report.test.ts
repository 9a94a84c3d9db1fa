import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ControlPlane,
  createAdminClient,
  issueToken,
  type Overview,
  startControlPlane,
} from "@weft/control-plane";
import { parseMeshConfig } from "@weft/core";
import { afterEach, describe, expect, it } from "vitest";
import { createMesh, createMeshClient, type Mesh } from "../src/index.ts";
import { EchoService } from "./gen/echo/v1/echo_pb.js";
import { echoImpl } from "./support/echo.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const meshYaml = `
apiVersion: weft.dev/v1
kind: Service
metadata: { name: echo, namespace: test }
spec: { mode: INPROCESS, rpcServices: [echo.v1.EchoService] }
`;

async function controlPlane(): Promise<ControlPlane> {
  const dataDir = await mkdtemp(join(tmpdir(), "weft-cp-"));
  const cp = await startControlPlane({ dataDir, port: 0, graceMs: 500, warmupMs: 0, dashboardPort: 0 });
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  cleanups.push(() => cp.close());
  const admin = createAdminClient(cp);
  await admin.apply({ config: parseMeshConfig({ file: "mesh.yaml", text: meshYaml }) });
  return cp;
}

async function join_(cp: ControlPlane, service: string, listen: boolean): Promise<Mesh> {
  const { token } = await issueToken(cp.store, { namespace: "test", serviceAccount: service });
  const mesh = await createMesh({
    service,
    namespace: "test",
    controlPlane: { url: cp.url, token, initialTimeoutMs: 5_000, trafficIntervalMs: 100 },
    ...(listen ? { listen: { host: "127.0.0.1", port: 0 } } : {}),
  });
  cleanups.push(() => mesh.close({ graceMs: 0 }));
  return mesh;
}

async function overview(cp: ControlPlane): Promise<Overview> {
  const r = await fetch(new URL("/api/overview", cp.dashboardUrl));
  return (await r.json()) as Overview;
}

describe("in-process traffic reports", () => {
  it("put the web -> echo edge on the control plane's dashboard with every call counted", async () => {
    const cp = await controlPlane();
    const echo = await join_(cp, "echo", true);
    echo.serve(EchoService, echoImpl("r"));
    const joined = Date.now();
    const web = await join_(cp, "web", false);
    const client = createMeshClient(EchoService, web);

    // The echo endpoint reaches web through discovery; calls before that fail, and count too.
    let calls = 0;
    let failed = 0;
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      calls++;
      ok = await client.say({ text: "warm" }).then(
        () => true,
        async () => {
          failed++;
          await new Promise((r) => setTimeout(r, 100));
          return false;
        },
      );
    }
    expect(ok).toBe(true);
    for (let i = 0; i < 40; i++) {
      calls++;
      expect((await client.say({ text: `n${i}` })).text).toBe(`n${i}`);
    }

    let seen = await overview(cp);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      seen = await overview(cp);
      if ((seen.edges[0]?.requests ?? 0) >= calls) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const elapsedMs = Date.now() - joined;
    const edges = seen.edges;
    expect(edges).toMatchObject([
      { from: "test/web", to: "test/echo", requests: calls, failures: failed, reporters: 1 },
    ]);
    const [edge] = edges;
    if (!edge) throw new Error("no edge");
    // A rate covers at least 1 s, and at most the time since web joined.
    expect(edge.requestsPerSecond).toBeGreaterThanOrEqual((calls * 1000) / Math.max(1000, elapsedMs));
    expect(edge.requestsPerSecond).toBeLessThanOrEqual(calls);
    expect(edge.p99Ms).toBeGreaterThan(0);
    expect(edge.p99Ms).toBeLessThan(5_000);
    const row = seen.services.find((s) => s.id === "test/echo");
    expect(row).toMatchObject({
      mode: "in-process",
      dataPlanes: 1,
      requestsPerSecond: edge.requestsPerSecond,
    });
  });
});
