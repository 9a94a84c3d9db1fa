/**
 * Simulated data planes for the fan-out test and benchmark: `count` clients in one
 * process, each on its own HTTP/2 connection like real data planes, spread over
 * `services` services, each depending on the next one (a scoped snapshot per service).
 */
import { connectDataPlane, type DataPlaneClient } from "@weft/core/transport";

export interface FleetOptions {
  url: string;
  count: number;
  /** Distinct services; data planes are spread over them round-robin. Default 20. */
  services?: number;
  /** Connections opened at once, to stay under the listen backlog. Default 100. */
  batch?: number;
  timeoutMs?: number;
}

export interface Fleet {
  readonly clients: DataPlaneClient[];
  /** How many data planes accepted a version of the given config revision. */
  acceptedRevision(revision: string): number;
  close(): Promise<void>;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const services = options.services ?? 20;
  const batch = options.batch ?? 100;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const clients: DataPlaneClient[] = [];
  for (let start = 0; start < options.count; start += batch) {
    const end = Math.min(options.count, start + batch);
    for (let i = start; i < end; i++) {
      const k = i % services;
      clients.push(
        connectDataPlane({
          url: options.url,
          registration: {
            service: `svc-${k}`,
            namespace: "bench",
            instanceId: `dp-${i}`,
            addresses: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
            port: 15008,
            dependencies: [`svc-${(k + 1) % services}`],
          },
          backoff: { baseMs: 50, maxMs: 1000 },
          onSnapshot: () => {},
        }),
      );
    }
    await until(
      () => clients.every((c) => c.version !== undefined),
      deadline,
      `${end} data planes to connect`,
    );
  }
  return {
    clients,
    acceptedRevision: (revision) => clients.filter((c) => c.version?.startsWith(`${revision}-`)).length,
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

export async function until(check: () => boolean, deadline: number, what: string): Promise<void> {
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A config that touches every scope: `n` services plus mesh defaults that differ by `stamp`. */
export function fleetConfigYaml(services: number, stamp: number): string {
  const docs = [
    `apiVersion: weft.dev/v1\nkind: Mesh\nspec:\n  defaults:\n    timeout: { request: ${1000 + stamp}ms }\n`,
  ];
  for (let k = 0; k < services; k++)
    docs.push(
      `apiVersion: weft.dev/v1\nkind: Service\nmetadata: { name: svc-${k}, namespace: bench }\nspec:\n  mode: SIDECAR\n  ports: [{ port: 8080, protocol: HTTP2 }]\n`,
    );
  return docs.join("---\n");
}
