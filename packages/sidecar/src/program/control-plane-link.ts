import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { trafficReporter } from "@weft/core";
import { MeshConfigSchema, Mode } from "@weft/core/model";
import {
  CertificateRotator,
  connectDataPlane,
  type DataPlaneClient,
  type IssuedCredentials,
} from "@weft/core/transport";
import type { Snapshot, SnapshotCache } from "../snapshot/snapshot-cache.ts";

/** How a sidecar reaches its control plane. */
export interface ControlPlaneLinkOptions {
  /** One or more replicas, e.g. `http://127.0.0.1:15010`. */
  readonly urls: readonly string[];
  /** Bootstrap credential from `weft token create`. */
  readonly token: string;
  readonly service: string;
  readonly namespace: string;
  readonly trustDomain?: string;
}

/**
 * Gets the sidecar's first workload certificate from the mesh CA (key made here, CSR with the
 * bootstrap token) and keeps renewing it at about half-life, proving possession of the one in
 * use; each renewal is handed to `onRenewed`, which puts it in use for new connections.
 * `onBootstrapFallback` hears when the certificate expired unrenewed and the token is sent again.
 */
export async function workloadCertificate(
  options: ControlPlaneLinkOptions & { readonly dataDir?: string },
  onRenewed: (credentials: IssuedCredentials) => void,
  onError: (error: unknown, retryInMs: number) => void,
  onBootstrapFallback?: (expiredAt: Date) => void,
): Promise<CertificateRotator> {
  let first = true;
  const url = options.urls[0];
  if (!url) throw new Error("--control-plane: no URL given");
  const file = options.dataDir ? join(options.dataDir, "workload-credentials.json") : undefined;
  const cached = file ? await readCredentials(file) : undefined;
  return CertificateRotator.start(
    {
      url,
      credential: options.token,
      spiffeId: `spiffe://${options.trustDomain ?? "weft.local"}/ns/${options.namespace}/sa/${options.service}`,
      onCredentials: (c) => {
        if (file) void writeCredentials(file, c);
        if (first) first = false;
        else onRenewed(c);
      },
      onError,
      onBootstrapFallback,
    },
    cached,
  );
}

/**
 * The last certificate and its key are kept in the data directory, readable by this user
 * only, so a sidecar restarted while the control plane is down still proves who it is until
 * the certificate expires (static stability).
 */
async function writeCredentials(file: string, c: IssuedCredentials): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify({ ...c, notAfter: c.notAfter.toISOString() }), { mode: 0o600 });
  await rename(tmp, file);
}

async function readCredentials(file: string): Promise<IssuedCredentials | undefined> {
  try {
    const raw = JSON.parse(await readFile(file, "utf8")) as Omit<IssuedCredentials, "notAfter"> & {
      notAfter: string;
    };
    return { ...raw, notAfter: new Date(raw.notAfter) };
  } catch {
    return undefined;
  }
}

/** What the link drives: the sidecar's data plane, and where it serves. */
export interface LinkedSidecar {
  applySnapshot(snapshot: Snapshot, source: string): Promise<void>;
  readonly plane: { readonly metrics: Parameters<typeof trafficReporter>[0] };
}

/**
 * Follows the control plane: registers the sidecar's inbound port as an endpoint of its
 * service, applies each pushed version (ACK) or refuses it with the reason (NACK, the
 * previous version stays), caches every accepted version on disk so a restart with the
 * control plane down serves from it, and reports traffic.
 */
export function followControlPlane(
  sidecar: LinkedSidecar,
  options: ControlPlaneLinkOptions & {
    readonly inboundAddress: string;
    readonly inboundPort: number;
    readonly instanceId: string;
    readonly zone?: string;
    readonly cache?: SnapshotCache;
    readonly cached?: Snapshot;
    readonly certificateExpiry?: Date;
  },
): DataPlaneClient {
  return connectDataPlane({
    url: options.urls,
    registration: {
      service: options.service,
      namespace: options.namespace,
      instanceId: options.instanceId,
      addresses: [options.inboundAddress],
      port: options.inboundPort,
      mode: Mode.SIDECAR,
      zone: options.zone ?? "",
      certificateExpiry: options.certificateExpiry
        ? { seconds: BigInt(Math.floor(options.certificateExpiry.getTime() / 1000)), nanos: 0 }
        : undefined,
    },
    cached: options.cached
      ? {
          version: options.cached.version,
          snapshot: { $typeName: "weft.v1.Snapshot", config: options.cached.config },
        }
      : undefined,
    onSnapshot: async (snapshot, info) => {
      const next: Snapshot = { version: info.version, config: snapshot.config ?? create(MeshConfigSchema) };
      await sidecar.applySnapshot(next, "control-plane");
      await options.cache?.save(next);
    },
    traffic: trafficReporter(sidecar.plane.metrics),
  });
}
