import { Code, ConnectError } from "@connectrpc/connect";
import { parseMeshConfig } from "@weft/core";
import { afterEach, describe, expect, it } from "vitest";
import { createMesh, createMeshClient, type Mesh } from "../src/index.ts";
import { EchoService } from "./gen/echo/v1/echo_pb.js";
import { echoConfig, echoReplica, Received } from "./support/echo.ts";
import { testCa, workload } from "./support/pki.ts";

const ID = (sa: string) => `spiffe://weft.local/ns/test/sa/${sa}`;
let started: Mesh[] = [];
afterEach(async () => {
  for (const m of started) await m.close({ graceMs: 0 });
  started = [];
});

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("in-process resilience with real replicas", () => {
  it("loses no call when one of three replicas is killed under load, and stops sending to it within a second", async () => {
    const ca = await testCa();
    const replicas = await Promise.all(
      ["r1", "r2", "r3"].map(async (r) => echoReplica(r, { credentials: await workload(ca, ID("echo")) })),
    );
    started.push(...replicas.map((r) => r.mesh));
    const client = await createMesh({
      service: "web",
      namespace: "test",
      credentials: await workload(ca, ID("web")),
      config: parseMeshConfig({ file: "echo.yaml", text: echoConfig(replicas.map((r) => r.port)) }),
    });
    started.push(client);
    const echo = createMeshClient(EchoService, client);

    const victim = replicas[0];
    if (!victim) throw new Error("no replica");
    let failures = 0;
    let calls = 0;
    let killedAt = 0;
    const lastOnVictim: number[] = [];
    let afterKill = 0;
    const deadline = Date.now() + 8_000;
    // Bounded load: 8 concurrent callers, at most 1,600 calls or 8 s.
    const worker = async () => {
      while (calls < 1_600 && Date.now() < deadline) {
        calls++;
        try {
          const r = await echo.say({ text: "x", delayMs: 2 });
          if (killedAt > 0) afterKill++;
          if (r.replica === "r1" && killedAt > 0) lastOnVictim.push(Date.now() - killedAt);
        } catch {
          failures++;
        }
        if (calls === 300 && killedAt === 0) {
          killedAt = Date.now();
          void victim.mesh.close({ graceMs: 0 });
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(killedAt).toBeGreaterThan(0);
    // Enough calls after the kill to show the survivors took over (how many fit in the time
    // bound depends on the machine; the kill happens after 300).
    expect(afterKill).toBeGreaterThan(200);
    expect(failures).toBe(0);
    expect(Math.max(0, ...lastOnVictim)).toBeLessThan(1_000);
    const after = replicas.slice(1).map((r) => r.received.byMethod.get("say") ?? 0);
    expect(after.every((n) => n > 50)).toBe(true);
  });

  it("never retries a non-idempotent call once the server may have seen it, but retries it on a connect failure", async () => {
    const ca = await testCa();
    const dead = await freePort();
    const received = new Received();
    const live = await echoReplica("live", { credentials: await workload(ca, ID("echo")) }, received);
    started.push(live.mesh);
    // One endpoint refuses connections (never sent); the other answers slowly, then is cut.
    const client = await createMesh({
      service: "web",
      namespace: "test",
      credentials: await workload(ca, ID("web")),
      // Round robin, so the refusing endpoint is certainly tried.
      config: parseMeshConfig({
        file: "echo.yaml",
        text: echoConfig([dead, live.port]).replace(
          "rpcServices: [echo.v1.EchoService]",
          "rpcServices: [echo.v1.EchoService]\n  policies: { loadBalancer: { algorithm: ROUND_ROBIN } }",
        ),
      }),
    });
    started.push(client);
    const echo = createMeshClient(EchoService, client);
    for (let i = 0; i < 20; i++) expect((await echo.create({ text: `c${i}` })).replica).toBe("live");
    expect(received.byMethod.get("create")).toBe(20);
    // Some of them were first sent to the refusing endpoint, and retried: never sent, so safe.
    expect(await client.metrics()).toMatch(/weft_retries_total\{[^}]*service="echo"[^}]*\} [1-9]/);

    // The server is closed while 5 non-idempotent calls are in flight on it: they fail, once each.
    const inFlight = Array.from({ length: 5 }, () =>
      echo.create({ text: "cut", delayMs: 500 }).catch((e) => e),
    );
    await new Promise((r) => setTimeout(r, 150));
    await live.mesh.close({ graceMs: 0 });
    const results = await Promise.all(inFlight);
    for (const r of results) expect(r).toBeInstanceOf(ConnectError);
    expect(received.byMethod.get("create")).toBe(25);
  });

  it("rejects clients with a foreign, expired or absent certificate, and callers the policy does not allow", async () => {
    const ca = await testCa();
    const other = await testCa("evil.example");
    const policy = `---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: only-web, namespace: test }
spec:
  services: [echo]
  action: ALLOW
  rules: [{ principals: ["${ID("web")}"] }]
`;
    const server = await echoReplica("r1", {
      credentials: await workload(ca, ID("echo")),
      config: parseMeshConfig({ file: "p.yaml", text: echoConfig([], policy) }),
    });
    started.push(server.mesh);
    const clientWith = async (
      sa: string,
      creds: Parameters<typeof createMesh>[0]["credentials"],
      insecure = false,
    ) => {
      const m = await createMesh({
        service: sa,
        namespace: "test",
        credentials: creds,
        insecure,
        config: parseMeshConfig({ file: "echo.yaml", text: echoConfig([server.port]) }),
      });
      started.push(m);
      return createMeshClient(EchoService, m);
    };
    const codeOf = async (p: Promise<unknown>) =>
      ConnectError.from(
        await p.then(
          () => undefined,
          (e) => e,
        ),
      ).code;

    const good = await clientWith("web", await workload(ca, ID("web")));
    expect((await good.say({ text: "ok" })).text).toBe("ok");

    const foreign = await clientWith(
      "web",
      await workload(other, "spiffe://evil.example/ns/test/sa/web", { anchors: [other, ca] }),
    );
    expect(await codeOf(foreign.say({ text: "x" }))).toBe(Code.Unavailable);
    const expired = await clientWith(
      "web",
      await workload(ca, ID("web"), { notBefore: Date.now() - 7_200_000, notAfter: Date.now() - 3_600_000 }),
    );
    expect(await codeOf(expired.say({ text: "x" }))).toBe(Code.Unavailable);
    const plaintext = await clientWith("web", undefined, true);
    expect(await codeOf(plaintext.say({ text: "x" }))).toBe(Code.Unavailable);

    const batch = await clientWith("batch", await workload(ca, ID("batch")));
    const denied = ConnectError.from(
      await batch.say({ text: "x" }).then(
        () => new Error("allowed"),
        (e) => e,
      ),
    );
    expect(denied.code).toBe(Code.PermissionDenied);
    expect(denied.message).toContain(`${ID("batch")} may not call echo.v1.EchoService/Say`);
    expect(denied.metadata.get("weft-error")).toContain("plugin=authorization");
    expect(server.received.byMethod.get("say")).toBe(1);
  });

  it("rotates certificates under load with zero failed calls", async () => {
    const ca = await testCa();
    const server = await echoReplica("r1", { credentials: await workload(ca, ID("echo")) });
    started.push(server.mesh);
    const client = await createMesh({
      service: "web",
      namespace: "test",
      credentials: await workload(ca, ID("web")),
      config: parseMeshConfig({ file: "echo.yaml", text: echoConfig([server.port]) }),
    });
    started.push(client);
    const echo = createMeshClient(EchoService, client);
    const fresh = { client: await workload(ca, ID("web")), server: await workload(ca, ID("echo")) };
    let failures = 0;
    let calls = 0;
    const worker = async () => {
      while (calls < 600) {
        calls++;
        if (calls === 200) {
          client.setCredentials(fresh.client);
          server.mesh.setCredentials(fresh.server);
        }
        await echo.say({ text: "r" }).catch(() => failures++);
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
    expect(calls).toBeGreaterThanOrEqual(600);
    expect(failures).toBe(0);
    expect(client.health().certificateExpiry?.toISOString()).toBe(
      new Date(new (await import("node:crypto")).X509Certificate(fresh.client.chain).validTo).toISOString(),
    );
  });
});
