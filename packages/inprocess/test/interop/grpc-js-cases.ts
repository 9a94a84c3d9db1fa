import * as grpc from "@grpc/grpc-js";
import { expect } from "vitest";
import { ECHO_INITIAL, ECHO_TRAILING_BIN, type InteropPackage, type Payload } from "./grpc-js-server.ts";

/** Clients of the interop services for one path (@grpc/grpc-js channels to wherever the path starts). */
export interface GrpcJsPath {
  readonly pkg: InteropPackage;
  readonly test: grpc.Client;
  readonly unimplemented: grpc.Client;
  /** A TestService client that gzips every request message. */
  readonly gzip: grpc.Client;
}

/**
 * grpc-js clients of both interop services at `address` (plaintext unless `credentials`);
 * close() closes their channels.
 */
export function grpcJsPath(
  pkg: InteropPackage,
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): GrpcJsPath & { close(): void } {
  // With TLS, the name sent in SNI (an IP address is not allowed there); mesh certificates are
  // checked by SPIFFE ID, not by name.
  const options = { "grpc.ssl_target_name_override": "weft.local" };
  const test = new pkg.TestService(address, credentials, options);
  const unimplemented = new pkg.UnimplementedService(address, credentials, options);
  const gzip = new pkg.TestService(address, credentials, {
    ...options,
    "grpc.default_compression_algorithm": grpc.compressionAlgorithms.gzip,
  });
  return {
    pkg,
    test,
    unimplemented,
    gzip,
    close: () => {
      test.close();
      unimplemented.close();
      gzip.close();
    },
  };
}

export interface InteropCase {
  readonly name: string;
  run(path: GrpcJsPath): Promise<void>;
}

interface Reply<T> {
  value: T;
  header: grpc.Metadata;
  status: grpc.StatusObject;
}

type Method = grpc.MethodDefinition<unknown, unknown>;

function method(pkg: InteropPackage, name: string, service: "TestService" | "UnimplementedService"): Method {
  const m = pkg[service].service[name];
  if (!m) throw new Error(`${service} has no method ${name}`);
  return m;
}

/** A unary call; resolves with the response, header and status, rejects with the ServiceError. */
function unary<T>(
  client: grpc.Client,
  m: Method,
  request: unknown,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<Reply<T>> {
  return new Promise((resolve, reject) => {
    let header = new grpc.Metadata();
    let value: unknown;
    let error: grpc.ServiceError | null = null;
    const call = client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      request,
      metadata,
      options,
      (err, v) => {
        error = err;
        value = v;
      },
    );
    call.on("metadata", (md) => {
      header = md;
    });
    call.on("status", (status) => {
      // The callback runs before 'status'; the status carries the trailers.
      if (error) reject(error);
      else resolve({ value: value as T, header, status });
    });
  });
}

function expectCode(err: unknown, code: grpc.status): grpc.ServiceError {
  const e = err as grpc.ServiceError;
  expect(e.code, `expected ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`).toBe(code);
  return e;
}

const sizes = (p: Payload | null | undefined) => p?.body.length ?? 0;
const zeros = (n: number): Payload => ({ body: Buffer.alloc(n) });
/** interop-test-descriptions.md's special_status_message: whitespace, BMP and non-BMP characters. */
const SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \ud83d\ude08\t\n";
const REQUEST_SIZES = [27182, 8, 1828, 45904];
const RESPONSE_SIZES = [31415, 9, 2653, 58979];

/** Collects a duplex stream's responses and final status (or error) until it ends. */
function drain(call: grpc.ClientDuplexStream<unknown, unknown> | grpc.ClientReadableStream<unknown>) {
  const responses: { payload?: Payload }[] = [];
  let header = new grpc.Metadata();
  call.on("metadata", (md: grpc.Metadata) => {
    header = md;
  });
  call.on("data", (m: { payload?: Payload }) => responses.push(m));
  return new Promise<{ responses: typeof responses; header: grpc.Metadata; status: grpc.StatusObject }>(
    (resolve) => {
      call.on("error", () => {});
      call.on("status", (status: grpc.StatusObject) => resolve({ responses, header, status }));
    },
  );
}

/** The next response of a stream; rejects with the status if the call ends first. */
function nextData(
  call: grpc.ClientDuplexStream<unknown, unknown>,
  done: Promise<{ status: grpc.StatusObject }>,
): Promise<{ payload?: Payload }> {
  return Promise.race([
    new Promise<{ payload?: Payload }>((r) => call.once("data", r)),
    done.then(({ status }) => {
      throw new Error(`the call ended before a response: ${grpc.status[status.code]} ${status.details}`);
    }),
  ]);
}

/** The cases of grpc's interop-test-descriptions.md, as a grpc-js client runs them. */
export const grpcJsCases: readonly InteropCase[] = [
  {
    name: "empty_unary",
    async run(path) {
      const reply = await unary(path.test, method(path.pkg, "EmptyCall", "TestService"), {});
      expect(reply.value).toEqual({});
    },
  },
  {
    name: "large_unary",
    async run(path) {
      const reply = await unary<{ payload: Payload }>(
        path.test,
        method(path.pkg, "UnaryCall", "TestService"),
        { responseSize: 314159, payload: zeros(271828) },
      );
      expect(sizes(reply.value.payload)).toBe(314159);
      expect(reply.value.payload.body.every((b) => b === 0)).toBe(true);
    },
  },
  {
    name: "client_streaming",
    async run(path) {
      const m = method(path.pkg, "StreamingInputCall", "TestService");
      const result = await new Promise<{ aggregatedPayloadSize: number }>((resolve, reject) => {
        const call = path.test.makeClientStreamRequest(
          m.path,
          m.requestSerialize,
          m.responseDeserialize,
          (err, v) => (err ? reject(err) : resolve(v as { aggregatedPayloadSize: number })),
        );
        for (const n of REQUEST_SIZES) call.write({ payload: zeros(n) });
        call.end();
      });
      expect(result.aggregatedPayloadSize).toBe(74922);
    },
  },
  {
    name: "server_streaming",
    async run(path) {
      const m = method(path.pkg, "StreamingOutputCall", "TestService");
      const call = path.test.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {
        responseParameters: RESPONSE_SIZES.map((size) => ({ size })),
      });
      const { responses, status } = await drain(call);
      expect(status.code).toBe(grpc.status.OK);
      expect(responses.map((r) => sizes(r.payload))).toEqual(RESPONSE_SIZES);
    },
  },
  {
    name: "ping_pong",
    async run(path) {
      const m = method(path.pkg, "FullDuplexCall", "TestService");
      const call = path.test.makeBidiStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        new grpc.Metadata(),
      );
      const done = drain(call);
      const got: number[] = [];
      // Each request is written only after the previous response arrived: a real ping-pong.
      for (let i = 0; i < REQUEST_SIZES.length; i++) {
        const response = nextData(call, done);
        call.write({
          responseParameters: [{ size: RESPONSE_SIZES[i] }],
          payload: zeros(REQUEST_SIZES[i] ?? 0),
        });
        got.push(sizes((await response).payload));
      }
      call.end();
      const { status } = await done;
      expect(got).toEqual(RESPONSE_SIZES);
      expect(status.code).toBe(grpc.status.OK);
    },
  },
  {
    name: "empty_stream",
    async run(path) {
      const m = method(path.pkg, "FullDuplexCall", "TestService");
      const call = path.test.makeBidiStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        new grpc.Metadata(),
      );
      const done = drain(call);
      call.end();
      const { responses, status } = await done;
      expect(responses).toEqual([]);
      expect(status.code).toBe(grpc.status.OK);
    },
  },
  {
    name: "cancel_after_begin",
    async run(path) {
      const m = method(path.pkg, "StreamingInputCall", "TestService");
      const err = await new Promise<unknown>((resolve) => {
        const call = path.test.makeClientStreamRequest(
          m.path,
          m.requestSerialize,
          m.responseDeserialize,
          (e) => resolve(e),
        );
        call.cancel();
      });
      expectCode(err, grpc.status.CANCELLED);
    },
  },
  {
    name: "cancel_after_first_response",
    async run(path) {
      const m = method(path.pkg, "FullDuplexCall", "TestService");
      const call = path.test.makeBidiStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        new grpc.Metadata(),
      );
      const done = drain(call);
      const first = nextData(call, done);
      call.write({ responseParameters: [{ size: 31415 }], payload: zeros(27182) });
      expect(sizes((await first).payload)).toBe(31415);
      call.cancel();
      expect((await done).status.code).toBe(grpc.status.CANCELLED);
    },
  },
  {
    name: "timeout_on_sleeping_server",
    async run(path) {
      const m = method(path.pkg, "FullDuplexCall", "TestService");
      const call = path.test.makeBidiStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        new grpc.Metadata(),
        { deadline: Date.now() + 1 },
      );
      const done = drain(call);
      call.write({ payload: zeros(27182) });
      expect((await done).status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    },
  },
  {
    name: "custom_metadata",
    async run(path) {
      const metadata = () => {
        const md = new grpc.Metadata();
        md.set(ECHO_INITIAL, "test_initial_metadata_value");
        md.set(ECHO_TRAILING_BIN, Buffer.from([0xab, 0xab, 0xab]));
        return md;
      };
      const reply = await unary<{ payload: Payload }>(
        path.test,
        method(path.pkg, "UnaryCall", "TestService"),
        { responseSize: 314159, payload: zeros(271828) },
        metadata(),
      );
      expect(sizes(reply.value.payload)).toBe(314159);
      expect(reply.header.get(ECHO_INITIAL)).toEqual(["test_initial_metadata_value"]);
      expect(reply.status.metadata.get(ECHO_TRAILING_BIN)).toEqual([Buffer.from([0xab, 0xab, 0xab])]);

      const m = method(path.pkg, "FullDuplexCall", "TestService");
      const call = path.test.makeBidiStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        metadata(),
      );
      const done = drain(call);
      call.write({ responseParameters: [{ size: 314159 }], payload: zeros(271828) });
      call.end();
      const { responses, header, status } = await done;
      expect(status.code).toBe(grpc.status.OK);
      expect(responses.map((r) => sizes(r.payload))).toEqual([314159]);
      expect(header.get(ECHO_INITIAL)).toEqual(["test_initial_metadata_value"]);
      expect(status.metadata.get(ECHO_TRAILING_BIN)).toEqual([Buffer.from([0xab, 0xab, 0xab])]);
    },
  },
  {
    name: "status_code_and_message",
    async run(path) {
      const responseStatus = { code: 2, message: "test status message" };
      const err = await unary(path.test, method(path.pkg, "UnaryCall", "TestService"), {
        responseStatus,
      }).catch((e: unknown) => e);
      expect(expectCode(err, grpc.status.UNKNOWN).details).toBe("test status message");

      const m = method(path.pkg, "FullDuplexCall", "TestService");
      const call = path.test.makeBidiStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        new grpc.Metadata(),
      );
      const done = drain(call);
      call.write({ responseStatus });
      call.end();
      const { status } = await done;
      expect(status.code).toBe(grpc.status.UNKNOWN);
      expect(status.details).toBe("test status message");
    },
  },
  {
    name: "special_status_message",
    async run(path) {
      const err = await unary(path.test, method(path.pkg, "UnaryCall", "TestService"), {
        responseStatus: { code: 2, message: SPECIAL_MESSAGE },
      }).catch((e: unknown) => e);
      expect(expectCode(err, grpc.status.UNKNOWN).details).toBe(SPECIAL_MESSAGE);
    },
  },
  {
    // client_compressed_unary and client_compressed_streaming, without the probe for servers
    // that cannot decompress: every server on these paths must accept gzip.
    name: "client_compressed (gzip)",
    async run(path) {
      const call = unary<{ payload: Payload }>(path.gzip, method(path.pkg, "UnaryCall", "TestService"), {
        responseSize: 314159,
        payload: zeros(271828),
      });
      expect(sizes((await call).value.payload)).toBe(314159);
      const m = method(path.pkg, "StreamingInputCall", "TestService");
      const result = await new Promise<{ aggregatedPayloadSize: number }>((resolve, reject) => {
        const stream = path.gzip.makeClientStreamRequest(
          m.path,
          m.requestSerialize,
          m.responseDeserialize,
          (err, v) => (err ? reject(err) : resolve(v as { aggregatedPayloadSize: number })),
        );
        stream.write({ payload: zeros(27182) });
        stream.write({ payload: zeros(45904) });
        stream.end();
      });
      expect(result.aggregatedPayloadSize).toBe(73086);
    },
  },
  {
    name: "unimplemented_method",
    async run(path) {
      const err = await unary(path.test, method(path.pkg, "UnimplementedCall", "TestService"), {}).catch(
        (e: unknown) => e,
      );
      expectCode(err, grpc.status.UNIMPLEMENTED);
    },
  },
  {
    name: "unimplemented_service",
    async run(path) {
      const err = await unary(
        path.unimplemented,
        method(path.pkg, "UnimplementedCall", "UnimplementedService"),
        {},
      ).catch((e: unknown) => e);
      expectCode(err, grpc.status.UNIMPLEMENTED);
    },
  },
];
