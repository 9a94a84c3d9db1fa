import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ControlPlane, createAdminClient, issueToken, startControlPlane } from "@weft/control-plane";
import { parseMeshConfig } from "@weft/core";
import { afterEach, describe, expect, it } from "vitest";
import { createMesh, createMeshClient, type Mesh } from "../src/index.ts";
import { EchoService } from "./gen/echo/v1/echo_pb.js";
import { echoImpl } from "./support/echo.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const meshYaml = (extra = "") => `
apiVersion: weft.dev/v1
kind: Mesh
spec:
  defaults: { retry: { attempts: 3, backoff: { base: 5ms, max: 20ms } } }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: echo, namespace: test }
spec: { mode: INPROCESS, rpcServices: [echo.v1.EchoService] }
${extra}`;

async function controlPlane(): Promise<ControlPlane> {
  const dataDir = await mkdtemp(join(tmpdir(), "weft-cp-"));
  const cp = await startControlPlane({ dataDir, port: 0, graceMs: 500, warmupMs: 0 });
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  cleanups.push(() => cp.close());
  return cp;
}

async function apply(cp: ControlPlane, text: string) {
  const admin = createAdminClient(cp);
  return admin.apply({ config: parseMeshConfig({ file: "mesh.yaml", text }) });
}

async function join_(cp: ControlPlane, service: string, listen: boolean): Promise<Mesh> {
  const { token } = await issueToken(cp.store, { namespace: "test", serviceAccount: service });
  const mesh = await createMesh({
    service,
    namespace: "test",
    controlPlane: { url: cp.url, token, initialTimeoutMs: 5_000 },
    ...(listen ? { listen: { host: "127.0.0.1", port: 0 } } : {}),
  });
  cleanups.push(() => mesh.close({ graceMs: 0 }));
  return mesh;
}

describe("in-process mesh joined through the control plane", () => {
  it("gets certificates from the CA, config and endpoints from discovery, and calls over mTLS", async () => {
    const cp = await controlPlane();
    await apply(cp, meshYaml());
    const echo = await join_(cp, "echo", true);
    echo.serve(EchoService, echoImpl("cp-replica"));
    const web = await join_(cp, "web", false);
    expect(web.health().certificateExpiry?.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);

    const client = createMeshClient(EchoService, web);
    // The echo endpoint reaches web's data plane through discovery; allow it a moment.
    let reply: Awaited<ReturnType<typeof client.say>> | undefined;
    for (let i = 0; i < 50 && !reply; i++) {
      reply = await client.say({ text: "via cp" }).catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
    }
    expect(reply?.replica).toBe("cp-replica");
    expect(web.health().ready).toBe(true);

    // A policy applied at the control plane reaches the server's data plane and is enforced.
    await apply(
      cp,
      meshYaml(`---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: nobody, namespace: test }
spec:
  services: [echo]
  action: ALLOW
  rules: [{ principals: ["spiffe://weft.local/ns/test/sa/admin"] }]
`),
    );
    let code: Code | undefined;
    for (let i = 0; i < 50 && code !== Code.PermissionDenied; i++) {
      code = await client.say({ text: "x" }).then(
        () => undefined,
        (e) => ConnectError.from(e).code,
      );
      if (code !== Code.PermissionDenied) await new Promise((r) => setTimeout(r, 100));
    }
    expect(code).toBe(Code.PermissionDenied);
  });

  it("keeps serving with the last configuration when the control plane goes away", async () => {
    const cp = await controlPlane();
    await apply(cp, meshYaml());
    const echo = await join_(cp, "echo", true);
    echo.serve(EchoService, echoImpl("r"));
    const web = await join_(cp, "web", false);
    const client = createMeshClient(EchoService, web);
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      ok = await client.say({ text: "warm" }).then(
        () => true,
        async () => {
          await new Promise((r) => setTimeout(r, 100));
          return false;
        },
      );
    }
    expect(ok).toBe(true);
    await cp.close();
    for (let i = 0; i < 20; i++) expect((await client.say({ text: `after ${i}` })).text).toBe(`after ${i}`);
  });
});
