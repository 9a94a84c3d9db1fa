import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type DescService, type Message, toJson } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConvertedSidecar, startConvertedSidecar } from "../convert/converted-sidecar.ts";

interface Exercise {
  order: unknown;
  events: unknown[];
  error: { code: number; message: string };
  streamError: { events: unknown[]; code: number; message: string };
}
interface PageResults {
  grpcWeb: Exercise;
  connect: Exercise;
  connectBinary: Exercise;
  rest: { status: number; json: unknown };
  restPost: { status: number; json: unknown };
}

/**
 * A page in Debian's Chromium, served from its own origin (127.0.0.1, another port), calls the
 * gRPC-only backend through the sidecar's conversion port with connect-web: every call is
 * cross-origin, so the sidecar's CORS answers (preflight included) are what let it through.
 */
describe("a browser page calls a gRPC-only backend through the sidecar", () => {
  let page: http.Server;
  let pagePort: number;
  let s: ConvertedSidecar;
  let browser: Browser;
  let results: PageResults;
  let direct: Client<DescService>;

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [join(import.meta.dirname, "page.ts")],
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      logLevel: "silent",
    });
    const script = bundle.outputFiles[0]?.contents ?? new Uint8Array(0);
    let html = "";
    page = http.createServer((req, res) => {
      if (req.url === "/page.js") {
        res.writeHead(200, { "content-type": "text/javascript" }).end(script);
      } else if (req.url === "/") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => page.listen(0, "127.0.0.1", r));
    pagePort = (page.address() as AddressInfo).port;
    s = await startConvertedSidecar({
      allowedOrigins: [`http://127.0.0.1:${pagePort}`],
      allowedHeaders: ["x-caller"],
    });
    direct = createClient(s.service, createGrpcTransport({ baseUrl: `http://127.0.0.1:${s.backend.port}` }));
    const config = {
      sidecar: `http://127.0.0.1:${s.convertPort}`,
      descriptorSet: base64Encode(s.descriptorSet),
    };
    html = `<!doctype html><title>weft</title><script>globalThis.WEFT = ${JSON.stringify(config)};</script><script type="module" src="/page.js"></script>`;
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${pagePort}/`);
    await tab.waitForFunction(
      () => {
        const g = globalThis as unknown as { results?: unknown; failure?: string };
        return g.results !== undefined || g.failure !== undefined;
      },
      undefined,
      { timeout: 15_000 },
    );
    const out = await tab.evaluate(() => {
      const g = globalThis as unknown as { results?: unknown; failure?: string };
      return { results: g.results, failure: g.failure };
    });
    if (out.failure) throw new Error(`the page failed: ${out.failure}`);
    results = out.results as PageResults;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await s?.close();
    page?.closeAllConnections();
    await new Promise<void>((r) => (page ? page.close(() => r()) : r()));
  });

  const method = (name: string) => s.service.methods.find((m) => m.name === name);
  const viaGrpc = async (name: string, input: unknown, headers?: Record<string, string>) => {
    const m = method(name);
    if (!m) throw new Error(name);
    const call = direct[m.localName] as unknown as (i: unknown, o?: unknown) => Promise<Message>;
    return toJson(m.output, await call(input, { headers }));
  };
  const watchDirect = async (input: unknown) => {
    const m = method("WatchOrder");
    if (!m) throw new Error("WatchOrder");
    const events: unknown[] = [];
    let error: ConnectError | undefined;
    try {
      for await (const e of (direct[m.localName] as unknown as (i: unknown) => AsyncIterable<Message>)(input))
        events.push(toJson(m.output, e));
    } catch (e) {
      error = ConnectError.from(e);
    }
    return { events, error };
  };

  for (const transport of ["grpcWeb", "connect", "connectBinary"] as const) {
    it(`${transport}: unary, server streaming and both kinds of error equal the direct gRPC calls`, async () => {
      const r = results[transport];
      expect(r.order).toEqual(
        await viaGrpc(
          "GetOrder",
          { shop: "web", orderId: "o-1", includeItems: true },
          { "x-caller": "page" },
        ),
      );
      expect(r.order).toMatchObject({ caller: "page", totalCents: "9007199254740993" });
      const watched = await watchDirect({ orderId: "w-1", events: 3 });
      expect(r.events).toHaveLength(3);
      expect(r.events).toEqual(watched.events);
      const missing = await viaGrpc("GetOrder", { shop: "web", orderId: "missing" }).catch((e: unknown) =>
        ConnectError.from(e),
      );
      expect(r.error).toEqual({
        code: (missing as ConnectError).code,
        message: (missing as ConnectError).rawMessage,
      });
      const failed = await watchDirect({ orderId: "w-2", events: 2, failWith: 9 });
      expect(r.streamError).toEqual({
        events: failed.events,
        code: failed.error?.code,
        message: failed.error?.rawMessage,
      });
    });
  }

  it("REST from the page: a simple GET and a preflighted JSON POST", async () => {
    expect(results.rest.status).toBe(200);
    expect(results.rest.json).toEqual(
      await viaGrpc("GetOrder", { shop: "web", orderId: "o-1", includeItems: true }),
    );
    expect(results.restPost).toEqual({
      status: 200,
      json: { orderId: "new-p1", shop: "web", note: "from the page" },
    });
  });

  it("the sidecar converted each protocol the page spoke", () => {
    for (const protocol of ["grpc-web", "connect-unary", "connect-stream", "rest"]) {
      expect(s.sidecar.stats.get("weft_sidecar_converted_total", { protocol })).toBeGreaterThan(0);
    }
  });
});
