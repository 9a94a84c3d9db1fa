import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { parseMeshConfig } from "@weft/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMesh, createMeshClient, type Mesh } from "../src/index.ts";
import { EchoService, SayRequestSchema } from "./gen/echo/v1/echo_pb.js";
import { echoConfig, echoReplica } from "./support/echo.ts";
import { testCa, workload } from "./support/pki.ts";

const ID = (sa: string, ns = "test") => `spiffe://weft.local/ns/${ns}/sa/${sa}`;

describe("in-process mesh calls over mTLS HTTP/2", () => {
  const started: Mesh[] = [];
  let client: Mesh;
  let received: import("./support/echo.ts").Received;

  beforeAll(async () => {
    const ca = await testCa();
    const replica = await echoReplica("r1", { credentials: await workload(ca, ID("echo")) });
    started.push(replica.mesh);
    received = replica.received;
    client = await createMesh({
      service: "web",
      namespace: "test",
      credentials: await workload(ca, ID("web")),
      config: parseMeshConfig({ file: "echo.yaml", text: echoConfig([replica.port]) }),
    });
    started.push(client);
  });
  afterAll(async () => {
    for (const m of started) await m.close({ graceMs: 0 });
  });

  it("makes unary and all streaming calls with a typed client", async () => {
    const echo = createMeshClient(EchoService, client);
    const said = await echo.say({ text: "hello" });
    expect(said.text).toBe("hello");
    expect(said.replica).toBe("r1");

    const counted: number[] = [];
    for await (const m of echo.count({ upTo: 5 })) counted.push(m.n);
    expect(counted).toEqual([1, 2, 3, 4, 5]);

    async function* words() {
      for (const text of ["a", "b", "c"]) yield create(SayRequestSchema, { text });
    }
    expect((await echo.collect(words())).text).toBe("a b c");
    const chatted: string[] = [];
    for await (const m of echo.chat(words())) chatted.push(m.text);
    expect(chatted).toEqual(["A", "B", "C"]);
  });

  it("speaks Connect and gRPC-Web on the mesh wire as well as gRPC", async () => {
    for (const protocol of ["connect", "grpc-web"] as const) {
      const echo = createMeshClient(EchoService, client, { protocol });
      expect((await echo.say({ text: protocol })).text).toBe(protocol);
      const counted: number[] = [];
      for await (const m of echo.count({ upTo: 3 })) counted.push(m.n);
      expect(counted).toEqual([1, 2, 3]);
      const err = await echo.say({ text: "slow", delayMs: 2000 }, { timeoutMs: 100 }).catch((e) => e);
      expect(ConnectError.from(err).code).toBe(Code.DeadlineExceeded);
    }
  });

  it("also works through createClient with the mesh transport (any connect-es service)", async () => {
    const echo = createClient(EchoService, client.transportFor(EchoService));
    expect((await echo.say({ text: "plain" })).text).toBe("plain");
  });

  it("propagates the caller's deadline to the server, which enforces it too", async () => {
    const echo = createMeshClient(EchoService, client);
    const res = await echo.say({ text: "t" }, { timeoutMs: 1500 });
    expect(Number(res.deadlineMs)).toBeGreaterThan(1000);
    expect(Number(res.deadlineMs)).toBeLessThanOrEqual(1500);
    const before = received.byMethod.get("say") ?? 0;
    const err = await echo.say({ text: "slow", delayMs: 2000 }, { timeoutMs: 200 }).catch((e) => e);
    expect(ConnectError.from(err).code).toBe(Code.DeadlineExceeded);
    expect(received.byMethod.get("say")).toBe(before + 1);
  });

  it("reports the mesh's golden signals and health", async () => {
    const text = await client.metrics();
    expect(text).toMatch(/weft_requests_total\{place="client",service="echo",namespace="test"/);
    const h = client.health();
    expect(h.ready).toBe(true);
    expect(h.certificateExpiry?.getTime()).toBeGreaterThan(Date.now());
  });
});
