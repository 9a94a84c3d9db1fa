import { describe, expect, it } from "vitest";
import { missingPrerequisite } from "../lab/prerequisites.ts";
import { scenarioReport } from "../lab/report.ts";
import { scenarios } from "../lab/scenarios/index.ts";
import { ip, NETNS_PREFIX } from "../lab/topology.ts";

/** Generous: the control-plane scenario alone keeps it down 30 s and waits out the warm-up. */
const TIMEOUT_MS: Record<string, number> = { "control-plane-down": 180_000 };

// The network-namespace lab, every scenario as `npm run lab -- <scenario>` runs it. Needs root,
// iproute2, iptables and the bundled weft-sidecar, as CI has.
describe("the network-namespace lab", () => {
  it("can run here", () => {
    expect(missingPrerequisite()).toBeUndefined();
  });

  for (const scenario of scenarios) {
    it(
      `${scenario.name}: ${scenario.title}`,
      async () => {
        const lines: string[] = [];
        const result = await scenario.run({ log: (l) => lines.push(l) });
        const report = scenarioReport(result).join("\n");
        console.log(report);
        expect(result.passed, `${report}\n\nlab log:\n${lines.join("\n")}`).toBe(true);
        // Torn down whatever the verdict: no namespace of the lab is left.
        expect((await ip(["netns", "list"])).split("\n").filter((l) => l.startsWith(NETNS_PREFIX))).toEqual(
          [],
        );
      },
      TIMEOUT_MS[scenario.name] ?? 120_000,
    );
  }
});
