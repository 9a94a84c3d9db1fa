import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabControlPlane } from "./control-plane.ts";
import { SERVICE } from "./mesh-config.ts";
import { ClientPod, type MeshAccess, ServicePod } from "./pod.ts";
import { SUBNET, Topology } from "./topology.ts";

/** Host numbers on the bridge's subnet. */
const CONTROL_PLANE_HOST = 2;
const CLIENT_HOST = 10;
const FIRST_REPLICA_HOST = 21;
/** What the client dials: on the bridge's subnet, held by no pod (capture takes it first). */
const SERVICE_HOST = 250;

export interface LabOptions {
  /** Replicas of the service at the start. */
  readonly replicas: number;
  /** Workload certificate lifetime the control plane signs with (default 24 h). */
  readonly leafTtlMs?: number;
  readonly log: (line: string) => void;
  /** Aborts the scenario; the lab is still torn down. */
  readonly signal?: AbortSignal;
}

/** A running lab: the network, the control plane, the replicas and the client. */
export class Lab {
  readonly topology = new Topology();
  readonly dir: string;
  readonly options: LabOptions;
  cp!: LabControlPlane;
  client!: ClientPod;
  readonly replicas: ServicePod[] = [];
  readonly #started = performance.now();

  private constructor(dir: string, options: LabOptions) {
    this.dir = dir;
    this.options = options;
  }

  log(line: string): void {
    this.options.log(`[${((performance.now() - this.#started) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  }

  /** Sleeps `ms`; throws if the scenario is aborted meanwhile. */
  sleep(ms: number): Promise<void> {
    const signal = this.options.signal;
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new Error("aborted"));
      const t = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(new Error("aborted"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  get access(): MeshAccess {
    return { controlPlaneUrl: this.cp.url, token: (sa) => this.cp.token(sa), dir: this.dir };
  }

  /** Starts one more replica of the service (a pod of its own with the next address). */
  async addReplica(): Promise<ServicePod> {
    const n = this.replicas.length + 1;
    const net = await this.topology.addPod(`${SERVICE}-${n}`, FIRST_REPLICA_HOST + n - 1);
    const pod = await ServicePod.start(net, this.access);
    this.replicas.push(pod);
    return pod;
  }

  /**
   * Builds a lab, runs `body` in it, and tears it all down whatever happens: processes
   * stopped, namespaces and bridge deleted, temporary directory removed. Leftovers of an
   * earlier lab are removed first.
   */
  static async run<T>(options: LabOptions, body: (lab: Lab) => Promise<T>): Promise<T> {
    const lab = new Lab(await mkdtemp(join(tmpdir(), "weft-lab-")), options);
    try {
      await lab.#build();
      return await body(lab);
    } finally {
      await lab.#teardown();
    }
  }

  async #build(): Promise<void> {
    const { replicas, leafTtlMs } = this.options;
    await this.topology.create();
    this.log(`network: bridge ${this.topology.bridge} in ${this.topology.hub}, subnet ${SUBNET}.0/24`);
    const cpNet = await this.topology.addPod("cp", CONTROL_PLANE_HOST);
    this.cp = new LabControlPlane(cpNet, this.dir, { leafTtlMs });
    await this.cp.start();
    this.log(`control plane ${this.cp.url} in ${cpNet.ns}`);
    // One at a time: on a small machine, booting several Node programs at once starves them all.
    for (let i = 0; i < replicas; i++) {
      const pod = await this.addReplica();
      this.log(`${pod.replica}: ${pod.net.address}, app and weft-sidecar (transparent) in ${pod.net.ns}`);
    }
    const clientNet = await this.topology.addPod("client", CLIENT_HOST);
    this.client = await ClientPod.start(clientNet, this.access, `${SUBNET}.${SERVICE_HOST}`);
    this.log(
      `client: ${clientNet.address}, load generator and weft-sidecar (transparent) in ${clientNet.ns}`,
    );
    await this.client.load.warm(replicas);
    this.log(`client reaches all ${replicas} replicas through the mesh`);
  }

  async #teardown(): Promise<void> {
    const stops: Promise<void>[] = [];
    if (this.client) stops.push(this.client.stop());
    for (const r of this.replicas) stops.push(r.stop());
    if (this.cp) stops.push(this.cp.stop());
    await Promise.allSettled(stops);
    await this.topology.destroy();
    await rm(this.dir, { recursive: true, force: true });
    this.log("torn down: processes stopped, namespaces and bridge deleted");
  }
}
