import { parseMeshConfig } from "@weft/core";
import { afterEach, describe, expect, it } from "vitest";
import { fleetConfigYaml, startFleet, until } from "../../bench/fleet.ts";
import { Resources } from "../helpers.ts";

const res = new Resources();
afterEach(() => res.closeAll());

const COUNT = 200;

describe("fan-out", () => {
  it(`a config change reaches ${COUNT} connected data planes and every one ACKs it`, {
    timeout: 60_000,
  }, async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const admin = res.admin(cp);
    await admin.apply({ config: parseMeshConfig({ file: "fleet.yaml", text: fleetConfigYaml(20, 0) }) });
    const heapBefore = process.memoryUsage().heapUsed;
    const connectStart = performance.now();
    const fleet = await startFleet({ url: cp.url, count: COUNT });
    res.add(() => fleet.close(), fleet);
    const connectMs = performance.now() - connectStart;
    expect(cp.hub.sessionCount).toBe(COUNT);
    const heapPer = (process.memoryUsage().heapUsed - heapBefore) / COUNT;

    const start = performance.now();
    const applied = await admin.apply({
      config: parseMeshConfig({ file: "fleet.yaml", text: fleetConfigYaml(20, 1) }),
    });
    const revision = applied.version;
    await until(
      () => cp.hub.ackedVersions().every((v) => v.startsWith(`${revision}-`)),
      Date.now() + 20_000,
      "every data plane to ACK",
    );
    const rolloutMs = performance.now() - start;
    expect(fleet.acceptedRevision(revision)).toBe(COUNT);
    console.log(
      `fan-out: ${COUNT} data planes connected in ${connectMs.toFixed(0)} ms; config change ACKed by all in ${rolloutMs.toFixed(0)} ms; ` +
        `heap ~${(heapPer / 1024).toFixed(1)} KiB per data plane (client and server side together)`,
    );
    expect(rolloutMs).toBeLessThan(2000);
  });
});
