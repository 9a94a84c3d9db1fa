import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  type AdminService,
  DiscoveryService,
  type RegistrationSchema,
  type Snapshot,
} from "@weft/core/model";
import {
  connectDataPlane,
  type DataPlaneClient,
  type DataPlaneEvent,
  type PushInfo,
} from "@weft/core/transport";
import { type AdminTarget, createAdminClient } from "../src/admin/admin-client.ts";
import {
  type ControlPlane,
  type ControlPlaneOptions,
  startControlPlane,
} from "../src/server/control-plane.ts";
import { adminTokens } from "./weft-cli.ts";

/** Things a test opened, closed in reverse order in afterEach. */
export class Resources {
  private readonly closers: (() => Promise<unknown>)[] = [];

  add<T>(closer: () => Promise<unknown>, value: T): T {
    this.closers.push(closer);
    return value;
  }

  async tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "weft-cp-"));
    return this.add(() => rm(dir, { recursive: true, force: true }), dir);
  }

  async controlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
    const cp = await startControlPlane({
      host: "127.0.0.1",
      port: 0,
      keepaliveMs: 0,
      warmupMs: 0,
      ...options,
    });
    adminTokens.set(cp.url, cp.adminToken);
    return this.add(() => cp.close(), cp);
  }

  dataPlane(
    url: string,
    registration: MessageInitShape<typeof RegistrationSchema>,
    onSnapshot: (s: Snapshot, info: PushInfo) => void | Promise<void> = () => {},
  ): TestDataPlane {
    const dp = new TestDataPlane(url, registration, onSnapshot);
    return this.add(() => dp.client.close(), dp);
  }

  /** An admin API client presenting the control plane's admin token; closed in teardown. */
  admin(cp: AdminTarget): Client<typeof AdminService> {
    const sessionManager = new Http2SessionManager(cp.url);
    this.add(async () => sessionManager.abort(), undefined);
    return createAdminClient(cp, { sessionManager });
  }

  /** A raw discovery client, for speaking the protocol by hand. */
  discovery(url: string): Client<typeof DiscoveryService> {
    return createClient(DiscoveryService, this.transport(url));
  }

  private transport(url: string) {
    const sessionManager = new Http2SessionManager(url);
    this.add(async () => sessionManager.abort(), undefined);
    return createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true, sessionManager });
  }

  async closeAll(): Promise<void> {
    const all = this.closers.splice(0).reverse();
    for (const c of all) await c();
  }
}

/** A data-plane client that records what happened to it, for tests to wait on. */
export class TestDataPlane {
  readonly client: DataPlaneClient;
  readonly events: DataPlaneEvent[] = [];
  readonly applied: { version: string; kind: PushInfo["kind"]; snapshot: Snapshot }[] = [];

  constructor(
    url: string,
    registration: MessageInitShape<typeof RegistrationSchema>,
    onSnapshot: (s: Snapshot, info: PushInfo) => void | Promise<void>,
  ) {
    this.client = connectDataPlane({
      url,
      registration,
      backoff: { baseMs: 20, maxMs: 200 },
      onEvent: (e) => this.events.push(e),
      onSnapshot: async (snapshot, info) => {
        await onSnapshot(snapshot, info);
        this.applied.push({ ...info, snapshot });
      },
    });
  }

  /** Resolves when the client holds a version whose snapshot satisfies `check`. */
  holds(check: (s: Snapshot) => boolean, what: string): Promise<void> {
    return waitFor(() => this.client.snapshot !== undefined && check(this.client.snapshot), what);
  }
}

/** Polls a condition (every 5 ms, up to `timeoutMs`): waiting for an event, never a fixed sleep. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function endpointAddresses(s: Snapshot, service: string): string[] {
  const set = s.config?.endpoints.find((e) => `${e.namespace}/${e.service}` === service);
  return (set?.endpoints ?? []).map((e) => `${e.address}:${e.port}`);
}
