import { createServer } from "node:net";
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  grpcHealthProbe,
  H2cTransport,
  httpProbe,
  type MeshServer,
  type PoolEndpoint,
  TransportClient,
  tcpProbe,
} from "../../src/transport/index.ts";
import { endpointOf } from "./harness.ts";

// grpc.health.v1.Health served by grpc-js, its messages coded with @bufbuild/protobuf: an
// implementation independent of the probe's hand-written encoding.
const statuses = new Map([
  ["", 1],
  ["orders", 1],
  ["billing", 2],
]);
const healthService: grpc.ServiceDefinition = {
  Check: {
    path: "/grpc.health.v1.Health/Check",
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: { service: string }) =>
      Buffer.from(new BinaryWriter().uint32(10).string(v.service).finish()),
    requestDeserialize: (b: Buffer) => {
      const r = new BinaryReader(b);
      let service = "";
      while (r.pos < r.len) {
        const [field, wire] = r.tag();
        if (field === 1) service = r.string();
        else r.skip(wire);
      }
      return { service };
    },
    responseSerialize: (v: { status: number }) =>
      Buffer.from(new BinaryWriter().uint32(8).int32(v.status).finish()),
    responseDeserialize: () => {
      throw new Error("only the server side of this definition is used");
    },
  },
};

let grpcServer: grpc.Server;
let grpcEndpoint: PoolEndpoint;
let http: MeshServer;
let client: TransportClient;
const ac = new AbortController();

beforeAll(async () => {
  grpcServer = new grpc.Server();
  grpcServer.addService(healthService, {
    Check: (
      call: grpc.ServerUnaryCall<{ service: string }, { status: number }>,
      cb: grpc.sendUnaryData<{ status: number }>,
    ) => {
      const status = statuses.get(call.request.service);
      if (status === undefined) cb({ code: grpc.status.NOT_FOUND, details: "unknown service" });
      else cb(null, { status });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  grpcEndpoint = { key: `127.0.0.1:${port}`, address: "127.0.0.1", port };
  http = await new H2cTransport().listen(
    { port: 0 },
    {
      request: (stream, headers) => {
        const status = headers[":path"] === "/healthz" ? 200 : 503;
        stream.respond({ ":status": status });
        stream.end("state");
      },
    },
  );
  client = new TransportClient({
    transport: new H2cTransport(),
    place: "sidecar-outbound",
    keepalive: false,
  });
});

afterAll(async () => {
  client.close();
  await http.close();
  grpcServer.forceShutdown();
});

describe("health probes", () => {
  it("http: true on 2xx, false on 5xx and on an unreachable endpoint", async () => {
    expect(await httpProbe(client, "/healthz")(endpointOf(http), ac.signal)).toBe(true);
    expect(await httpProbe(client, "/not-ready")(endpointOf(http), ac.signal)).toBe(false);
    const gone = await unusedEndpoint();
    expect(await httpProbe(client, "/healthz")(gone, ac.signal)).toBe(false);
  });

  it("gRPC health: true only for SERVING, false for NOT_SERVING, unknown services and non-gRPC servers", async () => {
    expect(await grpcHealthProbe(client, "orders")(grpcEndpoint, ac.signal)).toBe(true);
    expect(await grpcHealthProbe(client, "")(grpcEndpoint, ac.signal)).toBe(true);
    expect(await grpcHealthProbe(client, "billing")(grpcEndpoint, ac.signal)).toBe(false);
    expect(await grpcHealthProbe(client, "nobody")(grpcEndpoint, ac.signal)).toBe(false);
    expect(await grpcHealthProbe(client, "orders")(endpointOf(http), ac.signal)).toBe(false);
  });

  it("tcp: true when the port accepts, false when refused or aborted", async () => {
    expect(await tcpProbe()(endpointOf(http), ac.signal)).toBe(true);
    expect(await tcpProbe()(await unusedEndpoint(), ac.signal)).toBe(false);
    expect(await tcpProbe()(endpointOf(http), AbortSignal.abort())).toBe(false);
  });

  it("an aborted probe is unhealthy, not an exception", async () => {
    expect(await httpProbe(client, "/healthz")(endpointOf(http), AbortSignal.abort())).toBe(false);
  });
});

async function unusedEndpoint(): Promise<PoolEndpoint> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return { key: `127.0.0.1:${port}`, address: "127.0.0.1", port };
}
