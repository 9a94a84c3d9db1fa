import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { type Clock, systemClock } from "@weft/core";
import { AdminService, DiscoveryService, IdentityService } from "@weft/core/model";
import { DATA_PLANE_RECONNECT_MAX_MS } from "@weft/core/transport";
import { adminService } from "../admin/admin-service.ts";
import { loadAdminToken, requireAdminToken } from "../admin/admin-token.ts";
import { type Dashboard, DEFAULT_DASHBOARD_PORT, startDashboard } from "../dashboard/index.ts";
import { discoveryService } from "../discovery/discovery-service.ts";
import { DiscoveryHub } from "../discovery/hub.ts";
import { loadMeshCa, type MeshCa, type MeshCaOptions } from "../identity/certificate-authority.ts";
import { identityService } from "../identity/identity-service.ts";
import type { KubernetesOptions } from "../kubernetes/kubernetes-source.ts";
import type { ConfigStore } from "../store/config-store.ts";
import { openFileStore } from "../store/file-store.ts";

export const DEFAULT_CONTROL_PLANE_PORT = 15010;
/** See ControlPlaneOptions.warmupMs. */
export const DEFAULT_WARMUP_MS = DATA_PLANE_RECONNECT_MAX_MS + 2_000;

export interface ControlPlaneOptions {
  /** Data directory of the default file store; ignored when `store` is given. */
  dataDir?: string;
  /** A store to use instead of the file store (it is not closed on close()). */
  store?: ConfigStore;
  /**
   * Default 127.0.0.1. The admin API asks for the admin token, but the API is plaintext:
   * listen beyond loopback only on a network where the token cannot be read in transit.
   */
  host?: string;
  /**
   * The admin API's bearer token. Default: the shared store's (etcd), else the one in
   * `<dataDir>/admin-token`, made on first start (mode 0600).
   */
  adminToken?: string;
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
   * only after this long, once the others had time to register again; until then they serve
   * what they hold. Default: the data planes' longest reconnect delay plus 2 s (32 s), so that
   * after an outage no data plane is told the endpoints of one not back yet are gone.
   * Data planes without a version are served at once, and the warm-up ends as soon as a
   * shared store (etcd) shows the registrations other replicas hold: the view is then whole.
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
  /**
   * Take the configuration from Kubernetes: Weft custom resources (deploy/crds) and the
   * EndpointSlices of the Services they define, watched; `weft apply` is then refused.
   */
  kubernetes?: KubernetesOptions;
  /**
   * Port of the dashboard (plain HTTP/1.1, same host). Default 15020, or a free port when
   * `port` is 0 (tests then never collide on it); 0 picks a free port; false serves none.
   */
  dashboardPort?: number | false;
}

export interface ControlPlane {
  /** `http://host:port`, what data planes and the CLI dial. */
  readonly url: string;
  readonly port: number;
  readonly hub: DiscoveryHub;
  readonly store: ConfigStore;
  /** The mesh CA: its trust anchors are what data planes must trust. */
  readonly ca: MeshCa;
  /** What the admin API asks for (`authorization: Bearer <token>`). */
  readonly adminToken: string;
  /** Where the token is kept for a local `weft` command; undefined when it was given. */
  readonly adminTokenFile: string | undefined;
  /** The dashboard page, `http://host:port/`; undefined when `dashboardPort` is false. */
  readonly dashboardUrl: string | undefined;
  close(): Promise<void>;
}

/**
 * Starts a control plane: Discovery and Admin services over HTTP/2 (h2c) on one port,
 * configuration from the store (the file store in `dataDir` by default).
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  let ownsStore = options.store === undefined;
  let store = options.store;
  if (!store) {
    if (!options.dataDir) throw new Error("startControlPlane needs a dataDir (or a store)");
    store = await openFileStore(options.dataDir);
  }
  if (options.kubernetes) {
    // Configuration from the cluster; the store above keeps tokens and closes with it.
    const { kubernetesStore } = await import("../kubernetes/kubernetes-store.ts");
    const tokens = store;
    store = await kubernetesStore(tokens, { clock: options.clock, ...options.kubernetes }, ownsStore).catch(
      async (e: unknown) => {
        if (ownsStore) await tokens.close();
        throw e;
      },
    );
    ownsStore = true;
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
    warmupMs: options.warmupMs ?? DEFAULT_WARMUP_MS,
    wallClock: Date.now,
  });
  const initial = await store.get();
  hub.setConfig(initial.revision, initial.config);
  hub.flush();
  const unwatch = store.watch((stored) => hub.setConfig(stored.revision, stored.config));
  // Replicas sharing a store (etcd) share their data planes' registrations too.
  const detachRegistrations = await store.registrations?.attach(hub);

  const configStore = store;
  const ca = await loadMeshCa({
    trustDomain: options.trustDomain ?? "weft.local",
    dataDir: options.dataDir,
    shared: store.sharedCa?.bind(store),
    ...options.ca,
  });
  const admin = await loadAdminToken({
    given: options.adminToken,
    dataDir: options.dataDir,
    shared: store.sharedAdminToken?.bind(store),
  });
  const tokenHint = admin.file
    ? `the control plane keeps it in ${admin.file} (set WEFT_ADMIN_TOKEN or --admin-token-file)`
    : "ask whoever started the control plane for it (set WEFT_ADMIN_TOKEN or --admin-token-file)";
  const handler = connectNodeAdapter({
    // Compressing every push to a thousand data planes costs more CPU than anything else
    // the control plane does; only a snapshot big enough to matter on the wire is compressed.
    compressMinBytes: 64 * 1024,
    routes: (router) => {
      router.service(DiscoveryService, discoveryService(hub));
      router.service(AdminService, adminService(configStore, hub, { trustDomain: ca.trustDomain }), {
        interceptors: [requireAdminToken(admin.token, tokenHint)],
      });
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
    await detachRegistrations?.();
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

  let dashboard: Dashboard | undefined;
  const dashboardPort = options.dashboardPort ?? (options.port === 0 ? 0 : DEFAULT_DASHBOARD_PORT);
  if (dashboardPort !== false) {
    try {
      dashboard = await startDashboard(hub, { host, port: dashboardPort, clock });
    } catch (e) {
      if (pinger) clearInterval(pinger);
      unwatch();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.destroy();
      await closed;
      await detachRegistrations?.();
      hub.shutdown();
      if (ownsStore) await store.close();
      throw e;
    }
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    hub,
    store,
    ca,
    adminToken: admin.token,
    adminTokenFile: admin.file,
    dashboardUrl: dashboard?.url,
    close() {
      closing ??= (async () => {
        await dashboard?.close();
        if (pinger) clearInterval(pinger);
        unwatch();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sessions) s.destroy();
        await closed;
        await detachRegistrations?.();
        hub.shutdown();
        if (ownsStore) await configStore.close();
      })();
      return closing;
    },
  };
}
