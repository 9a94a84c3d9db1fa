import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseMeshConfig } from "@weft/core";
import { createMesh, type Mesh } from "@weft/inprocess";
import { afterEach, describe, expect, it } from "vitest";
import { fixtures, type GeneratedTree, generateTree } from "./support/generated.ts";
import { clientFactory, type GeneratedModule, policiesOf, registration } from "./support/modules.ts";
import { testCa, workload } from "./support/pki.ts";

const ID = (sa: string) => `spiffe://weft.local/ns/test/sa/${sa}`;
const versions = join(fixtures, "idempotency");
const protoOf = (level: string) => join(versions, level, "flaky/v1/flaky.proto");

interface FlakyClient {
  read(req: { key: string }): Promise<{ value: string; replica: string }>;
}
interface FlakyImpl {
  read(req: { key: string }, ctx: { signal: AbortSignal }): Promise<{ value: string; replica: string }>;
}

/** Resolves when `signal` aborts, or after `capMs` so a handler can never hang a test. */
function untilAborted(signal: AbortSignal, capMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, capMs);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

function flakyConfig(ports: readonly number[]): string {
  // Round robin: the retry goes to the other replica. No retry policy here: the method's
  // own (weft.v1.method) retry, from the generated table, is the one that applies.
  return `
apiVersion: weft.dev/v1
kind: Service
metadata: { name: flaky, namespace: test }
spec:
  rpcServices: [flaky.v1.FlakyService]
  policies: { loadBalancer: { algorithm: ROUND_ROBIN } }
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: flaky, namespace: test }
spec:
  endpoints:
${ports.map((p) => `    - { address: 127.0.0.1, port: ${p} }`).join("\n")}
`;
}

describe("a method's idempotency_level decides whether the real mesh retries a failed call", () => {
  let tree: GeneratedTree | undefined;
  let meshes: Mesh[] = [];
  let kills: Promise<void>[] = [];
  afterEach(async () => {
    await Promise.all(kills);
    for (const m of meshes) await m.close({ graceMs: 0 });
    await tree?.dispose();
    tree = undefined;
    meshes = [];
    kills = [];
  });

  /**
   * Two replicas of flaky.v1.FlakyService generated from one version of the fixture; the
   * replica that gets the first attempt closes its own mesh (cutting the connection) while
   * that attempt is in its handler. Returns the call's outcome and which replicas' handlers ran.
   */
  async function readThroughAKilledReplica(level: "no-side-effects" | "unknown") {
    tree = await generateTree(join(versions, level));
    const flaky: GeneratedModule = await import(join(tree.dir, "flaky/v1/flaky_weft.ts"));
    const ca = await testCa();
    const attempts: string[] = [];
    const ports: number[] = [];
    for (const name of ["r1", "r2"]) {
      const mesh = await createMesh({
        service: "flaky",
        namespace: "test",
        credentials: await workload(ca, ID("flaky")),
        listen: { host: "127.0.0.1", port: 0 },
      });
      meshes.push(mesh);
      ports.push(mesh.port ?? 0);
      registration<FlakyImpl>(flaky, "registerFlakyService")(mesh, {
        async read(req, ctx) {
          attempts.push(name);
          if (attempts.length === 1) {
            kills.push(mesh.close({ graceMs: 0 }));
            await untilAborted(ctx.signal, 5_000);
          }
          return { value: req.key, replica: name };
        },
      });
    }
    const caller = await createMesh({
      service: "web",
      namespace: "test",
      credentials: await workload(ca, ID("web")),
      config: parseMeshConfig({ file: "flaky.yaml", text: flakyConfig(ports) }),
    });
    meshes.push(caller);
    const client = clientFactory<FlakyClient>(flaky, "createFlakyServiceClient")(caller);
    const started = performance.now();
    const outcome = await client.read({ key: "k-1" }).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    const ms = performance.now() - started;
    const retries = (await caller.metrics()).match(
      /^weft_retries_total\{[^}]*service="flaky"[^}]*\} (\d+)$/m,
    );
    const policies = policiesOf(flaky, "FlakyServicePolicies");
    return { outcome, attempts, ms, retries: Number(retries?.[1] ?? 0), policies };
  }

  it("uses two versions of one fixture that differ only in idempotency_level", async () => {
    const [safe, unknown] = await Promise.all([
      readFile(protoOf("no-side-effects"), "utf8"),
      readFile(protoOf("unknown"), "utf8"),
    ]);
    expect(safe).toContain("option idempotency_level = NO_SIDE_EFFECTS;");
    expect(unknown).toBe(
      safe.replace("idempotency_level = NO_SIDE_EFFECTS", "idempotency_level = IDEMPOTENCY_UNKNOWN"),
    );
  });

  it("NO_SIDE_EFFECTS: the call cut mid-flight is retried on the other replica and succeeds", async () => {
    const { outcome, attempts, ms, retries, policies } = await readThroughAKilledReplica("no-side-effects");
    expect(policies.read?.idempotency).toBe("NO_SIDE_EFFECTS");
    expect(outcome).toHaveProperty("value");
    const value = (outcome as { value: { value: string; replica: string } }).value;
    expect(attempts).toHaveLength(2);
    const [killed, survivor] = attempts;
    expect(survivor).not.toBe(killed);
    expect(value).toMatchObject({ value: "k-1", replica: survivor });
    expect(retries).toBeGreaterThanOrEqual(1);
    // Decided by the cut, not by the handler's 5 s safety cap.
    expect(ms).toBeLessThan(4_000);
  });

  it("IDEMPOTENCY_UNKNOWN (the default): the same cut fails the call, and the handler saw exactly one attempt", async () => {
    const { outcome, attempts, ms, retries, policies } = await readThroughAKilledReplica("unknown");
    expect(policies.read).toMatchObject({ idempotency: "IDEMPOTENCY_UNKNOWN", retry: { attempts: 3 } });
    expect(outcome).toHaveProperty("error");
    const error = ConnectError.from((outcome as { error: unknown }).error);
    expect(error.code).toBe(Code.Unavailable);
    expect(error.message).toContain("after the request was sent");
    expect(ms).toBeLessThan(4_000);
    expect(attempts).toHaveLength(1);
    expect(retries).toBe(0);
  });
});
