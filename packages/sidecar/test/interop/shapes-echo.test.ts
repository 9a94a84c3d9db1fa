import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { CertificateAuthority } from "@weft/core";
import { createMesh, createMeshClient, type Mesh } from "@weft/inprocess";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoImpl, startEchoApp } from "../echo-app.ts";
import { ECHO_RPC, EchoService } from "../echo-service.ts";
import { testCa, workload, writeCredentials } from "../pki.ts";
import { type SidecarProcess, startSidecar, tempDir } from "../process-helpers.ts";

/** orders (the callee) in shop, serving the echo service at `port`; only callers in `allowed` may call. */
function config(port: number, allowed: string[]): string {
  return `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  ports: [{ name: grpc, port: 8080, protocol: PROTOCOL_GRPC }]
  rpcServices: [${ECHO_RPC}]
  mtlsMode: MTLS_MODE_STRICT
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: orders, namespace: shop }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${port} }]
---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: orders-callers, namespace: shop }
spec:
  services: [orders]
  action: ALLOW
  rules: [{ principals: [${allowed.map((a) => JSON.stringify(`spiffe://weft.local/ns/shop/sa/${a}`)).join(", ")}] }]
`;
}

/** A sidecar runs from source: on a loaded two-core machine its start-up can take a while. */
const START_MS = 40_000;

// Both shapes speak one wire: mTLS HTTP/2 with SPIFFE identities from one CA.
describe("in-process SDK and sidecars interoperate over mTLS", () => {
  const tmp = tempDir();
  let ca: CertificateAuthority;
  beforeAll(async () => {
    ca = await testCa();
  });
  afterAll(() => tmp.remove());

  describe("an in-process client calls a service behind a callee sidecar", () => {
    let app: Awaited<ReturnType<typeof startEchoApp>>;
    let callee: SidecarProcess;
    const meshes: Mesh[] = [];

    beforeAll(async () => {
      app = await startEchoApp();
      tmp.write("callee.yaml", config(1, ["web"]));
      callee = await startSidecar(
        [
          "--config",
          `${tmp.dir}/callee.yaml`,
          "--service",
          "orders",
          "--namespace",
          "shop",
          "--app-port",
          String(app.port),
          "--app-protocol",
          "h2c",
          ...writeCredentials(tmp.dir, "orders", await workload(ca, "shop", "orders")),
        ],
        START_MS,
      );
      tmp.write("in-process-caller.yaml", config(callee.ports.inbound as number, ["web"]));
    }, 2 * START_MS);

    afterAll(async () => {
      await Promise.all(meshes.map((m) => m.close({ graceMs: 0 })));
      await callee?.stop();
      await app?.close();
    });

    const meshAs = async (name: string) => {
      const mesh = await createMesh({
        service: name,
        namespace: "shop",
        credentials: await workload(ca, "shop", name),
        configFile: `${tmp.dir}/in-process-caller.yaml`,
      });
      meshes.push(mesh);
      return mesh;
    };

    it("unary, trailers, error codes and streams reach the app with the caller's identity", async () => {
      const client = createMeshClient(EchoService, await meshAs("web"));
      let trailer: Headers | undefined;
      const res = await client.say({ text: "hi" }, { onTrailer: (t) => (trailer = t) });
      expect(res.text).toBe("echo:hi");
      expect(res.caller).toBe("spiffe://weft.local/ns/shop/sa/web");
      expect(trailer?.get("x-trailer")).toBe("from-app");
      const err = ConnectError.from(await client.say({ text: "fail" }).catch((e: unknown) => e));
      expect(err.code).toBe(Code.FailedPrecondition);
      expect(err.metadata.get("x-why")).toBe("asked to");
      const counted: number[] = [];
      for await (const m of client.count({ upTo: 3 })) counted.push(m.n);
      expect(counted).toEqual([1, 2, 3]);
    });

    it("the callee sidecar's authorization denies an in-process caller it does not allow", async () => {
      const client = createMeshClient(EchoService, await meshAs("intruder"));
      const err = ConnectError.from(await client.say({ text: "hi" }).catch((e: unknown) => e));
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.message).toContain("orders-callers");
    });
  });

  describe("a sidecar-fronted caller calls an in-process service", () => {
    let served: Mesh;
    const callers: SidecarProcess[] = [];

    beforeAll(async () => {
      tmp.write("served.yaml", config(1, ["web"]));
      served = await createMesh({
        service: "orders",
        namespace: "shop",
        credentials: await workload(ca, "shop", "orders"),
        configFile: `${tmp.dir}/served.yaml`,
        listen: { host: "127.0.0.1", port: 0 },
      });
      served.serve(EchoService, echoImpl());
      tmp.write("sidecar-caller.yaml", config(served.port as number, ["web"]));
    }, 2 * START_MS);

    afterAll(async () => {
      await Promise.all(callers.map((c) => c.stop()));
      await served?.close({ graceMs: 0 });
    });

    const callerSidecar = async (name: string) => {
      const sidecar = await startSidecar(
        [
          "--config",
          `${tmp.dir}/sidecar-caller.yaml`,
          "--service",
          name,
          "--namespace",
          "shop",
          "--app-port",
          "9",
          ...writeCredentials(tmp.dir, name, await workload(ca, "shop", name)),
        ],
        START_MS,
      );
      callers.push(sidecar);
      return createClient(
        EchoService,
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${sidecar.ports.outbound}` }),
      );
    };

    it(
      "an app's gRPC calls through its sidecar reach the in-process service: unary, errors, bidi",
      async () => {
        const client = await callerSidecar("web");
        let trailer: Headers | undefined;
        const res = await client.say({ text: "hi" }, { onTrailer: (t) => (trailer = t) });
        expect(res.text).toBe("echo:hi");
        expect(trailer?.get("x-trailer")).toBe("from-app");
        const err = ConnectError.from(await client.say({ text: "fail" }).catch((e: unknown) => e));
        expect(err.code).toBe(Code.FailedPrecondition);
        expect(err.metadata.get("x-why")).toBe("asked to");
        async function* words() {
          for (const text of ["x", "y"]) yield { text };
        }
        const chat: string[] = [];
        for await (const m of client.chat(words())) chat.push(m.text);
        expect(chat).toEqual(["X", "Y"]);
      },
      2 * START_MS,
    );

    it(
      "the in-process service's authorization sees the caller sidecar's certificate identity",
      async () => {
        const client = await callerSidecar("intruder");
        const err = ConnectError.from(await client.say({ text: "hi" }).catch((e: unknown) => e));
        expect(err.code).toBe(Code.PermissionDenied);
        expect(err.message).toContain("orders-callers");
      },
      2 * START_MS,
    );
  });
});
