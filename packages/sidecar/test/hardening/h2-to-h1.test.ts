import http2 from "node:http2";
import { reportHardening } from "@weft/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DATA,
  END_HEADERS,
  END_STREAM,
  frame,
  HEADERS,
  postBlock,
  RawH2,
} from "../../../core/test/transport/limits/raw-h2.ts";
import { recordingApp } from "../helpers.ts";
import { guardedListener, until } from "./setup.ts";

// An h2c request whose content-length disagrees with its DATA frames, sent to the sidecar's
// outbound port and translated to HTTP/1.1 for the app: the app must never see a complete
// request (a body the length promised, or more), which is where smuggling would start.

describe("content-length that disagrees with DATA, h2c to the sidecar, HTTP/1.1 to the app", () => {
  let app: Awaited<ReturnType<typeof recordingApp>>;
  let side: Awaited<ReturnType<typeof guardedListener>>;
  const raws: RawH2[] = [];

  beforeAll(async () => {
    app = await recordingApp();
    side = await guardedListener(() => ({ address: "127.0.0.1", port: app.port, protocol: "http1" }));
  });

  afterAll(async () => {
    for (const r of raws) r.destroy();
    await side.close();
    await app.close();
  });

  const cases: { name: string; path: string; body: number | undefined }[] = [
    { name: "content-length 10, 20 bytes of DATA", path: "/more", body: 20 },
    { name: "content-length 10, 5 bytes of DATA", path: "/less", body: 5 },
    { name: "content-length 10, no DATA (END_STREAM on HEADERS)", path: "/none", body: undefined },
  ];

  for (const c of cases) {
    it(`${c.name}: refused, the app sees no complete request, a good client still gets 200`, async () => {
      const r = await RawH2.open(side.port);
      raws.push(r);
      const block = Buffer.concat([
        // postBlock's :path is "/"; the app tells cases apart by a header instead.
        postBlock("app", { "content-length": "10", "x-case": c.path }),
      ]);
      const frames =
        c.body === undefined
          ? [frame(HEADERS, END_HEADERS | END_STREAM, 1, block)]
          : [frame(HEADERS, END_HEADERS, 1, block), frame(DATA, END_STREAM, 1, Buffer.alloc(c.body, 0x61))];
      r.send(Buffer.concat(frames));
      await until(() => r.reset(1) !== undefined || r.goaway !== undefined || r.closed, 3_000);
      // Give a forwarded request time to complete at the app, were it going to.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(app.seen.filter((s) => s.headers["x-case"] === c.path)).toEqual([]);
      const session = http2.connect(`http://127.0.0.1:${side.port}`);
      session.on("error", () => {});
      try {
        const status = await new Promise<number>((resolve, reject) => {
          const req = session.request({ ":method": "POST", ":path": "/good" });
          req.on("response", (h) => resolve(Number(h[":status"])));
          req.on("error", reject);
          req.resume();
          req.end("0123456789");
        });
        expect(status).toBe(200);
      } finally {
        session.destroy();
      }
      reportHardening({
        class: "h2-frames",
        case: `sidecar h2c->HTTP/1: ${c.name}`,
        refused: true,
        reachedApp: false,
      });
    });
  }
});
