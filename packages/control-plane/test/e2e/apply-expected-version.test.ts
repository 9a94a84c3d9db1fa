import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type MeshConfig, MeshConfigSchema, ServiceSchema } from "@weft/core/model";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openEtcdStore } from "../../src/store/etcd-store.ts";
import { Resources } from "../helpers.ts";
import { type EtcdCluster, startEtcdCluster } from "../support/etcd-cluster.ts";
import { weft } from "../weft-cli.ts";

const res = new Resources();
afterEach(() => res.closeAll());

const services = (...names: string[]): MeshConfig =>
  create(MeshConfigSchema, {
    services: names.map((name) => create(ServiceSchema, { name, namespace: "shop" })),
  });
const serviceNames = (s: { config?: MeshConfig }) => (s.config?.services ?? []).map((x) => x.name).sort();

/** The ConnectError a rejected call failed with (fails the test when it did not fail). */
async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  const outcome = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (outcome === undefined) throw new Error("the call succeeded; it should have been refused");
  return outcome;
}

describe("apply with an expected version (file store)", { timeout: 60_000 }, () => {
  it("applies against the version in force; a stale one fails with FailedPrecondition and changes nothing", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const admin = res.admin(cp);
    expect((await admin.getConfig({})).version).toBe("0");

    // "0": only if nothing was applied yet.
    const first = await admin.apply({ config: services("orders"), expectedVersion: "0" });
    expect(first.version).toBe("1");
    const second = await admin.apply({ config: services("orders", "inventory"), expectedVersion: "1" });
    expect(second.version).toBe("2");

    const stale = await rejection(admin.apply({ config: services("payments"), expectedVersion: "1" }));
    expect(stale.code).toBe(Code.FailedPrecondition);
    expect(stale.rawMessage).toContain("configuration version 2 is in force, not the expected version 1");
    const after = await admin.getConfig({});
    expect(after.version).toBe("2");
    expect(serviceNames(after)).toEqual(["inventory", "orders"]);

    // A dry run reports the mismatch too; against the right version it reports that version.
    const staleDry = await rejection(
      admin.apply({ config: services("payments"), dryRun: true, expectedVersion: "1" }),
    );
    expect(staleDry.code).toBe(Code.FailedPrecondition);
    const dry = await admin.apply({ config: services("payments"), dryRun: true, expectedVersion: "2" });
    expect(dry).toMatchObject({ version: "2" });
    expect(dry.changed.length).toBeGreaterThan(0);

    // Even an apply that would change nothing is refused against a stale version.
    const unchanged = await rejection(
      admin.apply({ config: services("orders", "inventory"), expectedVersion: "1" }),
    );
    expect(unchanged.code).toBe(Code.FailedPrecondition);

    for (const bad of ["v2", "-1", "02", "2.0", " 2"]) {
      const e = await rejection(admin.apply({ config: services("payments"), expectedVersion: bad }));
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toContain(`expected_version "${bad}" is not a configuration version`);
    }
    expect((await admin.getConfig({})).version).toBe("2");
  });

  it("of two concurrent applies against the same version, exactly one wins", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const admin = res.admin(cp);
    const outcomes = await Promise.allSettled([
      admin.apply({ config: services("a"), expectedVersion: "0" }),
      admin.apply({ config: services("b"), expectedVersion: "0" }),
    ]);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    const lost = outcomes.find((o) => o.status === "rejected");
    expect(ConnectError.from(lost?.reason).code).toBe(Code.FailedPrecondition);
    const held = await admin.getConfig({});
    expect(held.version).toBe("1");
    expect(serviceNames(held)).toEqual([outcomes[0]?.status === "fulfilled" ? "a" : "b"]);
  });

  it("weft apply --dry-run prints the version; --expected-version applies it, or refuses once it is stale", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const admin = res.admin(cp);
    await admin.apply({ config: services("orders") });
    const file = join(await res.tempDir(), "mesh.yaml");
    await writeFile(
      file,
      "apiVersion: weft.dev/v1\nkind: Service\nmetadata:\n  name: inventory\n  namespace: shop\nspec:\n  mode: SIDECAR\n",
    );

    const dry = await weft("apply", "-f", file, "--dry-run", "--server", cp.url);
    expect(dry.stderr).toBe("");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(
      "dry run against configuration version 1: applying would change (nothing was changed):\n" +
        "  Service shop/inventory: created\n  Service shop/orders: deleted\n" +
        "to apply only if version 1 is still in force, add --expected-version 1\n",
    );

    // Someone else applies between the review and the apply.
    await admin.apply({ config: services("orders", "payments") });
    const stale = await weft("apply", "-f", file, "--expected-version", "1", "--server", cp.url);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toBe("");
    expect(stale.stderr).toContain("configuration version 2 is in force, not the expected version 1");
    expect(stale.stderr).toContain("nothing changed");
    expect(serviceNames(await admin.getConfig({}))).toEqual(["orders", "payments"]);

    const ok = await weft("apply", "-f", file, "--expected-version", "2", "--server", cp.url);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^applied configuration version 3:\n/);
    expect(serviceNames(await admin.getConfig({}))).toEqual(["inventory"]);
  });
});

describe("apply with an expected version on two replicas sharing etcd", { timeout: 60_000 }, () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcdCluster(1);
  });
  afterAll(() => cluster?.close());

  it("of concurrent applies at both replicas against the same version, exactly one wins each round", async () => {
    const prefix = `/weft-expected-version-${process.pid}/`;
    // While armed, each replica's read of the config waits for the other's: both applies then
    // pass the admin service's own version check, and only etcd's transaction can stop one.
    let barrier: { arrived: number; release: () => void; all: Promise<void> } | undefined;
    const arm = () => {
      let release = () => {};
      const all = new Promise<void>((r) => {
        release = r;
      });
      barrier = { arrived: 0, release, all };
    };
    let storeWrites = 0;
    const replica = async () => {
      const store = await openEtcdStore({ hosts: cluster.hosts, prefix, onError: () => {} });
      res.add(() => store.close(), store);
      const get = store.get.bind(store);
      store.get = async () => {
        const read = await get();
        const b = barrier;
        if (b !== undefined && ++b.arrived === 2) b.release();
        // Bounded: a replica that never reads again fails the round instead of hanging it.
        if (b !== undefined) await Promise.race([b.all, new Promise((r) => setTimeout(r, 5000))]);
        return read;
      };
      const put = store.put.bind(store);
      store.put = (...args) => {
        storeWrites++;
        return put(...args);
      };
      return res.controlPlane({ store, dataDir: await res.tempDir() });
    };
    const [a, b] = [res.admin(await replica()), res.admin(await replica())];

    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const { version } = await a.getConfig({});
      const writesBefore = storeWrites;
      arm();
      const outcomes = await Promise.allSettled([
        a.apply({ config: services(`a${round}`), expectedVersion: version }),
        b.apply({ config: services(`b${round}`), expectedVersion: version }),
      ]);
      barrier = undefined;
      expect(storeWrites - writesBefore, "both applies reached the store").toBe(2);
      const won = outcomes.flatMap((o, i) =>
        o.status === "fulfilled" ? [{ i, version: o.value.version }] : [],
      );
      expect(won, `round ${round}`).toHaveLength(1);
      const lost = outcomes.find((o) => o.status === "rejected");
      const error = ConnectError.from(lost?.reason);
      expect(error.code, error.rawMessage).toBe(Code.FailedPrecondition);
      expect(error.rawMessage).toContain(
        `configuration version ${won[0]?.version} is in force, not the expected version ${version}`,
      );
      const held = await b.getConfig({});
      expect(held.version).toBe(won[0]?.version);
      expect(serviceNames(held)).toEqual([`${won[0]?.i === 0 ? "a" : "b"}${round}`]);
    }
  });
});
