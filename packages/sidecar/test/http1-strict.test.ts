import net from "node:net";
import { reportHardening } from "@weft/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawExchange, recordingApp, startListener } from "./helpers.ts";

// The sidecar's HTTP/1.1 front (sniffing listener + strict parser) in front of an app that records
// what reaches it: malformed framing must be refused by the sidecar and never reach the app.
describe("strict HTTP/1.1 in front of an app", () => {
  let app: Awaited<ReturnType<typeof recordingApp>>;
  let side: Awaited<ReturnType<typeof startListener>>;
  beforeAll(async () => {
    app = await recordingApp();
    side = await startListener(() => ({ address: "127.0.0.1", port: app.port, protocol: "http1" }));
  });
  afterAll(async () => {
    await side.close();
    await app.close();
  });

  const refused: [string, string, number][] = [
    [
      "Content-Length with Transfer-Encoding",
      "POST /a HTTP/1.1\r\nHost: app\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app\r\n\r\n",
      400,
    ],
    [
      "two different Content-Lengths",
      "POST /a HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nhello",
      400,
    ],
    ["no Host", "GET /a HTTP/1.1\r\n\r\n", 400],
    ["obs-fold header", "GET /a HTTP/1.1\r\nHost: app\r\nX-A: 1\r\n  folded\r\n\r\n", 400],
    [
      "bad chunk size",
      "POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      400,
    ],
    ["space before colon", "GET /a HTTP/1.1\r\nHost : app\r\n\r\n", 400],
    ["bare LF line ends", "GET /a HTTP/1.1\nHost: app\n\n", 400],
    [
      "Transfer-Encoding not ending in chunked",
      "POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: gzip\r\n\r\nabc",
      400,
    ],
    [
      "duplicate Content-Length in one field (4, 4)",
      "POST /a HTTP/1.1\r\nHost: app\r\nContent-Length: 4, 4\r\n\r\nabcd",
      400,
    ],
    ["signed Content-Length (+4)", "POST /a HTTP/1.1\r\nHost: app\r\nContent-Length: +4\r\n\r\nabcd", 400],
    [
      "Transfer-Encoding gzip, chunked (501, as Envoy)",
      "POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      501,
    ],
    [
      "Transfer-Encoding chunked, gzip",
      "POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      400,
    ],
    [
      "Transfer-Encoding xchunked",
      "POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: xchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      400,
    ],
    ["NUL in a header value", "GET /a HTTP/1.1\r\nHost: app\r\nX-A: a\0b\r\n\r\n", 400],
    ["control character in a header value", "GET /a HTTP/1.1\r\nHost: app\r\nX-A: a\x01b\r\n\r\n", 400],
    ["space in a header name", "GET /a HTTP/1.1\r\nHost: app\r\nX A: 1\r\n\r\n", 400],
    ["two Host headers", "GET /a HTTP/1.1\r\nHost: app\r\nHost: other\r\n\r\n", 400],
    ["headers over 60 KiB", `GET /a HTTP/1.1\r\nHost: app\r\nX-Big: ${"a".repeat(62 * 1024)}\r\n\r\n`, 431],
    [
      "more than 100 header fields",
      `GET /a HTTP/1.1\r\nHost: app\r\n${Array.from({ length: 100 }, (_, i) => `X-H${i}: v\r\n`).join("")}\r\n`,
      431,
    ],
  ];

  for (const [name, bytes, status] of refused) {
    it(`refuses ${name} with ${status} and forwards nothing`, async () => {
      const before = app.seen.length;
      const reply = await rawExchange(side.port, bytes);
      reportHardening({
        class: "http1-framing",
        case: name,
        refused: /^HTTP\/1\.1 [45]/.test(reply),
        reachedApp: app.seen.length !== before,
      });
      expect(reply.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      expect(app.seen.length).toBe(before);
    });
  }

  it("forwards a well-formed chunked request with trailers, keep-alive, two requests on one connection", async () => {
    const before = app.seen.length;
    const reply = await rawExchange(
      side.port,
      "POST /one HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n5\r\nhello\r\n0\r\nx-sum: 42\r\n\r\n" +
        "GET /two HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n",
    );
    expect(reply.match(/HTTP\/1\.1 200 OK/g)?.length).toBe(2);
    expect(reply).toContain("echo:hello");
    expect(app.seen.slice(before).map((r) => r.url)).toEqual(["/one", "/two"]);
    expect(app.seen[before]?.trailers).toEqual({ "x-sum": "42" });
    expect(app.seen[before]?.body).toBe("hello");
  });

  it("a request of exactly 100 header fields is forwarded", async () => {
    const headers = Array.from({ length: 98 }, (_, i) => `X-H${i}: v\r\n`).join("");
    const reply = await rawExchange(
      side.port,
      `GET /ok HTTP/1.1\r\nHost: app\r\n${headers}Connection: close\r\n\r\n`,
    );
    expect(reply.startsWith("HTTP/1.1 200 ")).toBe(true);
  });
});

// RFC 9112 §3.2.2: an absolute-form target's authority wins over Host; the sidecar routes on
// that one authority and hands the app an origin-form request.
describe("absolute-form request targets", () => {
  let app: Awaited<ReturnType<typeof recordingApp>>;
  let side: Awaited<ReturnType<typeof startListener>>;
  const routedOn: string[] = [];
  beforeAll(async () => {
    app = await recordingApp();
    side = await startListener((req) => {
      routedOn.push(String(req.headers.host));
      return { address: "127.0.0.1", port: app.port, protocol: "http1" };
    });
  });
  afterAll(async () => {
    await side.close();
    await app.close();
  });

  it("routes on the target's authority, not a Host that differs, and forwards origin-form", async () => {
    const before = app.seen.length;
    const reply = await rawExchange(
      side.port,
      "GET http://orders.shop/a?x=1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    expect(reply.startsWith("HTTP/1.1 200 ")).toBe(true);
    expect(routedOn.at(-1)).toBe("orders.shop");
    expect(app.seen.slice(before).map((r) => r.url)).toEqual(["/a?x=1"]);
    expect(JSON.stringify(app.seen.at(-1)?.headers)).not.toContain("evil.example");
    reportHardening({
      class: "http1-framing",
      case: "absolute-form URL whose authority differs from Host",
      refused: routedOn.at(-1) === "orders.shop",
      reachedApp: app.seen.at(-1)?.headers.host === "evil.example",
    });
  });

  it("refuses a target that is neither a path nor an http(s) URL, forwarding nothing", async () => {
    const before = app.seen.length;
    const reply = await rawExchange(
      side.port,
      "GET ftp://orders.shop/a HTTP/1.1\r\nHost: orders.shop\r\n\r\n",
    );
    expect(reply.startsWith("HTTP/1.1 400 ")).toBe(true);
    expect(app.seen.length).toBe(before);
  });
});

describe("a client that half-closes after its request", () => {
  it("still gets the answer, and the app got the request once", async () => {
    const app = await recordingApp();
    const side = await startListener(() => ({ address: "127.0.0.1", port: app.port, protocol: "http1" }));
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const s = net.connect(side.port, "127.0.0.1", () =>
          s.end("POST /half HTTP/1.1\r\nHost: app\r\nContent-Length: 2\r\n\r\nhi"),
        );
        const chunks: Buffer[] = [];
        const timer = setTimeout(() => s.destroy(), 3_000);
        s.on("data", (c: Buffer) => chunks.push(c));
        s.on("error", reject);
        s.on("close", () => {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString("latin1"));
        });
      });
      expect(reply.startsWith("HTTP/1.1 200 ")).toBe(true);
      expect(reply).toContain("echo:hi");
      expect(app.seen.map((r) => r.url)).toEqual(["/half"]);
    } finally {
      await side.close();
      await app.close();
    }
  });
});

// Envoy's headers_with_underscores_action: X_Auth and X-Auth are one header to some servers.
describe("header names with underscores", () => {
  for (const mode of ["reject", "drop"] as const) {
    it(`${mode === "reject" ? "refuses the request (400)" : "drops the header"} when configured to ${mode}`, async () => {
      const app = await recordingApp();
      const side = await startListener(() => ({ address: "127.0.0.1", port: app.port, protocol: "http1" }), {
        headersWithUnderscores: mode,
      });
      try {
        const reply = await rawExchange(
          side.port,
          "GET /u HTTP/1.1\r\nHost: app\r\nX_Auth: admin\r\nX-Ok: 1\r\nConnection: close\r\n\r\n",
        );
        const forwarded = app.seen.at(-1)?.headers;
        if (mode === "reject") {
          expect(reply.startsWith("HTTP/1.1 400 ")).toBe(true);
          expect(reply).toContain("header name x_auth holds an underscore");
          expect(app.seen).toEqual([]);
        } else {
          expect(reply.startsWith("HTTP/1.1 200 ")).toBe(true);
          expect(forwarded?.x_auth).toBeUndefined();
          expect(forwarded?.["x-ok"]).toBe("1");
        }
        reportHardening({
          class: "http1-framing",
          case: `header name with an underscore (${mode})`,
          refused: mode === "reject" ? reply.startsWith("HTTP/1.1 400 ") : forwarded?.x_auth === undefined,
          reachedApp: app.seen.some((r) => r.headers.x_auth !== undefined),
        });
      } finally {
        await side.close();
        await app.close();
      }
    });
  }

  it("forwards them by default, as Envoy does", async () => {
    const app = await recordingApp();
    const side = await startListener(() => ({ address: "127.0.0.1", port: app.port, protocol: "http1" }));
    try {
      const reply = await rawExchange(
        side.port,
        "GET /u HTTP/1.1\r\nHost: app\r\nX_Auth: a\r\nConnection: close\r\n\r\n",
      );
      expect(reply.startsWith("HTTP/1.1 200 ")).toBe(true);
      expect(app.seen.at(-1)?.headers.x_auth).toBe("a");
    } finally {
      await side.close();
      await app.close();
    }
  });
});
