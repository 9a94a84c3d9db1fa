import http from "node:http";
import { reportHardening } from "@weft/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordingApp } from "../helpers.ts";
import { Admission, guardedListener, percentile, RawClient, timedGet, until } from "./setup.ts";

// The attack issue #11 names: more connections than the cap, each sending its request head a
// line at a time and never finishing. The listener must refuse what is over the cap at once,
// cut the slow heads at the headers timeout, and keep serving clients already connected.

const CAP = 20;
const GOOD = 4;
const ATTACKERS = 40;
const HEADERS_TIMEOUT_MS = 1_000;
const REQUESTS = 50;

describe("slowloris past the connection cap (sidecar outbound listener)", () => {
  let app: Awaited<ReturnType<typeof recordingApp>>;
  let side: Awaited<ReturnType<typeof guardedListener>>;
  const agent = new http.Agent({ keepAlive: true, maxSockets: GOOD });
  const attackers: RawClient[] = [];
  let drip: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    app = await recordingApp();
    side = await guardedListener(() => ({ address: "127.0.0.1", port: app.port, protocol: "http1" }), {
      limits: { maxConnections: CAP, headersTimeoutMs: HEADERS_TIMEOUT_MS },
      admission: new Admission({ maxConnections: 1_000 }),
    });
  });

  afterAll(async () => {
    clearInterval(drip);
    for (const a of attackers) a.destroy();
    agent.destroy();
    await side.close();
    await app.close();
  });

  it("refuses connections over the cap at once, 408s the slow heads, and good clients never notice", async () => {
    // Good clients connect first and keep their connections (keep-alive).
    await Promise.all(Array.from({ length: GOOD }, () => timedGet(side.port, agent, "/warm")));
    const baseline: number[] = [];
    for (let i = 0; i < REQUESTS; i++) baseline.push((await timedGet(side.port, agent, "/base")).ms);

    for (let i = 0; i < ATTACKERS; i++) {
      const a = await RawClient.open(side.port);
      a.write(`GET /slow-${i} HTTP/1.1\r\nHost: app\r\n`);
      attackers.push(a);
    }
    drip = setInterval(() => {
      for (const a of attackers) a.write(`X-Drip: ${Date.now()}\r\n`);
    }, 100);
    const attackStart = performance.now();
    // Over the cap: closed at accept, before a byte is read.
    await until(() => attackers.filter((a) => a.closed).length >= ATTACKERS - (CAP - GOOD), 2_000);
    const refusedAtAccept = attackers.filter((a) => a.closed && a.received === "");
    expect(refusedAtAccept.length).toBe(ATTACKERS - (CAP - GOOD));
    expect(Math.max(...refusedAtAccept.map((a) => a.closedAfterMs ?? 0))).toBeLessThan(500);

    const held = attackers.filter((a) => !refusedAtAccept.includes(a));
    expect(held.length).toBe(CAP - GOOD);
    expect(held.every((a) => !a.closed)).toBe(true);

    // Good clients, one request after another, for as long as the slow heads hold their slots;
    // the headers timeout then cuts every one with 408 (Node checks once a second).
    const during: number[] = [];
    let attackOver = false;
    const goodTraffic = (async () => {
      while (!attackOver) {
        const r = await timedGet(side.port, agent, "/during");
        expect(r.status).toBe(200);
        during.push(r.ms);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      await until(() => held.every((a) => a.closed), HEADERS_TIMEOUT_MS + 3_000);
    } finally {
      attackOver = true;
      await goodTraffic;
    }
    const duringEnded = performance.now() - attackStart;
    for (const a of held) expect(a.received.startsWith("HTTP/1.1 408 ")).toBe(true);
    const cutAfter = held.map((a) => a.closedAfterMs ?? 0);
    expect(Math.max(...cutAfter)).toBeLessThan(HEADERS_TIMEOUT_MS + 2_500);
    expect(app.seen.some((r) => r.url.startsWith("/slow-"))).toBe(false);

    // Slots are free again (once the server side of each cut connection has closed).
    await until(() => side.admission.connections === GOOD, 2_000);
    const fresh = new http.Agent({ keepAlive: false });
    expect((await timedGet(side.port, fresh, "/after")).status).toBe(200);
    fresh.destroy();

    expect(
      side.stats.get("weft_sidecar_refused_total", {
        place: "sidecar-outbound",
        reason: "listener_connections",
      }),
    ).toBe(ATTACKERS - (CAP - GOOD));
    expect(
      side.stats.get("weft_sidecar_refused_total", {
        place: "sidecar-outbound",
        reason: "ERR_HTTP_REQUEST_TIMEOUT",
      }),
    ).toBe(CAP - GOOD);
    const p99Before = percentile(baseline, 99);
    const p99During = percentile(during, 99);
    // Numbers for the report.
    console.info(
      `slowloris: ${ATTACKERS} attackers vs cap ${CAP} (${GOOD} good): ${refusedAtAccept.length} refused at accept (max ${Math.max(...refusedAtAccept.map((a) => a.closedAfterMs ?? 0)).toFixed(1)} ms), ${held.length} held then 408 after ${Math.min(...cutAfter).toFixed(0)}-${Math.max(...cutAfter).toFixed(0)} ms; good-client latency p50/p99/max before ${percentile(baseline, 50).toFixed(2)}/${p99Before.toFixed(2)}/${Math.max(...baseline).toFixed(2)} ms, during ${percentile(during, 50).toFixed(2)}/${p99During.toFixed(2)}/${Math.max(...during).toFixed(2)} ms (${during.length} requests in ${duringEnded.toFixed(0)} ms)`,
    );
    // Generous for a shared 2-core machine; measured p99 is a few ms to tens of ms.
    expect(p99During).toBeLessThan(250);
    for (const a of refusedAtAccept)
      reportHardening({
        class: "connection-flood",
        case: "slowloris connection over the listener cap",
        refused: a.closed,
        reachedApp: false,
      });
    for (const a of held)
      reportHardening({
        class: "slowloris",
        case: "request head never finished",
        refused: a.received.startsWith("HTTP/1.1 408 "),
        reachedApp: false,
      });
  });
});
