import { WARMUP_MS } from "../control-plane.ts";
import { callStats, check, failureReasons, ms, pct, startedBetween, statsNumbers } from "../verdict.ts";
import { runScenario, type Scenario, startLoad, waitFor } from "./scenario.ts";

const DOWN_MS = 30_000;

/**
 * (3) The control plane is killed (SIGKILL) for 30 s under load. Data planes keep serving
 * with the configuration and endpoints they hold (static stability), and all of them connect
 * again once it is back.
 */
export const controlPlaneDown: Scenario = {
  name: "control-plane-down",
  title: "control plane down (SIGKILL) for 30 s under load, then back",
  run: (ctx) =>
    runScenario(controlPlaneDown, ctx, { replicas: 3 }, async (lab) => {
      const load = lab.client.load;
      const dataPlanes = lab.replicas.length + 1;
      const connectedAtStart = lab.cp.sessionCount;
      await startLoad(lab);
      await lab.sleep(3_000);
      const downAt = Date.now();
      await lab.cp.crash();
      lab.log(`control plane killed; back in ${DOWN_MS / 1000} s`);
      await lab.sleep(DOWN_MS);
      const restartAt = Date.now();
      await lab.cp.start();
      const upAt = Date.now();
      lab.log(`control plane restarted in ${upAt - restartAt} ms; waiting for the data planes`);
      // Data planes come back within their reconnect backoff (at most 30 s); the first push
      // goes out when the warm-up ends, and the load runs on past it to show that push is whole.
      const reconnected = await waitFor(lab, () => lab.cp.sessionCount >= dataPlanes, WARMUP_MS);
      const allBack = lab.cp.sessions.find((s) => s.at >= restartAt && s.count >= dataPlanes)?.at;
      lab.log(
        reconnected ? `all ${dataPlanes} data planes connected again` : "not all data planes came back",
      );
      await lab.sleep(Math.max(0, upAt + WARMUP_MS + 3_000 - Date.now()));
      const endAt = Date.now();
      await load.stop();
      const all = callStats(load.records);
      const down = startedBetween(load.records, downAt, restartAt);
      const downStats = callStats(down);
      const replicasDuringOutage = new Set(down.filter((r) => r.status === 200).map((r) => r.replica)).size;
      return {
        checks: [
          check(
            "success rate >= 99.9% (static stability)",
            all.successRate >= 99.9,
            `${pct(all.successRate)} ${failureReasons(load.records)}`,
          ),
          check(
            `all ${lab.replicas.length} replicas kept serving while it was down`,
            replicasDuringOutage === lab.replicas.length,
            `${replicasDuringOutage} answered`,
          ),
          check(
            `all ${dataPlanes} data planes connected again`,
            connectedAtStart >= dataPlanes && reconnected,
            `${connectedAtStart} before, ${lab.cp.sessionCount} after`,
          ),
        ],
        numbers: {
          ...statsNumbers("all", all),
          ...statsNumbers("while down", downStats),
          "down for": ms(upAt - downAt),
          "data planes reconnected after": allBack
            ? ms(Math.max(0, allBack - upAt))
            : `not within ${WARMUP_MS / 1000} s`,
          "load after the first push": ms(endAt - (upAt + WARMUP_MS)),
        },
      };
    }),
};
