import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_WARMUP_MS } from "@weft/control-plane";
import { CLIENT_SERVICE, labMeshYaml, MESH_NAMESPACE, SERVICE } from "./mesh-config.ts";
import { LabProcess } from "./process.ts";
import type { PodNet } from "./topology.ts";

export const CONTROL_PLANE_PORT = 15010;
/**
 * The control plane's default warm-up: after a restart, data planes holding a version get no
 * push until every one of them had time to reconnect (their backoff reaches 30 s).
 */
export const WARMUP_MS = DEFAULT_WARMUP_MS;
const PROGRAM = join(import.meta.dirname, "programs", "control-plane.ts");

export interface ControlPlaneOptions {
  /** Lifetime of the workload certificates it signs (the rotation scenario makes it short). */
  readonly leafTtlMs?: number;
}

/** The lab's control plane, a process in its own pod; crashed and restarted by scenario 3. */
export class LabControlPlane {
  readonly net: PodNet;
  readonly url: string;
  readonly #dir: string;
  readonly #options: ControlPlaneOptions;
  #process: LabProcess | undefined;
  #tokens: Record<string, string> = {};
  /** Connected data planes over time, as the control plane reported them. */
  readonly sessions: { at: number; count: number }[] = [];

  constructor(net: PodNet, dir: string, options: ControlPlaneOptions) {
    this.net = net;
    this.#dir = dir;
    this.#options = options;
    this.url = `http://${net.address}:${CONTROL_PLANE_PORT}`;
  }

  /** Starts it (the first time: writes the mesh configuration it applies). */
  async start(): Promise<void> {
    const config = join(this.#dir, "mesh.yaml");
    await writeFile(config, labMeshYaml());
    const p = await LabProcess.start(
      "control plane",
      [
        process.execPath,
        "--conditions=@weft/source",
        PROGRAM,
        "--data-dir",
        join(this.#dir, "control-plane"),
        "--host",
        this.net.address,
        "--port",
        String(CONTROL_PLANE_PORT),
        "--config",
        config,
        "--token-for",
        `${MESH_NAMESPACE}/${SERVICE}`,
        "--token-for",
        `${MESH_NAMESPACE}/${CLIENT_SERVICE}`,
        ...(this.#options.leafTtlMs ? ["--leaf-ttl-ms", String(this.#options.leafTtlMs)] : []),
      ],
      {
        ns: this.net.ns,
        isReady: (j) => j.msg === "lab control plane ready",
        onJson: (j) => {
          if (typeof j.sessions === "number" && typeof j.at === "number")
            this.sessions.push({ at: j.at, count: j.sessions });
        },
        timeoutMs: 40_000,
      },
    );
    this.#process = p;
    this.#tokens = { ...this.#tokens, ...(p.ready.tokens as Record<string, string>) };
  }

  /** A bootstrap token for a service account of the lab's mesh namespace. */
  token(serviceAccount: string): string {
    const t = this.#tokens[`${MESH_NAMESPACE}/${serviceAccount}`];
    if (!t) throw new Error(`the control plane issued no token for ${MESH_NAMESPACE}/${serviceAccount}`);
    return t;
  }

  /** Connected data planes now (the last count it reported; 0 while it is down). */
  get sessionCount(): number {
    return this.#process?.alive ? (this.sessions.at(-1)?.count ?? 0) : 0;
  }

  /** SIGKILL: the control plane vanishes without closing its streams. */
  async crash(): Promise<void> {
    await this.#process?.kill("SIGKILL");
    this.sessions.push({ at: Date.now(), count: 0 });
  }

  async stop(): Promise<void> {
    await this.#process?.kill("SIGTERM");
  }
}
