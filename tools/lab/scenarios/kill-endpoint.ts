import {
  callStats,
  check,
  failureReasons,
  ms,
  pct,
  replicaShare,
  startedBetween,
  statsNumbers,
  timeToRecoverMs,
} from "../verdict.ts";
import { busiestReplica, clientCounters, runScenario, type Scenario, startLoad } from "./scenario.ts";

/**
 * (1) One of three replicas is killed (app and sidecar, SIGKILL) under load. Idempotent calls
 * caught on it are retried on the others and new ones stop going there, so callers see
 * nothing: 100% success.
 */
export const killEndpoint: Scenario = {
  name: "kill-endpoint",
  title: "kill one of 3 replicas (SIGKILL) under load",
  run: (ctx) =>
    runScenario(killEndpoint, ctx, { replicas: 3 }, async (lab) => {
      const load = lab.client.load;
      const before = await clientCounters(lab);
      await startLoad(lab);
      await lab.sleep(3_000);
      const victim = busiestReplica(lab);
      const faultAt = Date.now();
      await victim.crash();
      lab.log(`killed ${victim.replica} (app and sidecar, SIGKILL)`);
      await lab.sleep(7_000);
      await load.stop();
      const after = await clientCounters(lab);
      const all = callStats(load.records);
      const baseline = callStats(startedBetween(load.records, 0, faultAt));
      const afterFault = startedBetween(load.records, faultAt);
      const slowMs = Math.max(100, 4 * baseline.p99Ms);
      const recover = timeToRecoverMs(load.records, faultAt, slowMs);
      const lateToVictim = startedBetween(load.records, faultAt + 1_000).filter(
        (r) => r.replica === victim.replica,
      ).length;
      return {
        checks: [
          check("no call failed (retries hide the kill)", all.failures === 0, failureReasons(load.records)),
          check("success rate >= 99.9%", all.successRate >= 99.9, pct(all.successRate)),
          check(
            `no answer from ${victim.replica} after it died`,
            lateToVictim === 0,
            `${lateToVictim} answers`,
          ),
        ],
        numbers: {
          ...statsNumbers("all", all),
          ...statsNumbers("after kill", callStats(afterFault)),
          "baseline p99": ms(baseline.p99Ms),
          [`share of ${victim.replica} before`]: pct(
            replicaShare(startedBetween(load.records, 0, faultAt), victim.replica),
          ),
          [`fault visible (failed or > ${ms(slowMs)})`]: ms(recover),
          "client retries": after.retries - before.retries,
          "client ejections": after.ejections - before.ejections,
        },
      };
    }),
};
