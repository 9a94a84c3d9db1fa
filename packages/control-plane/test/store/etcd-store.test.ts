import { create } from "@bufbuild/protobuf";
import { MeshConfigSchema, ServiceSchema } from "@weft/core/model";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StoreConflictError, type StoredConfig } from "../../src/store/config-store.ts";
import { type EtcdStore, openEtcdStore } from "../../src/store/etcd-store.ts";
import { Resources, waitFor } from "../helpers.ts";
import { type EtcdCluster, startEtcdCluster } from "../support/etcd-cluster.ts";

const res = new Resources();
afterEach(() => res.closeAll());

let cluster: EtcdCluster;
beforeAll(async () => {
  cluster = await startEtcdCluster(3);
});
afterAll(() => cluster?.close());

const config = (...names: string[]) =>
  create(MeshConfigSchema, {
    services: names.map((name) => create(ServiceSchema, { name, namespace: "shop" })),
  });

let prefixes = 0;
/** Two replicas' stores on the same etcd and prefix (fresh per test). */
async function replicas(count = 2): Promise<EtcdStore[]> {
  const prefix = `/weft-test-${++prefixes}/`;
  const stores: EtcdStore[] = [];
  for (let i = 0; i < count; i++) {
    const store = await openEtcdStore({ hosts: cluster.hosts, prefix, onError: () => {} });
    stores.push(res.add(() => store.close(), store));
  }
  return stores;
}

const names = (s: StoredConfig) => s.config.services.map((x) => x.name);

describe("etcd store on a three-member etcd cluster", { timeout: 30_000 }, () => {
  it("starts empty at revision 0; revisions are etcd's, the same on every replica, and only grow", async () => {
    const [a, b] = (await replicas()) as [EtcdStore, EtcdStore];
    expect(await a.get()).toMatchObject({ revision: 0 });
    expect(names(await a.get())).toEqual([]);
    const first = await a.put(config("orders"));
    expect(first.revision).toBeGreaterThan(0);
    const second = await b.put(config("orders", "inventory"));
    expect(second.revision).toBeGreaterThan(first.revision);
    for (const s of [a, b]) {
      const stored = await s.get();
      expect(stored.revision).toBe(second.revision);
      expect(names(stored)).toEqual(["orders", "inventory"]);
    }
    // Copies: changing what get() returned does not change the store.
    (await a.get()).config.services.pop();
    expect(names(await a.get())).toEqual(["orders", "inventory"]);
  });

  it("gives every replica the same CA root: of replicas starting together, the first root stored wins", async () => {
    const [a, b] = (await replicas()) as [EtcdStore, EtcdStore];
    let made = 0;
    const create = async () => {
      made++;
      return { certificatePem: `cert-${made}`, keyPem: `key-${made}` };
    };
    const [fromA, fromB] = await Promise.all([a.sharedCa(create), b.sharedCa(create)]);
    expect(fromA).toEqual(fromB);
    expect(await a.sharedCa(create)).toEqual(fromA);
  });

  it("refuses a compare-and-swap write against an outdated revision, naming both revisions", async () => {
    const [a, b] = (await replicas()) as [EtcdStore, EtcdStore];
    await expect(a.put(config("x"), { expectedRevision: 0 })).resolves.toMatchObject({});
    const read = await a.get();
    const other = await b.put(config("y"), { expectedRevision: read.revision });
    const err = await a.put(config("z"), { expectedRevision: read.revision }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreConflictError);
    expect((err as Error).message).toBe(
      `configuration changed while applying (expected revision ${read.revision}, store is at ${other.revision}); apply again`,
    );
    expect(names(await b.get())).toEqual(["y"]);
    // Revision 0 means "never written": refused once a write happened.
    await expect(b.put(config("w"), { expectedRevision: 0 })).rejects.toBeInstanceOf(StoreConflictError);
  });

  it("lets exactly one of 20 concurrent writers on two replicas win the same revision", async () => {
    const [a, b] = (await replicas()) as [EtcdStore, EtcdStore];
    const base = await a.put(config("base"));
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).put(config(`w${i}`), { expectedRevision: base.revision }),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost.every((r) => r.reason instanceof StoreConflictError)).toBe(true);
    const winner = (won[0] as PromiseFulfilledResult<StoredConfig>).value;
    expect(await b.get()).toMatchObject({ revision: winner.revision });
    expect(names(await b.get())).toEqual(names(winner));
  });

  it("tells every replica's watchers about every write, once each, in revision order", async () => {
    const [a, b, c] = (await replicas(3)) as [EtcdStore, EtcdStore, EtcdStore];
    const seen = new Map<EtcdStore, StoredConfig[]>([
      [a, []],
      [b, []],
      [c, []],
    ]);
    for (const [store, list] of seen) store.watch((s) => list.push(s));
    const written: StoredConfig[] = [];
    const writers = [a, b, c];
    for (let i = 0; i < 30; i++) written.push(await (writers[i % 3] as EtcdStore).put(config(`s${i}`)));
    for (const list of seen.values())
      await waitFor(() => list.length === 30, "30 writes at every replica's watcher");
    for (const list of seen.values()) {
      expect(list.map((s) => s.revision)).toEqual(written.map((s) => s.revision));
      expect(list.map((s) => names(s)[0])).toEqual(written.map((_, i) => `s${i}`));
    }
    const stop = b.watch(() => {
      throw new Error("a stopped watcher was called");
    });
    stop();
    await a.put(config("after"));
    await waitFor(() => seen.get(b)?.length === 31, "the write after the stop");
  });

  it("keeps token records (their hash only) readable from every replica, until they expire", async () => {
    const [a, b] = (await replicas()) as [EtcdStore, EtcdStore];
    const now = Date.now();
    const record = {
      hash: "ab".repeat(32),
      namespace: "shop",
      serviceAccount: "orders",
      createdAtMs: now,
      expiresAtMs: now + 1500,
    };
    await a.putToken(record);
    expect(await b.getToken(record.hash)).toEqual(record);
    expect(await b.getToken("cd".repeat(32))).toBeUndefined();
    // The token's lease removes it from etcd once it expires.
    const deadline = Date.now() + 8000;
    while ((await b.getToken(record.hash)) !== undefined) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Date.now()).toBeGreaterThanOrEqual(now + 1000);
  });

  it("refuses to open when no etcd answers, naming the hosts", async () => {
    const err = await openEtcdStore({ hosts: ["127.0.0.1:1"], requestTimeoutMs: 500 }).catch(
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^cannot reach etcd at 127\.0\.0\.1:1: /);
  });

  // Last: it kills a member of the shared cluster.
  it("keeps writing and watching when one etcd member dies", async () => {
    const [a, b] = (await replicas()) as [EtcdStore, EtcdStore];
    const seen: number[] = [];
    b.watch((s) => seen.push(s.revision));
    await a.put(config("before"));
    await cluster.members[0]?.kill();
    const revisions: number[] = [];
    for (let i = 0; i < 10; i++) revisions.push((await (i % 2 ? a : b).put(config(`after${i}`))).revision);
    await waitFor(() => seen.length === 11, "every write at b's watcher", 10_000);
    expect(seen.slice(1)).toEqual(revisions);
    expect(names(await a.get())).toEqual(["after9"]);
  });
});
