import { Code } from "@connectrpc/connect";
import type { Exchange, Filter } from "../../src/chain/filter.ts";
import { type Clock, sleep } from "../../src/clock/clock.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";

/**
 * A deadline as a bare filter: it cuts the call with DeadlineExceeded ("deadline") `ms` after
 * the call opened it, unless an answer came through it first. `log` hears the answers it sees.
 */
export function cutAfter(clock: Clock, ms: number, log?: string[]): Filter {
  return {
    cuts: true,
    bind: () => (call, run) => {
      let over = false;
      const exchange: Exchange = {
        call,
        answered: (res) => {
          over = true;
          log?.push(`answered:deadline:${res.status}`);
          return res;
        },
        failed: (err) => {
          over = true;
          throw err;
        },
      };
      void sleep(clock, ms).then(() => {
        if (over) return;
        run.cut(
          exchange,
          new MeshError(Code.DeadlineExceeded, "deadline", {
            place: "client",
            plugin: "deadline",
            policy: "",
          }),
        );
      });
      return exchange;
    },
  };
}
