import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { CountResponseSchema, EchoService, SayResponseSchema } from "./echo-service.ts";

/**
 * The echo service as an app: `say` answers `echo:<text>` with a trailer and the caller identity
 * it was told of (x-weft-peer-identity from a sidecar), and fails with FailedPrecondition and a
 * trailer for the text "fail".
 */
export function echoImpl(): ServiceImpl<typeof EchoService> {
  const caller = (ctx: HandlerContext) => ctx.requestHeader.get("x-weft-peer-identity") ?? "";
  return {
    say: (req, ctx) => {
      if (req.text === "fail") {
        ctx.responseTrailer.set("x-why", "asked to");
        throw new ConnectError("app says no", Code.FailedPrecondition);
      }
      ctx.responseTrailer.set("x-trailer", "from-app");
      return create(SayResponseSchema, { text: `echo:${req.text}`, caller: caller(ctx) });
    },
    create: (req, ctx) => create(SayResponseSchema, { text: req.text, caller: caller(ctx) }),
    async *count(req) {
      for (let n = 1; n <= req.upTo; n++) yield create(CountResponseSchema, { n });
    },
    async collect(reqs) {
      const parts: string[] = [];
      for await (const r of reqs) parts.push(r.text);
      return create(SayResponseSchema, { text: parts.join(" ") });
    },
    async *chat(reqs) {
      for await (const r of reqs) yield create(SayResponseSchema, { text: r.text.toUpperCase() });
    },
  };
}

/** The echo service on an h2c server on 127.0.0.1 (a free port); close() ends its sessions. */
export async function startEchoApp() {
  const server = http2.createServer(
    connectNodeAdapter({ routes: (r) => r.service(EchoService, echoImpl()) }),
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sessions) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
