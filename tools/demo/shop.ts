import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Http2SessionManager } from "@connectrpc/connect-node";
import { type ControlPlane, createAdminClient, startControlPlane } from "@weft/control-plane";
import { EndpointSchema, type MeshConfig, ServiceEndpointsSchema } from "@weft/core/model";
import { loadMeshConfigFiles } from "@weft/core/node";
import { bootstrapToken, type WorkloadFiles, workloadFiles } from "./pki.ts";
import type { Child, Processes } from "./processes.ts";

export const root = join(import.meta.dirname, "..", "..");
export const meshYaml = join(root, "examples", "mesh.yaml");
const shopSrc = join(root, "examples", "shop", "src");

/** The workspace's weft-sidecar program, as its package.json names it. */
function sidecarProgram(): string {
  const dir = join(root, "node_modules", "@weft", "sidecar");
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { bin?: Record<string, string> };
  const bin = pkg.bin?.["weft-sidecar"];
  if (!bin) throw new Error(`${dir}/package.json names no "weft-sidecar" program`);
  return join(dir, bin);
}

/** A service in sidecar mode: its app and its weft-sidecar, two processes (a "pod"). */
export interface SidecarWorkload {
  readonly name: string;
  readonly service: string;
  readonly appProtocol: "http1" | "h2c";
  readonly appArgs: (port: number) => string[];
  readonly files: WorkloadFiles;
  app: Child;
  sidecar: Child;
  appPort: number;
  inboundPort: number;
  adminPort: number;
  /** Times it was started (2 after the scripted restart). */
  starts: number;
}

export interface Shop {
  readonly cp: ControlPlane;
  readonly catalog: SidecarWorkload;
  readonly inventory: readonly SidecarWorkload[];
  readonly orders: Child;
  readonly configVersion: string;
  /** Kills a workload's app and sidecar (SIGKILL), as a crashed pod. */
  crash(w: SidecarWorkload): Promise<void>;
  /** Starts it again on the same ports. */
  restart(w: SidecarWorkload): Promise<void>;
  tokenFor(serviceAccount: string): Promise<string>;
}

const NS = "shop";

/**
 * Starts the example shop: the control plane (embedded file store in `dir`), the catalog
 * (REST) and two inventory replicas (gRPC), each behind a weft-sidecar with a certificate
 * from the control plane's CA, then examples/mesh.yaml plus their endpoints applied through
 * the admin API, then the orders service (in-process mesh, joining through the control plane).
 */
export async function startShop(
  dir: string,
  processes: Processes,
  log: (s: string) => void,
  onUnexpectedExit: (child: Child, code: number | null, signal: string | null) => void,
): Promise<Shop> {
  const cp = await startControlPlane({ dataDir: join(dir, "control-plane"), port: 0, warmupMs: 0 });
  log(`control plane ${cp.url} (store ${join(dir, "control-plane")})`);
  const sidecar = sidecarProgram();

  const startWorkload = async (w: SidecarWorkload, fixedPorts: boolean) => {
    w.app = await processes.start(`${w.name} app`, w.appArgs(fixedPorts ? w.appPort : 0), {
      isReady: (j) => typeof j.port === "number",
      onUnexpectedExit,
      bootNice: fixedPorts ? 15 : 0,
    });
    w.appPort = w.app.ready.port as number;
    w.sidecar = await processes.start(
      `${w.name} sidecar`,
      [
        sidecar,
        "run",
        "--config",
        meshYaml,
        "--service",
        w.service,
        "--namespace",
        NS,
        "--app-port",
        String(w.appPort),
        "--app-protocol",
        w.appProtocol,
        "--inbound",
        `127.0.0.1:${fixedPorts ? w.inboundPort : 0}`,
        "--outbound",
        "127.0.0.1:0",
        "--admin",
        `127.0.0.1:${fixedPorts ? w.adminPort : 0}`,
        "--drain-ms",
        "1000",
        "--cert",
        w.files.cert,
        "--key",
        w.files.key,
        "--ca",
        w.files.ca,
      ],
      { isReady: (j) => j.msg === "weft-sidecar started", onUnexpectedExit, bootNice: fixedPorts ? 15 : 0 },
    );
    const ports = w.sidecar.ready.ports as Record<string, number>;
    w.inboundPort = ports.inbound ?? 0;
    w.adminPort = ports.admin ?? 0;
    w.starts++;
  };

  const workload = async (
    name: string,
    service: string,
    appProtocol: "http1" | "h2c",
    appArgs: (port: number) => string[],
  ): Promise<SidecarWorkload> => {
    const w = {
      name,
      service,
      appProtocol,
      appArgs,
      files: await workloadFiles(cp, dir, name, { namespace: NS, serviceAccount: service }),
      appPort: 0,
      inboundPort: 0,
      adminPort: 0,
      starts: 0,
    } as SidecarWorkload;
    await startWorkload(w, false);
    log(`${name}: app :${w.appPort}, sidecar inbound :${w.inboundPort} (mTLS as ${w.files.spiffeId})`);
    return w;
  };

  const [catalog, ...inventory] = await Promise.all([
    workload("catalog", "catalog", "http1", (port) => [
      join(shopSrc, "catalog", "server.ts"),
      "--port",
      String(port),
    ]),
    ...["inventory-1", "inventory-2"].map((replica) =>
      workload(replica, "inventory", "h2c", (port) => [
        join(shopSrc, "inventory", "server.ts"),
        "--port",
        String(port),
        "--replica",
        replica,
      ]),
    ),
  ]);
  if (!catalog) throw new Error("the catalog did not start");

  const config = await loadMeshConfigFiles([meshYaml]);
  addEndpoints(config, "catalog", [catalog]);
  addEndpoints(config, "inventory", inventory);
  const configVersion = await applyConfig(cp, config);
  log(`applied ${meshYaml} + endpoints through the admin API: version ${configVersion}`);

  const orders = await processes.start("orders", [join(shopSrc, "orders", "main.ts")], {
    env: { WEFT_CONTROL_PLANE: cp.url, WEFT_TOKEN: await bootstrapToken(cp, NS, "orders") },
    isReady: (j) => j.msg === "orders ready",
    onUnexpectedExit,
  });
  return {
    cp,
    catalog,
    inventory,
    orders,
    configVersion,
    crash: async (w) => {
      await Promise.all([processes.crash(w.sidecar), processes.crash(w.app)]);
    },
    restart: (w) => startWorkload(w, true),
    tokenFor: (sa) => bootstrapToken(cp, NS, sa),
  };
}

function addEndpoints(config: MeshConfig, service: string, workloads: readonly SidecarWorkload[]): void {
  config.endpoints.push(
    create(ServiceEndpointsSchema, {
      service,
      namespace: NS,
      endpoints: workloads.map((w) =>
        create(EndpointSchema, { address: "127.0.0.1", port: w.inboundPort, instance: w.name }),
      ),
    }),
  );
}

/** `weft apply`, through the admin API; resolves with the configuration version. */
async function applyConfig(cp: ControlPlane, config: MeshConfig): Promise<string> {
  const sessionManager = new Http2SessionManager(cp.url);
  try {
    const admin = createAdminClient(cp, { sessionManager, timeoutMs: 10_000 });
    return (await admin.apply({ config })).version;
  } finally {
    sessionManager.abort();
  }
}
