import { type Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { EchoStatus, TestService } from "./gen/weft/interop/v1/test_pb.js";

const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_TRAILING_BIN = "x-grpc-test-echo-trailing-bin";

const zeros = (n: number) => ({ body: new Uint8Array(n) });

function echoMetadata(ctx: HandlerContext): void {
  const initial = ctx.requestHeader.get(ECHO_INITIAL);
  if (initial !== null) ctx.responseHeader.set(ECHO_INITIAL, initial);
  const trailing = ctx.requestHeader.get(ECHO_TRAILING_BIN);
  if (trailing !== null) ctx.responseTrailer.set(ECHO_TRAILING_BIN, trailing);
}

function failWith(status: EchoStatus | undefined): void {
  if (status && status.code !== 0) throw new ConnectError(status.message, status.code as Code);
}

function wait(us: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, us / 1000);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * The interop TestService as a connect-es implementation (what an in-process mesh serves), per
 * interop-test-descriptions.md; UnimplementedCall is left out so the router answers UNIMPLEMENTED.
 */
export function connectTestService(): Partial<ServiceImpl<typeof TestService>> {
  return {
    emptyCall: () => ({}),
    unaryCall(req, ctx) {
      echoMetadata(ctx);
      failWith(req.responseStatus);
      return { payload: zeros(req.responseSize) };
    },
    async *streamingOutputCall(req, ctx) {
      for (const p of req.responseParameters) {
        if (p.intervalUs) await wait(p.intervalUs, ctx.signal);
        yield { payload: zeros(p.size) };
      }
    },
    async streamingInputCall(reqs) {
      let size = 0;
      for await (const r of reqs) size += r.payload?.body.length ?? 0;
      return { aggregatedPayloadSize: size };
    },
    async *fullDuplexCall(reqs, ctx) {
      echoMetadata(ctx);
      for await (const r of reqs) {
        failWith(r.responseStatus);
        for (const p of r.responseParameters) {
          if (p.intervalUs) await wait(p.intervalUs, ctx.signal);
          yield { payload: zeros(p.size) };
        }
      }
    },
  };
}
