import * as grpc from "@grpc/grpc-js";
import type { CertificateAuthority } from "@weft/core";
import { afterAll, beforeAll, describe, it } from "vitest";
import { reportHardeningCase } from "../../../../tools/hardening/report-line.ts";
import { createMesh, type Mesh } from "../../src/index.ts";
import { anchorOf, testCa, workload } from "../support/pki.ts";
import { connectTestService } from "./connect-test-service.ts";
import { TestService } from "./gen/weft/interop/v1/test_pb.js";
import { type GrpcJsPath, grpcJsCases, grpcJsPath } from "./grpc-js-cases.ts";
import { loadInteropPackage } from "./grpc-js-server.ts";
import { interopConfig } from "./interop-config.ts";

const ID = (sa: string) => `spiffe://weft.local/ns/shop/sa/${sa}`;
const PATH = "grpc-js client -> mTLS -> in-process server";

// The other direction of the in-process shape's wire: a @grpc/grpc-js client holding a workload
// certificate calls a mesh that serves a connect-es TestService behind its inbound chain.
describe(`gRPC interop: ${PATH}`, () => {
  let ca: CertificateAuthority;
  let mesh: Mesh;
  let path: GrpcJsPath & { close(): void };

  beforeAll(async () => {
    ca = await testCa();
    mesh = await createMesh({
      service: "interop",
      namespace: "shop",
      credentials: await workload(ca, ID("interop")),
      config: interopConfig(1),
      listen: { host: "127.0.0.1", port: 0 },
    });
    mesh.serve(TestService, connectTestService());
    const caller = await workload(ca, ID("grpc-js"));
    const credentials = grpc.credentials.createSsl(
      Buffer.from(anchorOf(ca)),
      Buffer.from(caller.key),
      Buffer.from(caller.chain),
      // Mesh certificates name a SPIFFE identity, not a host name; the chain is still verified.
      { checkServerIdentity: () => undefined },
    );
    // The in-process server accepts no request compression (see the hardening report).
    path = grpcJsPath(loadInteropPackage(), `127.0.0.1:${mesh.port}`, credentials);
  });

  afterAll(async () => {
    path?.close();
    await mesh?.close({ graceMs: 0 });
  });

  for (const c of grpcJsCases) {
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
