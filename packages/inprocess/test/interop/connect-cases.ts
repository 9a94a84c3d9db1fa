import { type Client, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { expect } from "vitest";
import {
  type StreamingOutputCallRequest,
  type StreamingOutputCallResponse,
  TestService,
  UnimplementedService,
} from "./gen/weft/interop/v1/test_pb.js";

/** Typed clients of both interop services over one transport (a mesh's, for the in-process shape). */
export interface ConnectPath {
  readonly test: Client<typeof TestService>;
  readonly unimplemented: Client<typeof UnimplementedService>;
}

export function connectPath(
  transportFor: (service: typeof TestService | typeof UnimplementedService) => Transport,
) {
  return {
    test: createClient(TestService, transportFor(TestService)),
    unimplemented: createClient(UnimplementedService, transportFor(UnimplementedService)),
  };
}

export interface ConnectInteropCase {
  readonly name: string;
  run(path: ConnectPath): Promise<void>;
}

const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_TRAILING_BIN = "x-grpc-test-echo-trailing-bin";
/** 0xababab, base64 as gRPC carries -bin metadata. */
const ABABAB = "q6ur";
/** interop-test-descriptions.md's special_status_message: whitespace, BMP and non-BMP characters. */
const SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \ud83d\ude08\t\n";
const REQUEST_SIZES = [27182, 8, 1828, 45904];
const RESPONSE_SIZES = [31415, 9, 2653, 58979];

const zeros = (n: number) => ({ body: new Uint8Array(n) });
const size = (m: StreamingOutputCallResponse | undefined) => m?.payload?.body.length ?? -1;
const aborted = (signal: AbortSignal) =>
  new Promise<void>((r) =>
    signal.aborted ? r() : signal.addEventListener("abort", () => r(), { once: true }),
  );

async function codeOf(p: Promise<unknown>): Promise<ConnectError> {
  const err = ConnectError.from(await p.then(() => new Error("the call succeeded")).catch((e: unknown) => e));
  return err;
}

function expectCode(err: ConnectError, code: Code): void {
  expect(err.code, `expected ${Code[code]}, got ${Code[err.code]}: ${err.message}`).toBe(code);
}

async function collect(stream: AsyncIterable<StreamingOutputCallResponse>): Promise<number[]> {
  const out: number[] = [];
  for await (const m of stream) out.push(size(m));
  return out;
}

/** The cases of grpc's interop-test-descriptions.md, as a connect-es client (a mesh client) runs them. */
export const connectCases: readonly ConnectInteropCase[] = [
  {
    name: "empty_unary",
    async run({ test }) {
      const res = await test.emptyCall({});
      expect(res.$typeName).toBe("weft.interop.v1.Empty");
    },
  },
  {
    name: "large_unary",
    async run({ test }) {
      const res = await test.unaryCall({ responseSize: 314159, payload: zeros(271828) });
      expect(res.payload?.body.length).toBe(314159);
      expect(res.payload?.body.every((b) => b === 0)).toBe(true);
    },
  },
  {
    name: "client_streaming",
    async run({ test }) {
      async function* requests() {
        for (const n of REQUEST_SIZES) yield { payload: zeros(n) };
      }
      const res = await test.streamingInputCall(requests());
      expect(res.aggregatedPayloadSize).toBe(74922);
    },
  },
  {
    name: "server_streaming",
    async run({ test }) {
      const got = await collect(
        test.streamingOutputCall({ responseParameters: RESPONSE_SIZES.map((s) => ({ size: s })) }),
      );
      expect(got).toEqual(RESPONSE_SIZES);
    },
  },
  {
    name: "ping_pong",
    async run({ test }) {
      let next: () => void = () => {};
      // A request is written only after the previous response arrived: a real ping-pong.
      async function* requests() {
        for (let i = 0; i < REQUEST_SIZES.length; i++) {
          yield {
            responseParameters: [{ size: RESPONSE_SIZES[i] ?? 0 }],
            payload: zeros(REQUEST_SIZES[i] ?? 0),
          };
          await new Promise<void>((r) => {
            next = r;
          });
        }
      }
      const responses = test.fullDuplexCall(requests())[Symbol.asyncIterator]();
      const got: number[] = [];
      for (let i = 0; i < REQUEST_SIZES.length; i++) {
        const r = await responses.next();
        got.push(r.done ? -1 : size(r.value));
        next();
      }
      expect(got).toEqual(RESPONSE_SIZES);
      expect((await responses.next()).done).toBe(true);
    },
  },
  {
    name: "empty_stream",
    async run({ test }) {
      async function* none(): AsyncGenerator<StreamingOutputCallRequest> {}
      expect(await collect(test.fullDuplexCall(none()))).toEqual([]);
    },
  },
  {
    name: "cancel_after_begin",
    async run({ test }) {
      const abort = new AbortController();
      async function* requests() {
        await aborted(abort.signal);
        yield* [];
      }
      const call = test.streamingInputCall(requests(), { signal: abort.signal });
      setTimeout(() => abort.abort(), 10);
      expectCode(await codeOf(call), Code.Canceled);
    },
  },
  {
    name: "cancel_after_first_response",
    async run({ test }) {
      const abort = new AbortController();
      async function* requests() {
        yield { responseParameters: [{ size: 31415 }], payload: zeros(27182) };
        await aborted(abort.signal);
      }
      const responses = test.fullDuplexCall(requests(), { signal: abort.signal })[Symbol.asyncIterator]();
      const first = await responses.next();
      expect(first.done ? -1 : size(first.value)).toBe(31415);
      abort.abort();
      expectCode(await codeOf(responses.next()), Code.Canceled);
    },
  },
  {
    name: "timeout_on_sleeping_server",
    async run({ test }) {
      const done = new AbortController();
      async function* requests() {
        yield { payload: zeros(27182) };
        await aborted(done.signal);
      }
      try {
        const err = await codeOf(collect(test.fullDuplexCall(requests(), { timeoutMs: 1 })));
        expectCode(err, Code.DeadlineExceeded);
      } finally {
        done.abort();
      }
    },
  },
  {
    name: "custom_metadata",
    async run({ test }) {
      // Each call gets its own record of what came back, so the second cannot pass on the first's.
      const withMetadata = () => {
        const seen: { header?: Headers; trailer?: Headers } = {};
        const options = {
          headers: { [ECHO_INITIAL]: "test_initial_metadata_value", [ECHO_TRAILING_BIN]: ABABAB },
          onHeader: (h: Headers) => {
            seen.header = h;
          },
          onTrailer: (t: Headers) => {
            seen.trailer = t;
          },
        };
        return { seen, options };
      };
      const unary = withMetadata();
      const res = await test.unaryCall({ responseSize: 314159, payload: zeros(271828) }, unary.options);
      expect(res.payload?.body.length).toBe(314159);
      expect(unary.seen.header?.get(ECHO_INITIAL)).toBe("test_initial_metadata_value");
      expect(unary.seen.trailer?.get(ECHO_TRAILING_BIN)).toBe(ABABAB);

      const stream = withMetadata();
      async function* one() {
        yield { responseParameters: [{ size: 314159 }], payload: zeros(271828) };
      }
      expect(await collect(test.fullDuplexCall(one(), stream.options))).toEqual([314159]);
      expect(stream.seen.header?.get(ECHO_INITIAL)).toBe("test_initial_metadata_value");
      expect(stream.seen.trailer?.get(ECHO_TRAILING_BIN)).toBe(ABABAB);
    },
  },
  {
    name: "status_code_and_message",
    async run({ test }) {
      const responseStatus = { code: 2, message: "test status message" };
      const unary = await codeOf(test.unaryCall({ responseStatus }));
      expectCode(unary, Code.Unknown);
      expect(unary.rawMessage).toBe("test status message");
      async function* one() {
        yield { responseStatus };
      }
      const stream = await codeOf(collect(test.fullDuplexCall(one())));
      expectCode(stream, Code.Unknown);
      expect(stream.rawMessage).toBe("test status message");
    },
  },
  {
    name: "special_status_message",
    async run({ test }) {
      const err = await codeOf(test.unaryCall({ responseStatus: { code: 2, message: SPECIAL_MESSAGE } }));
      expectCode(err, Code.Unknown);
      expect(err.rawMessage).toBe(SPECIAL_MESSAGE);
    },
  },
  {
    name: "unimplemented_method",
    async run({ test }) {
      expectCode(await codeOf(test.unimplementedCall({})), Code.Unimplemented);
    },
  },
  {
    name: "unimplemented_service",
    async run({ unimplemented }) {
      expectCode(await codeOf(unimplemented.unimplementedCall({})), Code.Unimplemented);
    },
  },
];
