import { type ClientHttp2Session, constants, connect as h2connect, type ServerHttp2Stream } from "node:http2";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { reportHardening } from "../../../src/testing/hardening-report.ts";
import { H2cTransport, type MeshServer } from "../../../src/transport/index.ts";
import { Admission } from "../../../src/transport/limits/admission.ts";
import { until } from "../harness.ts";
import {
  DATA,
  END_HEADERS,
  END_STREAM,
  frame,
  HEADERS,
  postBlock,
  RawH2,
  u32,
  WINDOW_UPDATE,
} from "./raw-h2.ts";

// HTTP/2 frames h2-abuse.test.ts does not send: a content-length that disagrees with the DATA
// frames, WINDOW_UPDATE misuse on a stream and with a zero increment, DATA past the window.
// Each must be refused by the protocol layer and never reach the app as a complete request.

/** Requests whose body reached its end in the app: what a refused request must never be. */
const completed: string[] = [];
let server: MeshServer;
let good: ClientHttp2Session;
const raws: RawH2[] = [];

beforeAll(async () => {
  server = await new H2cTransport().listen(
    { port: 0, limits: { admission: new Admission() } },
    {
      request(stream: ServerHttp2Stream, headers) {
        const authority = String(headers[":authority"]);
        // "hold" answers nothing and reads nothing: its stream stays open with a full window.
        if (authority === "hold") return;
        let bytes = 0;
        stream.on("data", (c: Buffer) => {
          bytes += c.length;
        });
        stream.on("end", () => {
          completed.push(`${authority}:${bytes}`);
          stream.respond({ ":status": 200 });
          stream.end("ok");
        });
      },
    },
  );
  good = h2connect(`http://127.0.0.1:${server.port}`);
  good.on("error", () => {});
});

afterEach(() => {
  for (const r of raws.splice(0)) r.destroy();
});

afterAll(async () => {
  good.destroy();
  await server.close();
});

async function raw(): Promise<RawH2> {
  const r = await RawH2.open(server.port);
  raws.push(r);
  return r;
}

/** A client that behaved still gets its 200 on the session it already had. */
async function expectHealthy(): Promise<void> {
  const status = await new Promise<number>((resolve, reject) => {
    const req = good.request({ ":method": "POST", ":path": "/", ":authority": "good" });
    req.on("response", (h) => resolve(Number(h[":status"])));
    req.on("error", reject);
    req.resume();
    req.end("hello");
  });
  expect(status).toBe(200);
  expect(completed).toContain("good:5");
}

const cases: {
  name: string;
  authority: string;
  frames: (id: number) => Buffer[];
  /** RST_STREAM on the stream, or GOAWAY on the connection, with this code. */
  expect: { reset?: number; goaway?: number };
}[] = [
  {
    name: "content-length 10 with 20 bytes of DATA",
    authority: "cl-more",
    frames: (id) => [
      frame(HEADERS, END_HEADERS, id, postBlock("cl-more", { "content-length": "10" })),
      frame(DATA, END_STREAM, id, Buffer.alloc(20, 0x61)),
    ],
    // nghttp2 fails the frame inside its callback, which Node turns into a session error.
    expect: { goaway: constants.NGHTTP2_INTERNAL_ERROR },
  },
  {
    name: "content-length 10 with 5 bytes of DATA then END_STREAM",
    authority: "cl-less",
    frames: (id) => [
      frame(HEADERS, END_HEADERS, id, postBlock("cl-less", { "content-length": "10" })),
      frame(DATA, END_STREAM, id, Buffer.alloc(5, 0x61)),
    ],
    expect: { reset: constants.NGHTTP2_PROTOCOL_ERROR },
  },
  {
    name: "content-length 10 on HEADERS with END_STREAM (no body)",
    authority: "cl-none",
    frames: (id) => [
      frame(HEADERS, END_HEADERS | END_STREAM, id, postBlock("cl-none", { "content-length": "10" })),
    ],
    expect: { reset: constants.NGHTTP2_PROTOCOL_ERROR },
  },
  {
    name: "WINDOW_UPDATE overflowing a stream's window past 2^31-1",
    authority: "hold",
    frames: (id) => [
      frame(HEADERS, END_HEADERS, id, postBlock("hold")),
      frame(WINDOW_UPDATE, 0, id, u32(0x7fffffff)),
      frame(WINDOW_UPDATE, 0, id, u32(0x7fffffff)),
    ],
    // RFC 9113 §6.9.1 allows a stream error; nghttp2 ends the whole connection, which is stricter.
    expect: { goaway: constants.NGHTTP2_FLOW_CONTROL_ERROR },
  },
  {
    name: "WINDOW_UPDATE with a zero increment on the connection",
    authority: "hold",
    frames: () => [frame(WINDOW_UPDATE, 0, 0, u32(0))],
    expect: { goaway: constants.NGHTTP2_PROTOCOL_ERROR },
  },
  {
    name: "WINDOW_UPDATE with a zero increment on a stream",
    authority: "hold",
    frames: (id) => [frame(HEADERS, END_HEADERS, id, postBlock("hold")), frame(WINDOW_UPDATE, 0, id, u32(0))],
    expect: { goaway: constants.NGHTTP2_PROTOCOL_ERROR },
  },
  {
    name: "DATA past the stream's flow-control window (app not reading)",
    authority: "hold",
    frames: (id) => [
      frame(HEADERS, END_HEADERS, id, postBlock("hold")),
      // 6 x 16 KiB = 96 KiB against the 64 KiB initial window nobody widened.
      ...Array.from({ length: 6 }, () => frame(DATA, 0, id, Buffer.alloc(16_384))),
    ],
    expect: { goaway: constants.NGHTTP2_FLOW_CONTROL_ERROR },
  },
];

describe("mesh server refuses HTTP/2 framing that disagrees with itself", () => {
  for (const c of cases) {
    it(`${c.name}: ${c.expect.reset !== undefined ? "RST_STREAM" : "GOAWAY"} and nothing complete reaches the app`, async () => {
      const r = await raw();
      const before = completed.length;
      r.send(Buffer.concat(c.frames(1)));
      if (c.expect.reset !== undefined) {
        await until(() => r.reset(1) !== undefined || r.closed, 3_000);
        expect(r.reset(1)).toBe(c.expect.reset);
      } else {
        await until(() => r.goaway !== undefined, 3_000);
        expect(r.goaway).toBe(c.expect.goaway);
        await until(() => r.closed, 3_000);
      }
      expect(completed.slice(before).filter((x) => x.startsWith(`${c.authority}:`))).toEqual([]);
      await expectHealthy();
      reportHardening({ class: "h2-frames", case: c.name, refused: true, reachedApp: false });
    });
  }
});
