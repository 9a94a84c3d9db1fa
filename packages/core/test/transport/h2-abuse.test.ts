import { constants, type ServerHttp2Stream } from "node:http2";
import { connect, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { reportHardening } from "../../src/testing/hardening-report.ts";
import {
  defaultServerLimits,
  H2cTransport,
  type MeshServer,
  type ServerHandlers,
  TransportClient,
} from "../../src/transport/index.ts";
import { endpointOf, text, until } from "./harness.ts";

// Raw HTTP/2 frames (RFC 9113 §4.1, §6), written by hand so the tests can send what no
// well-behaved client library would.
const DATA = 0x0;
const HEADERS = 0x1;
const PRIORITY = 0x2;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_MAX_FRAME_SIZE = 0x5;
const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/**
 * HPACK from the static table only (RFC 7541 Appendix A): indexed :method POST (3),
 * :scheme http (6), :path / (4), then :authority (name index 1) as a literal without indexing.
 */
function requestBlock(authority = "orders"): Buffer {
  const value = Buffer.from(authority, "latin1");
  return Buffer.concat([Buffer.from([0x83, 0x86, 0x84, 0x01, value.length]), value]);
}

function headersFrame(streamId: number, endStream: boolean): Buffer {
  return frame(HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), streamId, requestBlock());
}

interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** A client socket that writes raw frames and parses what the server sends back. */
class RawH2 {
  readonly frames: Frame[] = [];
  closedAfterMs: number | undefined;
  /** The server reset the TCP connection (it closed with our flood still unread). */
  resetByPeer = false;
  readonly #socket: Socket;
  readonly #started = performance.now();
  #pending = Buffer.alloc(0);

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNRESET") this.resetByPeer = true;
    });
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.once("close", () => {
      this.closedAfterMs = performance.now() - this.#started;
    });
  }

  /** Connects and sends the preface with an empty SETTINGS frame, as every client must. */
  static async open(server: MeshServer): Promise<RawH2> {
    const socket = connect(server.port, server.address);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const raw = new RawH2(socket);
    raw.send(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0)]));
    return raw;
  }

  get closed(): boolean {
    return this.closedAfterMs !== undefined;
  }

  get goaway(): { lastStreamId: number; errorCode: number } | undefined {
    const f = this.frames.find((x) => x.type === GOAWAY);
    return (
      f && { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, errorCode: f.payload.readUInt32BE(4) }
    );
  }

  send(bytes: Buffer): void {
    if (!this.#socket.destroyed) this.#socket.write(bytes);
  }

  /**
   * Writes `make(i)` for i = 0.. in batches until the server closes the connection, `maxFrames`
   * were written or `maxMs` passed. Returns how many were written.
   */
  async flood(make: (i: number) => Buffer, maxFrames: number, maxMs = 3_000, batch = 2_000): Promise<number> {
    const end = performance.now() + maxMs;
    let sent = 0;
    while (sent < maxFrames && !this.closed && performance.now() < end) {
      const chunk: Buffer[] = [];
      const upTo = Math.min(maxFrames, sent + batch);
      for (let i = sent; i < upTo; i++) chunk.push(make(i));
      this.send(Buffer.concat(chunk));
      sent = upTo;
      await new Promise((r) => setTimeout(r, 1));
    }
    return sent;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 9) {
      const length = this.#pending.readUIntBE(0, 3);
      if (this.#pending.length < 9 + length) return;
      this.frames.push({
        type: this.#pending[3] ?? 0,
        flags: this.#pending[4] ?? 0,
        streamId: this.#pending.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.#pending.subarray(9, 9 + length)),
      });
      this.#pending = this.#pending.subarray(9 + length);
    }
  }
}

function settingsOf(f: Frame): Map<number, number> {
  const out = new Map<number, number>();
  for (let at = 0; at + 6 <= f.payload.length; at += 6) {
    out.set(f.payload.readUInt16BE(at), f.payload.readUInt32BE(at + 2));
  }
  return out;
}

/** Answers after a short delay, like a handler relaying to an app: reset streams cost it work. */
function appHandler(): ServerHandlers {
  return {
    request(stream: ServerHttp2Stream) {
      stream.resume();
      const timer = setTimeout(() => {
        if (stream.destroyed) return;
        stream.respond({ ":status": 200 });
        stream.end("ok");
      }, 20);
      stream.once("close", () => clearTimeout(timer));
    },
  };
}

let server: MeshServer;
let client: TransportClient;
const raws: RawH2[] = [];

async function raw(target: MeshServer = server): Promise<RawH2> {
  const r = await RawH2.open(target);
  raws.push(r);
  return r;
}

/** The process stays healthy: the attacker's session is gone and a normal client gets a 200. */
async function expectHealthy(): Promise<void> {
  await until(() => server.sessionCount <= 1, 2_000);
  const res = await client.request(endpointOf(server), {
    method: "GET",
    path: "/after",
    authority: "orders",
  });
  expect(res.status).toBe(200);
  expect(await text(res)).toBe("ok");
}

beforeAll(async () => {
  server = await new H2cTransport().listen({ port: 0 }, appHandler());
  client = new TransportClient({ transport: new H2cTransport(), place: "client", keepalive: false });
});

afterEach(() => {
  for (const r of raws.splice(0)) r.destroy();
});

afterAll(async () => {
  client.close();
  await server.close();
});

describe("mesh server under HTTP/2 abuse (h2c, same ServerCore as mtls-h2)", () => {
  it("advertises its limits in its first SETTINGS frame, and answers a hand-encoded request", async () => {
    const r = await raw();
    r.send(headersFrame(1, true));
    await until(() => r.frames.some((f) => f.type === HEADERS && f.streamId === 1), 2_000);
    const first = r.frames[0];
    expect(first?.type).toBe(SETTINGS);
    expect((first?.flags ?? ACK) & ACK).toBe(0);
    const settings = settingsOf(first as Frame);
    expect(settings.get(SETTINGS_MAX_CONCURRENT_STREAMS)).toBe(100);
    expect(settings.get(SETTINGS_MAX_HEADER_LIST_SIZE)).toBe(defaultServerLimits.maxHeaderListSize);
    // 16,384 is the protocol default, which nghttp2 does not repeat on the wire.
    expect(settings.get(SETTINGS_MAX_FRAME_SIZE) ?? 16_384).toBe(defaultServerLimits.maxFrameSize);
    const response = r.frames.find((f) => f.type === HEADERS && f.streamId === 1);
    expect(response?.payload[0]).toBe(0x88); // static index 8: ":status: 200"
    expect(r.closed).toBe(false);
  });

  it("tolerates a client that cancels a few streams (no false rapid-reset alarm)", async () => {
    const r = await raw();
    const resets = 50;
    for (let i = 0; i < resets; i++) {
      const id = 2 * i + 1;
      r.send(
        Buffer.concat([headersFrame(id, true), frame(RST_STREAM, 0, id, u32(constants.NGHTTP2_CANCEL))]),
      );
    }
    const last = 2 * resets + 1;
    r.send(headersFrame(last, true));
    await until(() => r.frames.some((f) => f.type === HEADERS && f.streamId === last), 2_000);
    expect(r.goaway).toBeUndefined();
    expect(r.closed).toBe(false);
  });

  it("sends ENHANCE_YOUR_CALM for resets from its own counter: raise the limit and 300 are tolerated", async () => {
    const lenient = await new H2cTransport().listen(
      { port: 0, limits: { maxStreamResetsPerSecond: 400 } },
      appHandler(),
    );
    try {
      const r = await raw(lenient);
      const pairs = 300;
      await r.flood(
        (i) =>
          Buffer.concat([
            headersFrame(2 * i + 1, true),
            frame(RST_STREAM, 0, 2 * i + 1, u32(constants.NGHTTP2_CANCEL)),
          ]),
        pairs,
        3_000,
        pairs,
      );
      const last = 2 * pairs + 1;
      r.send(headersFrame(last, true));
      await until(() => r.closed || r.frames.some((f) => f.type === HEADERS && f.streamId === last), 2_000);
      expect(r.goaway).toBeUndefined();
      expect(r.closed).toBe(false);
      r.destroy();
    } finally {
      await lenient.close();
    }
  });

  const max = defaultServerLimits.maxStreamResetsPerSecond;
  const attacks: {
    name: string;
    make: (i: number) => Buffer;
    /** Units written per socket write, and at most in all (bounded even if never refused). */
    batch: number;
    maxFrames: number;
    code: number;
    /**
     * Floods leave frames unread in the server's socket when it closes, so the GOAWAY nghttp2
     * queued can be lost (TCP RST, or the socket ends first); the close is then the evidence.
     */
    goawayMayBeLost: boolean;
  }[] = [
    {
      name: "rapid reset (HEADERS then RST_STREAM, CVE-2023-44487)",
      make: (i) =>
        Buffer.concat([
          headersFrame(2 * i + 1, true),
          frame(RST_STREAM, 0, 2 * i + 1, u32(constants.NGHTTP2_CANCEL)),
        ]),
      // Below nghttp2's own 1,000-reset bucket (which answers INTERNAL_ERROR), so only
      // ServerCore's counter can be what sends ENHANCE_YOUR_CALM.
      batch: 300,
      maxFrames: 900,
      code: constants.NGHTTP2_ENHANCE_YOUR_CALM,
      goawayMayBeLost: false,
    },
    {
      name: "PING flood",
      make: () => frame(PING, 0, 0, Buffer.alloc(8)),
      batch: 2_000,
      maxFrames: 50_000,
      code: constants.NGHTTP2_INTERNAL_ERROR,
      goawayMayBeLost: true,
    },
    {
      name: "SETTINGS flood",
      make: () => frame(SETTINGS, 0, 0),
      batch: 2_000,
      maxFrames: 50_000,
      code: constants.NGHTTP2_INTERNAL_ERROR,
      goawayMayBeLost: true,
    },
    {
      name: "empty DATA flood",
      make: (i) => (i === 0 ? headersFrame(1, false) : frame(DATA, 0, 1)),
      batch: 2_000,
      maxFrames: 50_000,
      code: constants.NGHTTP2_INTERNAL_ERROR,
      goawayMayBeLost: true,
    },
    {
      name: "PRIORITY flood",
      make: (i) => frame(PRIORITY, 0, 2 * i + 1, Buffer.concat([u32(0), Buffer.from([15])])),
      batch: 1_200,
      maxFrames: 50_000,
      code: constants.NGHTTP2_ENHANCE_YOUR_CALM,
      goawayMayBeLost: true,
    },
    {
      name: "WINDOW_UPDATE overflowing the connection window past 2^31-1",
      make: () => frame(WINDOW_UPDATE, 0, 0, u32(0x7fffffff)),
      batch: 2,
      maxFrames: 2,
      code: constants.NGHTTP2_FLOW_CONTROL_ERROR,
      goawayMayBeLost: false,
    },
  ];

  for (const attack of attacks) {
    it(`closes the connection on a ${attack.name}, and stays healthy`, async () => {
      const r = await raw();
      const sent = await r.flood(attack.make, attack.maxFrames, 3_000, attack.batch);
      try {
        await until(() => r.closed, 3_000);
      } finally {
        // Connection-level floods: refused means the server closed the connection (frames are not app requests).
        reportHardening({ class: "h2-flood", case: attack.name, refused: r.closed, reachedApp: false });
      }
      // Without a GOAWAY, the close itself (awaited above) is the evidence.
      if (r.goaway || !attack.goawayMayBeLost) expect(r.goaway?.errorCode).toBe(attack.code);
      expect(r.closedAfterMs).toBeLessThan(3_000);
      expect(sent).toBeLessThanOrEqual(attack.maxFrames);
      await expectHealthy();
      // Numbers for the report.
      console.info(
        `${attack.name}: ${sent} frames written, GOAWAY ${r.goaway?.errorCode} (last stream ${r.goaway?.lastStreamId}), ${r.resetByPeer ? "TCP reset, " : ""}closed after ${r.closedAfterMs?.toFixed(1)} ms (reset limit ${max}/s)`,
      );
    });
  }
});
