import {
  callStats,
  check,
  failureReasons,
  ms,
  pct,
  startedBetween,
  statsNumbers,
  timeToRecoverMs,
} from "../verdict.ts";
import { busiestReplica, runScenario, type Scenario, startLoad, waitFor } from "./scenario.ts";

const PARTITION_MS = 8_000;
/**
 * A call caught on the cut replica waits out the 1 s per-try timeout, and that second is a
 * latency sample: peak EWMA (10 s time constant) then prices the replica out for up to ~50 s
 * unless outlier detection ejected it (an ejected endpoint comes back with a clean slate).
 */
const REJOIN_WAIT_MS = 60_000;

/**
 * (5) One replica's link to the bridge goes down (packets vanish: no reset, no refusal) and
 * comes back. Calls caught on it wait out the per-try timeout and are retried elsewhere; once
 * healed, it serves again.
 */
export const partition: Scenario = {
  name: "partition",
  title: `partition one of 3 replicas (link down ${PARTITION_MS / 1000} s) under load, then heal`,
  run: (ctx) =>
    runScenario(partition, ctx, { replicas: 3 }, async (lab) => {
      const load = lab.client.load;
      await startLoad(lab);
      await lab.sleep(3_000);
      const cut = busiestReplica(lab);
      const cutAt = Date.now();
      await lab.topology.setLink(cut.net, false);
      lab.log(`${cut.replica} cut off (link ${cut.net.hubLink} down)`);
      await lab.sleep(PARTITION_MS);
      const healAt = Date.now();
      await lab.topology.setLink(cut.net, true);
      lab.log(`${cut.replica} healed (link up); waiting for it to serve again`);
      const answered = () => load.records.some((r) => r.start >= healAt && r.replica === cut.replica);
      const rejoined = await waitFor(lab, answered, REJOIN_WAIT_MS, 250);
      const rejoinAt = load.records.find((r) => r.start >= healAt && r.replica === cut.replica);
      await lab.sleep(2_000);
      await load.stop();
      const all = callStats(load.records);
      const baseline = callStats(startedBetween(load.records, 0, cutAt));
      const during = callStats(startedBetween(load.records, cutAt, healAt));
      const slowMs = Math.max(100, 4 * baseline.p99Ms);
      return {
        checks: [
          check(
            "success rate >= 99.9%",
            all.successRate >= 99.9,
            `${pct(all.successRate)} ${failureReasons(load.records)}`,
          ),
          check(
            `${cut.replica} serves again after the heal`,
            rejoined,
            rejoinAt ? "yes" : `not within ${REJOIN_WAIT_MS / 1000} s`,
          ),
        ],
        numbers: {
          ...statsNumbers("all", all),
          ...statsNumbers("partitioned", during),
          "max latency while partitioned": ms(during.maxMs),
          [`fault visible (failed or > ${ms(slowMs)})`]: ms(
            timeToRecoverMs(startedBetween(load.records, cutAt, healAt), cutAt, slowMs),
          ),
          [`${cut.replica} serving again after heal`]: rejoinAt
            ? ms(rejoinAt.start + rejoinAt.latencyMs - healAt)
            : "no",
        },
      };
    }),
};
