import type { CertificateAuthority } from "@weft/core";
import { afterAll, beforeAll, describe, it } from "vitest";
import { reportHardeningCase } from "../../../../tools/hardening/report-line.ts";
import { createMesh, type Mesh } from "../../src/index.ts";
import { testCa, workload } from "../support/pki.ts";
import { type ConnectPath, connectCases, connectPath } from "./connect-cases.ts";
import { startGrpcJsServer } from "./grpc-js-server.ts";
import { interopConfig } from "./interop-config.ts";

const ID = (sa: string) => `spiffe://weft.local/ns/shop/sa/${sa}`;
const PATH = "in-process client -> mTLS -> grpc-js server";

// The in-process shape's wire, met by another gRPC implementation: a mesh client (connect-es over
// core's mTLS HTTP/2 pool, outbound chain) calls a @grpc/grpc-js server holding the service's
// workload certificate and requiring the caller's.
describe(`gRPC interop: ${PATH}`, () => {
  let ca: CertificateAuthority;
  let server: Awaited<ReturnType<typeof startGrpcJsServer>>;
  let mesh: Mesh;
  let path: ConnectPath;

  beforeAll(async () => {
    ca = await testCa();
    server = await startGrpcJsServer(await workload(ca, ID("interop")));
    mesh = await createMesh({
      service: "web",
      namespace: "shop",
      credentials: await workload(ca, ID("web")),
      config: interopConfig(server.port),
    });
    path = connectPath((s) => mesh.transportFor(s));
  });

  afterAll(async () => {
    await mesh?.close({ graceMs: 0 });
    server?.close();
  });

  for (const c of connectCases) {
    it(c.name, async () => {
      let passed = false;
      try {
        await c.run(path);
        passed = true;
      } finally {
        reportHardeningCase({
          class: "grpc-interop",
          case: `${PATH}: ${c.name}`,
          refused: false,
          reachedApp: false,
          passed,
        });
      }
    });
  }
});
