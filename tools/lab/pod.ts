import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { LoadGenerator } from "./load.ts";
import { CLIENT_SERVICE, MESH_NAMESPACE, SERVICE, SERVICE_PORT } from "./mesh-config.ts";
import { LabProcess } from "./process.ts";
import type { PodNet } from "./topology.ts";

const run = promisify(execFile);
const here = import.meta.dirname;
export const SIDECAR_PROGRAM = join(here, "..", "..", "packages", "sidecar", "dist", "weft-sidecar.mjs");
const ADMIN = "127.0.0.1:15020";

/** What every sidecar of the lab is told about its control plane. */
export interface MeshAccess {
  readonly controlPlaneUrl: string;
  readonly token: (serviceAccount: string) => string;
  /** The lab's temporary directory: each sidecar keeps its snapshot and certificate under it. */
  readonly dir: string;
}

/**
 * The pod's iptables capture, as `weft-sidecar iptables --apply` writes it: all TCP of every
 * uid but the sidecar's (root) to the outbound port, inbound TCP to the mesh port.
 */
async function applyCapture(net: PodNet): Promise<void> {
  try {
    await run(
      "ip",
      ["netns", "exec", net.ns, process.execPath, SIDECAR_PROGRAM, "iptables", "--apply", "--uid", "0"],
      {
        timeout: 20_000,
      },
    );
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`iptables capture in ${net.ns} failed: ${(err.stderr || err.message).trim()}`);
  }
}

/** weft-sidecar in transparent mode, joined to the control plane with a bootstrap token. */
async function startSidecar(
  net: PodNet,
  service: string,
  appPort: number,
  access: MeshAccess,
): Promise<{ process: LabProcess; dataDir: string }> {
  const dataDir = join(access.dir, net.name);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const sidecar = await LabProcess.start(
    `${net.name} sidecar`,
    [
      process.execPath,
      SIDECAR_PROGRAM,
      "run",
      "--service",
      service,
      "--namespace",
      MESH_NAMESPACE,
      "--app-port",
      String(appPort),
      "--inbound",
      `${net.address}:15008`,
      "--outbound",
      "0.0.0.0:15001",
      "--admin",
      ADMIN,
      "--transparent",
      "--drain-ms",
      "1000",
      "--data-dir",
      dataDir,
      "--control-plane",
      access.controlPlaneUrl,
      "--token",
      access.token(service),
    ],
    { ns: net.ns, isReady: (j) => j.msg === "weft-sidecar started" },
  );
  return { process: sidecar, dataDir };
}

/** The sidecar admin's Prometheus text (read inside the pod's namespace). */
export async function sidecarMetrics(net: PodNet): Promise<string> {
  const { stdout } = await run(
    "ip",
    ["netns", "exec", net.ns, "curl", "-sS", "--max-time", "3", `http://${ADMIN}/metrics`],
    { timeout: 5_000 },
  );
  return stdout;
}

/** The sum over every series of one metric in Prometheus text. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== "{" && rest[0] !== " ") continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

/**
 * The serial of the workload certificate a sidecar holds now: it keeps its current
 * credentials in its data directory (for restarts with the control plane down).
 */
export async function certificateSerial(dataDir: string): Promise<string | undefined> {
  try {
    const raw = JSON.parse(await readFile(join(dataDir, "workload-credentials.json"), "utf8")) as {
      chain?: string;
    };
    const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(raw.chain ?? "")?.[0];
    return leaf ? new X509Certificate(leaf).serialNumber : undefined;
  } catch {
    return undefined;
  }
}

/** A replica of the service: the echo app (as the app user) and its sidecar. */
export class ServicePod {
  readonly net: PodNet;
  readonly replica: string;
  app: LabProcess;
  sidecar: LabProcess;
  readonly dataDir: string;

  private constructor(net: PodNet, replica: string, app: LabProcess, sidecar: LabProcess, dataDir: string) {
    this.net = net;
    this.replica = replica;
    this.app = app;
    this.sidecar = sidecar;
    this.dataDir = dataDir;
  }

  static async start(net: PodNet, access: MeshAccess): Promise<ServicePod> {
    await applyCapture(net);
    const replica = net.name;
    const app = await LabProcess.start(
      `${replica} app`,
      [
        process.execPath,
        join(here, "programs", "echo-app.ts"),
        "--port",
        String(SERVICE_PORT),
        "--replica",
        replica,
      ],
      { ns: net.ns, asApp: true, isReady: (j) => j.msg === "echo app ready" },
    );
    try {
      const { process: sidecar, dataDir } = await startSidecar(net, SERVICE, SERVICE_PORT, access);
      return new ServicePod(net, replica, app, sidecar, dataDir);
    } catch (e) {
      await app.kill("SIGKILL");
      throw e;
    }
  }

  /** Every answer of the app `ms` slower from now on. */
  setDelay(ms: number): void {
    this.app.send(`delay ${ms}`);
  }

  /** SIGKILL to the app and the sidecar at once: a crashed pod, no goodbye to anyone. */
  async crash(): Promise<void> {
    await Promise.all([this.sidecar.kill("SIGKILL"), this.app.kill("SIGKILL")]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.sidecar.kill("SIGTERM"), this.app.kill("SIGTERM")]);
  }

  /** The serial of the workload certificate its sidecar holds now. */
  certificateSerial(): Promise<string | undefined> {
    return certificateSerial(this.dataDir);
  }
}

/** The client pod: the load generator (as the app user, so its calls are captured) and its sidecar. */
export class ClientPod {
  readonly net: PodNet;
  readonly sidecar: LabProcess;
  readonly app: LabProcess;
  readonly load: LoadGenerator;
  readonly dataDir: string;

  private constructor(
    net: PodNet,
    sidecar: LabProcess,
    app: LabProcess,
    load: LoadGenerator,
    dataDir: string,
  ) {
    this.net = net;
    this.dataDir = dataDir;
    this.sidecar = sidecar;
    this.app = app;
    this.load = load;
  }

  /**
   * `serviceAddress` is what the app dials (`http://<serviceAddress>:8080/`, Host: echo): an
   * unused address on the bridge, like a cluster IP; capture takes the connection before any
   * packet leaves the pod, and the sidecar routes it by its Host to the service's endpoints.
   */
  static async start(net: PodNet, access: MeshAccess, serviceAddress: string): Promise<ClientPod> {
    await applyCapture(net);
    const { process: sidecar, dataDir } = await startSidecar(net, CLIENT_SERVICE, 9, access);
    let load: LoadGenerator | undefined;
    try {
      const app = await LabProcess.start(
        "client load generator",
        [
          process.execPath,
          join(here, "programs", "load.ts"),
          "--url",
          `http://${serviceAddress}:${SERVICE_PORT}/echo`,
          "--host",
          SERVICE,
        ],
        { ns: net.ns, asApp: true, isReady: (j) => j.msg === "load ready", onJson: (j) => load?.take(j) },
      );
      load = new LoadGenerator(app);
      return new ClientPod(net, sidecar, app, load, dataDir);
    } catch (e) {
      await sidecar.kill("SIGKILL");
      throw e;
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.app.kill("SIGTERM"), this.sidecar.kill("SIGTERM")]);
  }
}
