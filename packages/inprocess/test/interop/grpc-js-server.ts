import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Weft's interop proto (the shape of grpc's TestService), loaded for @grpc/grpc-js. */
export const INTEROP_PROTO = fileURLToPath(new URL("./proto/weft/interop/v1/test.proto", import.meta.url));
export const TEST_SERVICE = "weft.interop.v1.TestService";
export const UNIMPLEMENTED_SERVICE = "weft.interop.v1.UnimplementedService";

// grpc-js objects as proto-loader decodes them (camelCase fields, bytes as Buffer).
export interface Payload {
  body: Buffer;
}
export interface EchoStatus {
  code: number;
  message: string;
}
export interface SimpleRequest {
  responseSize?: number;
  payload?: Payload | null;
  responseStatus?: EchoStatus | null;
}
export interface StreamingOutputCallRequest {
  responseParameters?: { size: number; intervalUs?: number }[];
  payload?: Payload | null;
  responseStatus?: EchoStatus | null;
}

type ClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => grpc.Client;

export interface InteropPackage {
  TestService: ClientConstructor & { service: grpc.ServiceDefinition };
  UnimplementedService: ClientConstructor & { service: grpc.ServiceDefinition };
}

export function loadInteropPackage(): InteropPackage {
  const definition = protoLoader.loadSync(INTEROP_PROTO, { defaults: true });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    weft: { interop: { v1: InteropPackage } };
  };
  return root.weft.interop.v1;
}

export const ECHO_INITIAL = "x-grpc-test-echo-initial";
export const ECHO_TRAILING_BIN = "x-grpc-test-echo-trailing-bin";

const zeros = (n: number): Payload => ({ body: Buffer.alloc(n) });

/** Echoes the interop metadata: initial metadata in the response header, the -bin one in trailers. */
function echoMetadata(
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
) {
  const initial = call.metadata.get(ECHO_INITIAL);
  if (initial.length > 0) {
    const header = new grpc.Metadata();
    for (const v of initial) header.add(ECHO_INITIAL, v);
    call.sendMetadata(header);
  }
  const trailer = new grpc.Metadata();
  for (const v of call.metadata.get(ECHO_TRAILING_BIN)) trailer.add(ECHO_TRAILING_BIN, v);
  return trailer;
}

function statusError(status: EchoStatus, trailer: grpc.Metadata): Partial<grpc.StatusObject> {
  return { code: status.code, details: status.message, metadata: trailer };
}

/**
 * grpc's interop TestService, as interop-test-descriptions.md specifies the server: EmptyCall,
 * UnaryCall (response_size zeros, response_status), StreamingOutputCall, StreamingInputCall
 * (aggregated size), FullDuplexCall (one response per request, in order); UnimplementedCall is
 * left out so grpc-js answers UNIMPLEMENTED.
 */
export function testServiceImpl(): grpc.UntypedServiceImplementation {
  return {
    EmptyCall: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, {}),
    UnaryCall: (call: grpc.ServerUnaryCall<SimpleRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const trailer = echoMetadata(call);
      const status = call.request.responseStatus;
      if (status && status.code !== 0) {
        cb(statusError(status, trailer));
        return;
      }
      cb(null, { payload: zeros(call.request.responseSize ?? 0) }, trailer);
    },
    StreamingOutputCall: (call: grpc.ServerWritableStream<StreamingOutputCallRequest, unknown>) => {
      void (async () => {
        for (const p of call.request.responseParameters ?? []) {
          if (p.intervalUs) await new Promise((r) => setTimeout(r, (p.intervalUs ?? 0) / 1000));
          if (call.cancelled) return;
          call.write({ payload: zeros(p.size) });
        }
        call.end();
      })();
    },
    StreamingInputCall: (
      call: grpc.ServerReadableStream<{ payload?: Payload | null }, unknown>,
      cb: grpc.sendUnaryData<unknown>,
    ) => {
      let size = 0;
      call.on("data", (m: { payload?: Payload | null }) => {
        size += m.payload?.body.length ?? 0;
      });
      call.on("end", () => cb(null, { aggregatedPayloadSize: size }));
      call.on("error", () => {});
    },
    FullDuplexCall: (call: grpc.ServerDuplexStream<StreamingOutputCallRequest, unknown>) => {
      const trailer = echoMetadata(call);
      let failed = false;
      // Requests are answered one after another, so a response's interval never reorders them.
      let queue = Promise.resolve();
      call.on("data", (m: StreamingOutputCallRequest) => {
        queue = queue.then(async () => {
          if (failed || call.cancelled) return;
          if (m.responseStatus && m.responseStatus.code !== 0) {
            failed = true;
            call.emit("error", statusError(m.responseStatus, trailer));
            return;
          }
          for (const p of m.responseParameters ?? []) {
            if (p.intervalUs) await new Promise((r) => setTimeout(r, (p.intervalUs ?? 0) / 1000));
            if (call.cancelled) return;
            call.write({ payload: zeros(p.size) });
          }
        });
      });
      call.on("end", () => {
        void queue.then(() => {
          if (!failed && !call.cancelled) call.end(trailer);
        });
      });
      call.on("error", () => {});
    },
  };
}

/** Credentials for a grpc-js server in the mesh: its workload chain and key, clients checked against the CA. */
export interface PemCredentials {
  readonly key: string;
  readonly chain: string;
  readonly trustAnchors: readonly string[];
}

/**
 * A grpc-js server of the interop TestService on 127.0.0.1 (a free port): plaintext h2c, or,
 * with `credentials`, TLS that requires a client certificate from the mesh CA (a mesh member's
 * inbound port, as far as a mesh client can tell). close() force-shuts it.
 */
export async function startGrpcJsServer(credentials?: PemCredentials) {
  const pkg = loadInteropPackage();
  const server = new grpc.Server();
  server.addService(pkg.TestService.service, testServiceImpl());
  const creds = credentials
    ? grpc.ServerCredentials.createSsl(
        Buffer.from(credentials.trustAnchors.join("\n")),
        [{ private_key: Buffer.from(credentials.key), cert_chain: Buffer.from(credentials.chain) }],
        true,
      )
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, close: () => server.forceShutdown() };
}
