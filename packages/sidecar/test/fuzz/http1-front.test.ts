import net from "node:net";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzz, loadCorpus } from "../../../../tools/hardening/fuzz.ts";
import { rawExchange, recordingApp, startListener } from "../helpers.ts";

const CORPUS = fileURLToPath(new URL("./corpus/http1-front", import.meta.url));
/** How long an exchange may stay open after the client half-closed before the test gives up on it. */
const EXCHANGE_MS = 400;

/** Writes `bytes`, half-closes, and collects the reply until the sidecar closes (or EXCHANGE_MS). */
function exchange(port: number, bytes: string): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => s.destroy(), EXCHANGE_MS);
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("error", () => {});
    s.on("end", () => {
      closed = true;
    });
    s.on("close", (hadError) => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks).toString("latin1"), closed: closed || hadError });
    });
    s.end(Buffer.from(bytes, "latin1"));
  });
}

/** llhttp's end-of-input-mid-message error, and a reset: an incomplete request, not a malformed one. */
const TRUNCATED = new Set(["HPE_INVALID_EOF_STATE", "ECONNRESET"]);
const H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const seeds = loadCorpus(CORPUS, "latin1").map((e) => e.input);
const TOKENS = [
  "\r\n",
  "\n",
  "\r",
  "\u0000",
  " ",
  "\t",
  ":",
  "Content-Length: 5\r\n",
  "Content-Length: 0\r\n",
  "Content-Length: -1\r\n",
  "Content-Length: 99999999999999999999\r\n",
  "Transfer-Encoding: chunked\r\n",
  "Transfer-Encoding: chunked, identity\r\n",
  "Transfer-Encoding: identity\r\n",
  "Host: app\r\n",
  "Connection: close\r\n",
  "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n",
  "Expect: 100-continue\r\n",
  "Trailer: x\r\n",
  "0\r\n\r\n",
  "5\r\nhello\r\n",
  "GET /x HTTP/1.1\r\n",
  "HTTP/1.0",
  "HTTP/2.0",
  "\u00ff",
  "\u007f",
  "%00",
  "/../",
  "x-weft-peer-identity: spiffe://weft.local/ns/a/sa/b\r\n",
];
const byteString = (max: number) =>
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: max }).map((a) => String.fromCharCode(...a));
const edit = fc.record({
  at: fc.nat(),
  remove: fc.nat({ max: 8 }),
  insert: fc.oneof(fc.constantFrom(...TOKENS), byteString(4)),
});
/** Seed requests (valid and attacks) with random byte-level edits. */
const mutated = fc
  .tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 5 }))
  .map(([doc, edits]) => {
    let text = doc;
    for (const e of edits) {
      const at = e.at % (text.length + 1);
      text = text.slice(0, at) + e.insert + text.slice(at + e.remove);
    }
    return text;
  });
/** A request line and header fields put together from pieces that each may be wrong. */
const assembled = fc
  .tuple(
    fc.constantFrom("GET", "POST", "PUT", "get", "G T", "CONNECT", "OPTIONS", ""),
    fc.constantFrom("/a", "*", "http://app/a", "/a?b=c#d", "/\u00e9", "", "//x", "/a b"),
    fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/1.10", "http/1.1", "HTTP/2", ""),
    fc.array(fc.constantFrom(...TOKENS.filter((t) => t.endsWith("\r\n"))), { maxLength: 5 }),
    fc.constantFrom("\r\n", "\n", "\r\r\n"),
    byteString(12),
  )
  .map(
    ([m, target, version, headers, end, body]) =>
      `${m} ${target} ${version}\r\n${headers.join("")}${end}${body}`,
  );

describe("fuzz: the sidecar's HTTP/1.1 front on a live listener", () => {
  let app: Awaited<ReturnType<typeof recordingApp>>;
  let side: Awaited<ReturnType<typeof startListener>>;
  /** Bytes from the sidecar that the app's own (strict, llhttp) parser refused: malformed input that got through. */
  const appParseErrors: string[] = [];
  const outcomes = {
    answered4xx: 0,
    answered2xx: 0,
    answeredH2: 0,
    closedSilently: 0,
    forwarded: 0,
    truncated: 0,
  };

  beforeAll(async () => {
    app = await recordingApp();
    app.server.on("clientError", (err: Error & { code?: string; rawPacket?: Buffer }, socket: net.Socket) => {
      socket.destroy();
      // A request the client cut short (its body incomplete when it closed) reaches the app cut
      // short too, which is right: the app's parser sees the end mid-message, not bad syntax.
      if (TRUNCATED.has(err.code ?? "")) {
        outcomes.truncated++;
        return;
      }
      appParseErrors.push(
        `${err.code} ${err.message}: ${err.rawPacket?.toString("latin1").slice(0, 200) ?? ""}`,
      );
    });
    side = await startListener(() => ({ address: "127.0.0.1", port: app.port, protocol: "http1" }));
  });
  afterAll(async () => {
    await side?.close();
    await app?.close();
  });

  /**
   * Whatever arrives, the sidecar answers with an HTTP/1.1 status line or closes; never 5xx (that
   * would be the sidecar failing, the app never does); the app's parser never sees anything it
   * refuses, and what the app receives carries no raw control characters.
   */
  async function check(input: string): Promise<void> {
    const before = app.seen.length;
    const errorsBefore = appParseErrors.length;
    const { reply } = await exchange(side.port, input);
    // Per input (shrinking replays inputs): what the app's parser refused during this exchange.
    expect(
      appParseErrors.slice(errorsBefore),
      `the app's parser refused what came of ${JSON.stringify(input)}`,
    ).toEqual([]);
    if (reply === "") outcomes.closedSilently++;
    else if (input.startsWith(H2_PREFACE)) {
      // Sniffed as HTTP/2 prior knowledge: the answer is the server's SETTINGS frame (type 4).
      expect(reply.charCodeAt(3)).toBe(4);
      outcomes.answeredH2++;
    } else {
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(reply)?.[1];
      expect(
        status,
        `reply to ${JSON.stringify(input)}: ${JSON.stringify(reply.slice(0, 80))}`,
      ).toBeDefined();
      expect(Number(status)).toBeLessThan(500);
      if (status?.startsWith("4")) outcomes.answered4xx++;
      else outcomes.answered2xx++;
    }
    const got = app.seen.slice(before);
    if (got.length > 0) outcomes.forwarded++;
    for (const r of got) {
      for (const [name, value] of Object.entries(r.headers)) {
        const field = `${name}: ${String(value)}`;
        expect(
          ["\r", "\n", "\u0000"].some((c) => field.includes(c)),
          `${field} reached the app`,
        ).toBe(false);
      }
      // Origin-form, or absolute-form (RFC 9112 §3.2.2; forwarded as received, see the report).
      expect(r.url.startsWith("/") || r.url === "*" || /^https?:\/\/[^/\s]+(\/|$)/.test(r.url), r.url).toBe(
        true,
      );
    }
  }

  const common = {
    target: "http1-front",
    corpusDir: CORPUS,
    encoding: "latin1" as const,
    check,
    reachedApp: () => appParseErrors.length > 0,
    summary: () =>
      `${outcomes.answered4xx} answered 4xx, ${outcomes.closedSilently} closed, ${outcomes.answered2xx} answered 2xx/3xx (${outcomes.forwarded} forwarded well-formed), ${outcomes.answeredH2} taken as HTTP/2, ${outcomes.truncated} cut short by the client and so at the app`,
  };

  it("seed requests with random byte edits: a status line or a close, nothing malformed reaches the app", async () => {
    await fuzz({ ...common, property: "mutated seed requests", arbitrary: mutated, numRuns: 120 });
  });

  it("requests assembled from wrong pieces, and raw bytes", async () => {
    await fuzz({
      ...common,
      property: "assembled requests and raw bytes",
      arbitrary: fc.oneof(assembled, byteString(64)),
      numRuns: 120,
    });
  });

  it("still serves a well-formed request afterwards", async () => {
    const reply = await rawExchange(
      side.port,
      "GET /after HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n",
    );
    expect(reply.startsWith("HTTP/1.1 200 ")).toBe(true);
    console.info(`http1-front fuzz outcomes: ${common.summary()}`);
  });
});
