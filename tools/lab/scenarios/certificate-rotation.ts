import { certificateSerial } from "../pod.ts";
import { callStats, check, failureReasons, ms, pct, statsNumbers } from "../verdict.ts";
import { runScenario, type Scenario, startLoad } from "./scenario.ts";

/**
 * Leaf lifetime for this scenario. The CA backdates notBefore by 60 s, and data planes renew
 * between 50% and 70% of notBefore..notAfter but not sooner than 10 s after installing a
 * certificate (core's DEFAULT_RENEWAL_POLICY): a 60 s leaf is renewed every 10 to 24 s, so
 * every sidecar renews at least once in any window of LOAD_MS.
 */
const LEAF_TTL_MS = 60_000;
const LOAD_MS = 26_000;

/**
 * (4) Every sidecar renews its workload certificate (short-lived leaves) while calls flow
 * through it: new connections take the new certificate, open ones go on, nothing fails.
 */
export const certificateRotation: Scenario = {
  name: "certificate-rotation",
  title: `workload certificates (${LEAF_TTL_MS / 1000} s leaves) rotate under load`,
  run: (ctx) =>
    runScenario(certificateRotation, ctx, { replicas: 3, leafTtlMs: LEAF_TTL_MS }, async (lab) => {
      const load = lab.client.load;
      const sidecars = [
        ...lab.replicas.map((r) => ({ name: r.replica, dataDir: r.dataDir })),
        { name: "client", dataDir: lab.client.dataDir },
      ];
      const serials = new Map<string, string | undefined>();
      const rotations = new Map<string, number>(sidecars.map((s) => [s.name, 0]));
      for (const s of sidecars) serials.set(s.name, await certificateSerial(s.dataDir));
      await startLoad(lab);
      const until = Date.now() + LOAD_MS;
      while (Date.now() < until) {
        await lab.sleep(250);
        for (const s of sidecars) {
          const now = await certificateSerial(s.dataDir);
          if (now !== undefined && now !== serials.get(s.name)) {
            serials.set(s.name, now);
            rotations.set(s.name, (rotations.get(s.name) ?? 0) + 1);
            lab.log(`${s.name}: new workload certificate (serial ${now.slice(0, 12)}…)`);
          }
        }
      }
      await load.stop();
      const all = callStats(load.records);
      const fewest = Math.min(...rotations.values());
      const total = [...rotations.values()].reduce((a, b) => a + b, 0);
      return {
        checks: [
          check(
            "success rate >= 99.9% while certificates rotate",
            all.successRate >= 99.9,
            `${pct(all.successRate)} ${failureReasons(load.records)}`,
          ),
          check(
            `every sidecar (${sidecars.length}) rotated at least once under load`,
            fewest >= 1,
            [...rotations].map(([n, c]) => `${n} ${c}`).join(", "),
          ),
        ],
        numbers: {
          ...statsNumbers("all", all),
          "leaf lifetime": ms(LEAF_TTL_MS),
          "load for": ms(LOAD_MS),
          "rotations (all sidecars)": total,
          "fewest rotations of one sidecar": fewest,
        },
      };
    }),
};
