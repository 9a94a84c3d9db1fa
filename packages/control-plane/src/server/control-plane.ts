import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { type Clock, systemClock } from "@weft/core";
import { AdminService, DiscoveryService, IdentityService } from "@weft/core/model";
import { adminService } from "../admin/admin-service.ts";
import { discoveryService } from "../discovery/discovery-service.ts";
import { DiscoveryHub } from "../discovery/hub.ts";
import { loadMeshCa, type MeshCa, type MeshCaOptions } from "../identity/certificate-authority.ts";
import { identityService } from "../identity/identity-service.ts";
import type { ConfigStore } from "../store/config-store.ts";
import { openFileStore } from "../store/file-store.ts";

export const DEFAULT_CONTROL_PLANE_PORT = 15010;

export interface ControlPlaneOptions {
  /** Data directory of the default file store; ignored when `store` is given. */
  dataDir?: string;
  /** A store to use instead of the file store (it is not closed on close()). */
  store?: ConfigStore;
  /** Default 127.0.0.1: the API is plaintext and unauthenticated until mTLS lands. */
  host?: string;
  /** Default 15010; 0 picks a free port. */
  port?: number;
  /** How long an endpoint outlives its discovery stream. Default 10 s. */
  graceMs?: number;
  /** Changes closer together than this are pushed once. Default 5 ms. */
  debounceMs?: number;
  /** Upper bound on how long a steady stream of changes waits. Default 100 ms. */
  maxDelayMs?: number;
  /** Endpoint changes closer together than this are pushed once. Default 100 ms. */
  endpointDebounceMs?: number;
  /** Upper bound on how long a steady stream of endpoint changes waits. Default 1 s. */
  endpointMaxDelayMs?: number;
  /**
   * After a (re)start, data planes that reconnect holding a version get their first push
   * only after this long, once the others had time to register again. Default 2 s.
   */
  warmupMs?: number;
  /** HTTP/2 PING interval that finds dead data planes (their lease then runs out). Default 15 s; 0 disables. */
  keepaliveMs?: number;
  clock?: Clock;
  /** How this replica names itself in ProxyStatus. Default `<hostname>:<port>`. */
  replica?: string;
  /** Trust domain of the identities the CA issues. Default weft.local. */
  trustDomain?: string;
  /** The CA: a user's certificate and key (PEM), else one kept in dataDir. */
  ca?: Omit<MeshCaOptions, "trustDomain" | "dataDir">;
  /** Lifetime of the workload certificates the CA signs. Default 24 h. */
  leafTtlMs?: number;
}

export interface ControlPlane {
  /** `http://host:port`, what data planes and the CLI dial. */
  readonly url: string;
  readonly port: number;
  readonly hub: DiscoveryHub;
  readonly store: ConfigStore;
  /** The mesh CA: its trust anchors are what data planes must trust. */
  readonly ca: MeshCa;
  close(): Promise<void>;
}

/**
 * Starts a control plane: Discovery and Admin services over HTTP/2 (h2c) on one port,
 * configuration from the store (the file store in `dataDir` by default).
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const ownsStore = options.store === undefined;
  let store = options.store;
  if (!store) {
    if (!options.dataDir) throw new Error("startControlPlane needs a dataDir (or a store)");
    store = await openFileStore(options.dataDir);
  }
  const host = options.host ?? "127.0.0.1";
  const clock = options.clock ?? systemClock;
  const hub = new DiscoveryHub({
    clock,
    graceMs: options.graceMs ?? 10_000,
    debounceMs: options.debounceMs ?? 5,
    maxDelayMs: options.maxDelayMs ?? 100,
    endpointDebounceMs: options.endpointDebounceMs ?? 100,
    endpointMaxDelayMs: options.endpointMaxDelayMs ?? 1000,
    warmupMs: options.warmupMs ?? 2000,
    wallClock: Date.now,
  });
  const initial = await store.get();
  hub.setConfig(initial.revision, initial.config);
  hub.flush();
  const unwatch = store.watch((stored) => hub.setConfig(stored.revision, stored.config));

  const configStore = store;
  const ca = await loadMeshCa({
    trustDomain: options.trustDomain ?? "weft.local",
    dataDir: options.dataDir,
    ...options.ca,
  });
  const handler = connectNodeAdapter({
    // Compressing every push to a thousand data planes costs more CPU than anything else
    // the control plane does; only a snapshot big enough to matter on the wire is compressed.
    compressMinBytes: 64 * 1024,
    routes: (router) => {
      router.service(DiscoveryService, discoveryService(hub));
      router.service(AdminService, adminService(configStore, hub));
      router.service(IdentityService, identityService(ca, configStore, { leafTtlMs: options.leafTtlMs }));
    },
  });
  const server = http2.createServer({}, handler);
  const sessions = new Set<http2.Http2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    // A half-open connection would otherwise hold its lease forever.
    s.on("error", () => s.destroy());
  });
  const keepaliveMs = options.keepaliveMs ?? 15_000;
  const pinger =
    keepaliveMs > 0
      ? setInterval(() => {
          for (const s of sessions) {
            if (s.destroyed || s.closed) continue;
            const timer = setTimeout(() => s.destroy(), keepaliveMs);
            timer.unref();
            s.ping((err) => {
              clearTimeout(timer);
              if (err) s.destroy();
            });
          }
        }, keepaliveMs)
      : undefined;
  pinger?.unref();

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? DEFAULT_CONTROL_PLANE_PORT, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    unwatch();
    hub.shutdown();
    if (ownsStore) await store.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new Error(
        `port ${options.port} on ${host} is in use (another control plane?); pick another --port`,
      );
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  hub.replica = options.replica ?? `${hostname()}:${port}`;
  const urlHost =
    host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    hub,
    store,
    ca,
    close() {
      closing ??= (async () => {
        if (pinger) clearInterval(pinger);
        unwatch();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sessions) s.destroy();
        await closed;
        hub.shutdown();
        if (ownsStore) await configStore.close();
      })();
      return closing;
    },
  };
}
