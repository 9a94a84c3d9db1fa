import type { CallRecord } from "../load.ts";
import {
  callStats,
  check,
  failureReasons,
  ms,
  pct,
  replicaShare,
  startedBetween,
  statsNumbers,
} from "../verdict.ts";
import { busiestReplica, runScenario, type Scenario, startLoad } from "./scenario.ts";

const DELAY_MS = 300;
/** Below this share the balancer has moved away (a third of the calls went there before). */
const AWAY_SHARE = 10;

/**
 * First moment after `from` from which every 1 s window of calls sends less than AWAY_SHARE
 * percent to `replica`; undefined when that never happened.
 */
function movedAwayAt(records: readonly CallRecord[], replica: string, from: number, to: number) {
  let candidate: number | undefined;
  for (let t = from; t + 1_000 <= to; t += 250) {
    const share = replicaShare(startedBetween(records, t, t + 1_000), replica);
    if (share < AWAY_SHARE) candidate ??= t;
    else candidate = undefined;
  }
  return candidate;
}

/**
 * (2) One of three replicas starts answering 300 ms late. The peak-EWMA balancer sees its
 * latency and moves the calls to the other two; nothing fails.
 */
export const slowEndpoint: Scenario = {
  name: "slow-endpoint",
  title: `one of 3 replicas turns ${DELAY_MS} ms slow; the balancer moves away`,
  run: (ctx) =>
    runScenario(slowEndpoint, ctx, { replicas: 3 }, async (lab) => {
      const load = lab.client.load;
      await startLoad(lab);
      await lab.sleep(3_000);
      const slow = busiestReplica(lab);
      const faultAt = Date.now();
      slow.setDelay(DELAY_MS);
      lab.log(`${slow.replica} now answers ${DELAY_MS} ms late`);
      await lab.sleep(8_000);
      const endAt = Date.now();
      await load.stop();
      const all = callStats(load.records);
      const before = startedBetween(load.records, 0, faultAt);
      const tail = startedBetween(load.records, endAt - 4_000, endAt);
      const shareBefore = replicaShare(before, slow.replica);
      const shareTail = replicaShare(tail, slow.replica);
      const away = movedAwayAt(load.records, slow.replica, faultAt, endAt);
      const slowCalls = startedBetween(load.records, faultAt).filter(
        (r) => r.replica === slow.replica,
      ).length;
      return {
        checks: [
          check(
            "success rate >= 99.9%",
            all.successRate >= 99.9,
            `${pct(all.successRate)} ${failureReasons(load.records)}`,
          ),
          check(
            `the balancer moved away: < ${AWAY_SHARE}% of calls to ${slow.replica} in the last 4 s`,
            shareTail < AWAY_SHARE,
            pct(shareTail),
          ),
          check("it had a fair share before", shareBefore > 15, pct(shareBefore)),
        ],
        numbers: {
          ...statsNumbers("all", all),
          ...statsNumbers("last 4 s", callStats(tail)),
          [`share of ${slow.replica} before`]: pct(shareBefore),
          [`share of ${slow.replica} last 4 s`]: pct(shareTail),
          [`calls that waited on ${slow.replica}`]: slowCalls,
          "time to move away": away === undefined ? "never" : ms(away - faultAt),
        },
      };
    }),
};
