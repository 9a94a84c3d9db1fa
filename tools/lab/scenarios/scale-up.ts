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
import { runScenario, type Scenario, startLoad, waitFor } from "./scenario.ts";

const JOIN_WAIT_MS = 15_000;

/**
 * (6) A third replica starts while two serve the load. It registers through the control
 * plane, the client's sidecar learns of it and sends it a share of the calls; nothing fails.
 */
export const scaleUp: Scenario = {
  name: "scale-up",
  title: "scale 2 -> 3 replicas under load",
  run: (ctx) =>
    runScenario(scaleUp, ctx, { replicas: 2 }, async (lab) => {
      const load = lab.client.load;
      await startLoad(lab);
      await lab.sleep(3_000);
      const startAt = Date.now();
      const added = await lab.addReplica();
      const readyAt = Date.now();
      lab.log(`${added.replica} started (${readyAt - startAt} ms) at ${added.net.address}`);
      const served = () => load.records.some((r) => r.replica === added.replica);
      const joined = await waitFor(lab, served, JOIN_WAIT_MS, 100);
      const first = load.records.find((r) => r.replica === added.replica);
      await lab.sleep(4_000);
      const endAt = Date.now();
      await load.stop();
      const all = callStats(load.records);
      const tail = startedBetween(load.records, endAt - 3_000, endAt);
      const share = replicaShare(tail, added.replica);
      return {
        checks: [
          check(
            "success rate >= 99.9%",
            all.successRate >= 99.9,
            `${pct(all.successRate)} ${failureReasons(load.records)}`,
          ),
          check(`${added.replica} took calls within ${JOIN_WAIT_MS / 1000} s`, joined, first ? "yes" : "no"),
        ],
        numbers: {
          ...statsNumbers("all", all),
          [`${added.replica} boot (app + sidecar ready)`]: ms(readyAt - startAt),
          [`first call to ${added.replica} after ready`]: first
            ? ms(first.start + first.latencyMs - readyAt)
            : "none",
          [`calls answered by ${added.replica}`]: load.records.filter((r) => r.replica === added.replica)
            .length,
          // Reported, not judged: its first (cold: TLS handshake, JIT) latency can price it out
          // of peak EWMA for tens of seconds (10 s time constant).
          [`share of ${added.replica} last 3 s`]: pct(share),
        },
      };
    }),
};
