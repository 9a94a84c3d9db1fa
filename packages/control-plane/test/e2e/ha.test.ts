import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, ConnectError } from "@connectrpc/connect";
import {
  type AdminService,
  type MeshConfig,
  MeshConfigSchema,
  type RegistrationSchema,
  ServiceSchema,
  type Snapshot,
} from "@weft/core/model";
import { connectDataPlane, type DataPlaneClient } from "@weft/core/transport";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type EtcdStore, openEtcdStore } from "../../src/store/etcd-store.ts";
import { endpointAddresses, Resources, waitFor } from "../helpers.ts";
import { type EtcdCluster, freePorts, startEtcdCluster } from "../support/etcd-cluster.ts";

const res = new Resources();
afterEach(() => res.closeAll());

let cluster: EtcdCluster;
beforeAll(async () => {
  cluster = await startEtcdCluster(3);
});
afterAll(() => cluster?.close());

const packageDir = fileURLToPath(new URL("../..", import.meta.url));

let prefixes = 0;
const freshPrefix = () => `/weft-ha-${process.pid}-${++prefixes}/`;

async function etcdStore(prefix: string, leaseTtlSeconds = 2): Promise<EtcdStore> {
  const store = await openEtcdStore({ hosts: cluster.hosts, prefix, leaseTtlSeconds, onError: () => {} });
  return res.add(() => store.close(), store);
}

/** A replica in this process: its own etcd client, the shared prefix. */
async function replica(prefix: string, graceMs = 1000) {
  const store = await etcdStore(prefix);
  return res.controlPlane({ store, dataDir: await res.tempDir(), graceMs, endpointDebounceMs: 20 });
}

const services = (...names: string[]): MeshConfig =>
  create(MeshConfigSchema, {
    services: names.map((name) => create(ServiceSchema, { name, namespace: "shop" })),
  });
const serviceNames = (s: { config?: MeshConfig }) => (s.config?.services ?? []).map((x) => x.name).sort();

describe("two control-plane replicas on one etcd", { timeout: 60_000 }, () => {
  it("a config applied at replica A reaches data planes on B; endpoints registered at each are seen at the other", async () => {
    const prefix = freshPrefix();
    const a = await replica(prefix);
    const b = await replica(prefix);
    const onA = res.dataPlane(a.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      addresses: ["127.0.0.2"],
    });
    const onB = res.dataPlane(b.url, {
      service: "inventory",
      namespace: "shop",
      instanceId: "i-1",
      addresses: ["127.0.0.3"],
    });
    const applied = await res.admin(a).apply({ config: services("orders", "inventory") });
    await onB.holds((s) => serviceNames(s).join() === "inventory,orders", "A's config on B's data plane");
    expect(onB.client.version?.startsWith(`${applied.version}-`)).toBe(true);
    await onB.holds((s) => endpointAddresses(s, "shop/orders").length === 1, "A's endpoint on B");
    await onA.holds((s) => endpointAddresses(s, "shop/inventory").length === 1, "B's endpoint on A");
    expect(onB.client.snapshot && endpointAddresses(onB.client.snapshot, "shop/orders")).toEqual([
      "127.0.0.2:15008",
    ]);
    // Same config, same endpoints: the same version from either replica.
    await waitFor(() => onA.client.version === onB.client.version, "one version on both replicas");
    expect((await res.admin(b).getConfig({})).version).toBe(applied.version);
    // A's admin API lists B's registration (and the other way round).
    const listed = await res.admin(a).listEndpoints({});
    expect(listed.services.map((s) => `${s.namespace}/${s.service}:${s.endpoints.length}`).sort()).toEqual([
      "shop/inventory:1",
      "shop/orders:1",
    ]);
  });

  it("an endpoint leaves every replica a grace period after its stream ends, and stays when it moves to another replica in time", async () => {
    const prefix = freshPrefix();
    const a = await replica(prefix, 1500);
    const b = await replica(prefix, 1500);
    const watcher = res.dataPlane(b.url, { service: "web", namespace: "shop", instanceId: "w-1" });
    const mover = res.dataPlane(a.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      addresses: ["127.0.0.2"],
    });
    await watcher.holds((s) => endpointAddresses(s, "shop/orders").length === 1, "o-1 seen at B");
    const seenAt = watcher.applied.length;
    // o-1 leaves A and registers at B within the grace period: nobody sees it go.
    await mover.client.close();
    await waitFor(() => a.hub.sessionCount === 0, "A to see the stream end");
    const moved = res.dataPlane(b.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      addresses: ["127.0.0.2"],
    });
    await waitFor(() => moved.client.connected, "o-1 at B");
    await new Promise((r) => setTimeout(r, 2500)); // past the grace period, which must not fire
    expect(watcher.applied.slice(seenAt).map((x) => endpointAddresses(x.snapshot, "shop/orders"))).toEqual(
      [],
    );
    expect((await res.admin(a).listEndpoints({ service: "shop/orders" })).services).toHaveLength(1);
    // Now it goes for good: gone from both replicas, after the grace period and not before.
    const closedAt = Date.now();
    await moved.client.close();
    await watcher.holds((s) => endpointAddresses(s, "shop/orders").length === 0, "o-1 to leave B");
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(1400);
    await waitFor(() => a.hub.view.endpointSet("shop/orders") === undefined, "o-1 to leave A");
  });
});

/** A data plane that knows several replicas (the shared TestDataPlane takes one url). */
function dataPlaneOf(urls: string[], registration: MessageInitShape<typeof RegistrationSchema>) {
  let connects = 0;
  const client: DataPlaneClient = connectDataPlane({
    url: urls,
    registration,
    backoff: { baseMs: 20, maxMs: 200 },
    onSnapshot: () => {},
    onEvent: (e) => {
      if (e.type === "connected") connects++;
    },
  });
  res.add(() => client.close(), undefined);
  return {
    client,
    /** Streams that heard from a control plane: 2 once it reconnected after losing one. */
    connects: () => connects,
    holds: (check: (s: Snapshot) => boolean, what: string) =>
      waitFor(() => client.snapshot !== undefined && check(client.snapshot), what, 10_000),
  };
}

/** A `weft control-plane --store etcd://...` process; `kill()` is SIGKILL, no goodbye. */
interface ReplicaProcess {
  readonly url: string;
  /** The admin token the replica wrote to its data directory (the etcd store's, shared). */
  readonly adminToken: string;
  kill(): Promise<void>;
}

async function spawnReplica(prefix: string, port: number): Promise<ReplicaProcess> {
  const dataDir = await res.tempDir();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--conditions=@weft/source",
      "src/cli/main.ts",
      "control-plane",
      `--store=etcd://${cluster.hosts.join(",")}`,
      `--prefix=${prefix}`,
      `--port=${port}`,
      `--data-dir=${dataDir}`,
      "--grace=2s",
      "--dashboard-port=off",
    ],
    { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  res.add(kill, undefined);
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    output += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    output += d;
  });
  await waitFor(
    () => output.includes("listening on") || child.exitCode !== null,
    `replica on port ${port} to listen`,
    15_000,
  );
  if (!output.includes("listening on")) throw new Error(`replica on port ${port} did not start:\n${output}`);
  const adminToken = (await readFile(join(dataDir, "admin-token"), "utf8")).trim();
  return { url: `http://127.0.0.1:${port}`, adminToken, kill };
}

describe("a replica killed under a load of config changes", { timeout: 120_000 }, () => {
  it("loses no acknowledged change; its data planes move to the other replica; all converge", async () => {
    const prefix = freshPrefix();
    const [portA, portB] = (await freePorts(2)) as [number, number];
    const a = await spawnReplica(prefix, portA);
    const b = await spawnReplica(prefix, portB);
    // One token for the mesh: the first replica stored it in etcd, the second took it from there.
    expect(b.adminToken).toBe(a.adminToken);
    const admins = new Map<string, Client<typeof AdminService>>([
      [a.url, res.admin(a)],
      [b.url, res.admin(b)],
    ]);
    // Three data planes start on each replica; each knows both.
    const planes: ReturnType<typeof dataPlaneOf>[] = [];
    for (let i = 0; i < 6; i++) {
      const urls = i < 3 ? [a.url, b.url] : [b.url, a.url];
      planes.push(
        dataPlaneOf(urls, {
          service: "app",
          namespace: "shop",
          instanceId: `app-${i}`,
          addresses: [`127.0.1.${i + 1}`],
        }),
      );
    }
    for (const p of planes)
      await p.holds((s) => endpointAddresses(s, "shop/app").length === 6, "all six endpoints everywhere");

    // 50 changes, alternating replicas, each a read-modify-write (add one service) of what
    // that replica says is in force, as `weft apply` of an edited file would be. A change
    // whose replica fails is redone on the other one. A is killed with change 20 in flight.
    const acknowledged: string[] = [];
    let retried = 0;
    let killedAt = 0;
    let killing: Promise<void> | undefined;
    let reconnected: Promise<number> | undefined;
    for (let i = 0; i < 50; i++) {
      const name = `s${i}`;
      const order = i % 2 === 0 ? [a.url, b.url] : [b.url, a.url];
      if (i === 20) {
        killedAt = Date.now();
        killing = a.kill();
        reconnected = waitFor(
          () => planes.slice(0, 3).every((p) => p.connects() === 2),
          "A's data planes to reconnect to B",
          10_000,
        ).then(() => Date.now() - killedAt);
      }
      let done = false;
      for (let attempt = 0; attempt < 6 && !done; attempt++) {
        const admin = admins.get(order[attempt % 2] as string) as Client<typeof AdminService>;
        try {
          const current = await admin.getConfig({}, { timeoutMs: 3000 });
          const names = new Set(serviceNames(current));
          names.add(name);
          await admin.apply({ config: services(...names) }, { timeoutMs: 3000 });
          acknowledged.push(name);
          done = true;
        } catch (e) {
          expect(ConnectError.from(e).code).toBeDefined();
          retried++;
        }
      }
      expect(done, `change ${name} was acknowledged by one of the replicas`).toBe(true);
    }
    await killing;
    const lastAckAt = Date.now();
    const final = await admins.get(b.url)?.getConfig({});
    const finalNames = new Set(serviceNames(final ?? {}));
    const lost = acknowledged.filter((n) => !finalNames.has(n));
    expect(lost).toEqual([]);
    expect(acknowledged).toHaveLength(50);

    // A's data planes are on B now, and everyone holds the same final version with all six
    // endpoints (A's data planes registered again at B; none were lost on the way).
    await waitFor(
      () => planes.every((p) => p.client.connected && p.client.version?.startsWith(`${final?.version}-`)),
      "every data plane on the final config version",
      20_000,
    );
    const convergedAt = Date.now();
    const versions = new Set(planes.map((p) => p.client.version));
    expect(versions.size).toBe(1);
    for (const p of planes) {
      const snapshot = p.client.snapshot as Snapshot;
      expect(serviceNames(snapshot)).toEqual([...finalNames].sort());
      expect(endpointAddresses(snapshot, "shop/app")).toHaveLength(6);
    }
    const reconnectMs = await reconnected;
    const proxies = (await admins.get(b.url)?.listProxies({}))?.proxies ?? [];
    expect(proxies.map((p) => p.instanceId).sort()).toEqual(planes.map((_, i) => `app-${i}`));
    console.log(
      `HA: ${acknowledged.length} changes acknowledged, ${retried} failed attempts redone on the other replica, ` +
        `0 lost; A's data planes reconnected to B ${reconnectMs} ms after the kill; all ${planes.length} ` +
        `on one version ${convergedAt - lastAckAt} ms after the last acknowledged change`,
    );
  });
});
