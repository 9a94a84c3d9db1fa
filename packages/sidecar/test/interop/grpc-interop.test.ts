import * as grpc from "@grpc/grpc-js";
import type { CertificateAuthority } from "@weft/core";
import { createMesh, type Mesh } from "@weft/inprocess";
import { afterAll, beforeAll, describe, it } from "vitest";
import { reportHardeningCase } from "../../../../tools/hardening/report-line.ts";
import {
  type ConnectPath,
  connectCases,
  connectPath,
} from "../../../inprocess/test/interop/connect-cases.ts";
import { connectTestService } from "../../../inprocess/test/interop/connect-test-service.ts";
import { TestService } from "../../../inprocess/test/interop/gen/weft/interop/v1/test_pb.js";
import { type GrpcJsPath, grpcJsCases, grpcJsPath } from "../../../inprocess/test/interop/grpc-js-cases.ts";
import { loadInteropPackage, startGrpcJsServer } from "../../../inprocess/test/interop/grpc-js-server.ts";
import { interopConfig, interopConfigYaml } from "../../../inprocess/test/interop/interop-config.ts";
import { testCa, workload, writeCredentials } from "../pki.ts";
import { type SidecarProcess, startSidecar, tempDir } from "../process-helpers.ts";

/** A sidecar runs from source: on a loaded two-core machine its start-up can take a while. */
const START_MS = 40_000;
const SIDECARS = "grpc-js client -> sidecar A -> mTLS -> sidecar B -> grpc-js server";
const IN_PROCESS = "in-process client -> mTLS -> sidecar B -> grpc-js server";
const TO_IN_PROCESS = "grpc-js client -> sidecar C -> mTLS -> in-process server";

async function reported(path: string, name: string, run: () => Promise<void>): Promise<void> {
  let passed = false;
  try {
    await run();
    passed = true;
  } finally {
    reportHardeningCase({
      class: "grpc-interop",
      case: `${path}: ${name}`,
      refused: false,
      reachedApp: false,
      passed,
    });
  }
}

// grpc's interop cases (interop-test-descriptions.md) between two @grpc/grpc-js ends, with the
// mesh in the middle: the sidecars must pass every gRPC feature through (streams both ways,
// cancellation, deadlines, -bin metadata, statuses) without changing what either end sees.
describe("gRPC interop through sidecars", () => {
  const tmp = tempDir();
  let ca: CertificateAuthority;
  let server: Awaited<ReturnType<typeof startGrpcJsServer>>;
  let callee: SidecarProcess;
  let caller: SidecarProcess;
  let mesh: Mesh;
  let grpcJs: GrpcJsPath & { close(): void };
  let inProcess: ConnectPath;

  beforeAll(async () => {
    ca = await testCa();
    server = await startGrpcJsServer();
    tmp.write("callee.yaml", interopConfigYaml(1));
    const [calleeCreds, callerCreds, meshCreds] = await Promise.all([
      workload(ca, "shop", "interop"),
      workload(ca, "shop", "web"),
      workload(ca, "shop", "web-in-process"),
    ]);
    callee = await startSidecar(
      [
        "--config",
        `${tmp.dir}/callee.yaml`,
        "--service",
        "interop",
        "--namespace",
        "shop",
        "--app-port",
        String(server.port),
        "--app-protocol",
        "h2c",
        ...writeCredentials(tmp.dir, "interop", calleeCreds),
      ],
      START_MS,
    );
    tmp.write("caller.yaml", interopConfigYaml(callee.ports.inbound as number));
    caller = await startSidecar(
      [
        "--config",
        `${tmp.dir}/caller.yaml`,
        "--service",
        "web",
        "--namespace",
        "shop",
        "--app-port",
        "9",
        ...writeCredentials(tmp.dir, "web", callerCreds),
      ],
      START_MS,
    );
    grpcJs = grpcJsPath(loadInteropPackage(), `127.0.0.1:${caller.ports.outbound}`);
    mesh = await createMesh({
      service: "web-in-process",
      namespace: "shop",
      credentials: meshCreds,
      configFile: `${tmp.dir}/caller.yaml`,
    });
    inProcess = connectPath((s) => mesh.transportFor(s));
  }, 3 * START_MS);

  afterAll(async () => {
    grpcJs?.close();
    await mesh?.close({ graceMs: 0 });
    await Promise.all([caller?.stop(), callee?.stop()]);
    server?.close();
    tmp.remove();
  });

  describe(SIDECARS, () => {
    for (const c of grpcJsCases) it(c.name, () => reported(SIDECARS, c.name, () => c.run(grpcJs)));
  });

  describe(IN_PROCESS, () => {
    for (const c of connectCases) it(c.name, () => reported(IN_PROCESS, c.name, () => c.run(inProcess)));
  });

  describe(TO_IN_PROCESS, () => {
    let served: Mesh;
    let front: SidecarProcess;
    let toInProcess: GrpcJsPath & { close(): void };

    beforeAll(async () => {
      served = await createMesh({
        service: "interop",
        namespace: "shop",
        credentials: await workload(ca, "shop", "interop"),
        config: interopConfig(1),
        listen: { host: "127.0.0.1", port: 0 },
      });
      served.serve(TestService, connectTestService());
      tmp.write("to-in-process.yaml", interopConfigYaml(served.port as number));
      front = await startSidecar(
        [
          "--config",
          `${tmp.dir}/to-in-process.yaml`,
          "--service",
          "web-c",
          "--namespace",
          "shop",
          "--app-port",
          "9",
          ...writeCredentials(tmp.dir, "web-c", await workload(ca, "shop", "web-c")),
        ],
        START_MS,
      );
      toInProcess = grpcJsPath(loadInteropPackage(), `127.0.0.1:${front.ports.outbound}`);
    }, 2 * START_MS);

    afterAll(async () => {
      toInProcess?.close();
      await front?.stop();
      await served?.close({ graceMs: 0 });
    });

    for (const c of grpcJsCases) it(c.name, () => reported(TO_IN_PROCESS, c.name, () => c.run(toInProcess)));
  });
});
