import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { ordersConfig, type SidecarProcess, startSidecar, tempDir } from "./process-helpers.ts";

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const service: grpc.ServiceDefinition = {
  Echo: {
    path: "/shop.v1.Orders/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize,
  },
  Chat: {
    path: "/shop.v1.Orders/Chat",
    requestStream: true,
    responseStream: true,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize,
  },
};
const Client = grpc.makeGenericClientConstructor(service, "Orders");

describe("gRPC and WebSocket through two sidecar processes", () => {
  const tmp = tempDir();
  let server: grpc.Server;
  let wss: WebSocketServer;
  let callee: SidecarProcess;
  let wsCallee: SidecarProcess;
  let caller: SidecarProcess;

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(service, {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        if (call.request.toString() === "fail") {
          cb({ code: grpc.status.FAILED_PRECONDITION, details: "app says no" });
          return;
        }
        const md = new grpc.Metadata();
        md.set("x-trailer", "from-app");
        cb(null, Buffer.concat([Buffer.from("echo:"), call.request]), md);
      },
      Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on("data", (b: Buffer) => call.write(Buffer.concat([Buffer.from("re:"), b])));
        call.on("end", () => call.end());
      },
    });
    const grpcPort = await new Promise<number>((res, rej) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? rej(e) : res(p),
      ),
    );
    wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    wss.on("connection", (ws) => ws.on("message", (m, binary) => ws.send(m, { binary })));
    await new Promise((r) => wss.once("listening", r));
    const wsPort = (wss.address() as { port: number }).port;

    tmp.write("self.yaml", ordersConfig(1));
    callee = await startSidecar([
      "--config",
      `${tmp.dir}/self.yaml`,
      "--service",
      "orders",
      "--namespace",
      "shop",
      "--app-port",
      String(grpcPort),
      "--app-protocol",
      "h2c",
    ]);
    const chatService = `apiVersion: weft.dev/v1
kind: Service
metadata: { name: chat, namespace: shop }
spec:
  ports: [{ name: ws, port: 8080, protocol: PROTOCOL_HTTP1 }]
`;
    tmp.write("chat-self.yaml", chatService);
    wsCallee = await startSidecar([
      "--config",
      `${tmp.dir}/chat-self.yaml`,
      "--service",
      "chat",
      "--namespace",
      "shop",
      "--app-port",
      String(wsPort),
    ]);
    tmp.write("mesh.yaml", ordersConfig(callee.ports.inbound as number, ["shop.v1.Orders"]));
    tmp.write(
      "chat.yaml",
      `${chatService}---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: chat, namespace: shop }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${wsCallee.ports.inbound} }]
`,
    );
    caller = await startSidecar([
      "--config",
      `${tmp.dir}/mesh.yaml`,
      "--config",
      `${tmp.dir}/chat.yaml`,
      "--service",
      "web",
      "--namespace",
      "shop",
      "--app-port",
      "9",
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([caller?.stop(), callee?.stop(), wsCallee?.stop()]);
    server.forceShutdown();
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
    tmp.remove();
  });

  const client = () => new Client(`127.0.0.1:${caller.ports.outbound}`, grpc.credentials.createInsecure());

  it("grpc-js unary: routed by RPC path, response and trailers intact; an app error keeps its status", async () => {
    const c = client();
    try {
      const got = await new Promise<{ value: Buffer; trailer: unknown }>((resolve, reject) => {
        let trailer: unknown;
        const call = c.makeUnaryRequest(
          "/shop.v1.Orders/Echo",
          raw.serialize,
          raw.deserialize,
          Buffer.from("hi"),
          (e, v) => (e ? reject(e) : setImmediate(() => resolve({ value: v as Buffer, trailer }))),
        );
        call.on("status", (s) => {
          trailer = s.metadata.get("x-trailer")[0];
        });
      });
      expect(got.value.toString()).toBe("echo:hi");
      const failed = await new Promise<grpc.ServiceError>((resolve) =>
        c.makeUnaryRequest("/shop.v1.Orders/Echo", raw.serialize, raw.deserialize, Buffer.from("fail"), (e) =>
          resolve(e as grpc.ServiceError),
        ),
      );
      expect(failed.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(failed.details).toBe("app says no");
      await new Promise((r) => setTimeout(r, 20));
      expect(got.trailer).toBe("from-app");
    } finally {
      c.close();
    }
  });

  it("grpc-js bidi streaming: 50 messages each way, in order", async () => {
    const c = client();
    try {
      const call = c.makeBidiStreamRequest("/shop.v1.Orders/Chat", raw.serialize, raw.deserialize);
      const got: string[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on("data", (b: Buffer) => got.push(b.toString()));
        call.on("end", resolve);
        call.on("error", reject);
      });
      for (let i = 0; i < 50; i++) call.write(Buffer.from(`m${i}`));
      call.end();
      await done;
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `re:m${i}`));
    } finally {
      c.close();
    }
  });

  it("an RPC to a service with no mesh route fails as grpc NOT_FOUND from the sidecar", async () => {
    const c = client();
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) =>
        c.makeUnaryRequest("/other.v1.X/Y", raw.serialize, raw.deserialize, Buffer.from("x"), (e) =>
          resolve(e as grpc.ServiceError),
        ),
      );
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      expect(err.details).toContain("no mesh service");
    } finally {
      c.close();
    }
  });

  it("a WebSocket echo through both sidecars, text and binary, byte exact", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${caller.ports.outbound}/socket`, {
      headers: { host: "chat.shop" },
    });
    try {
      await new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      });
      const replies: Buffer[] = [];
      const twoReplies = new Promise<void>((resolve) =>
        ws.on("message", (m: Buffer) => {
          replies.push(m);
          if (replies.length === 2) resolve();
        }),
      );
      const bin = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
      ws.send("hello over the mesh");
      ws.send(bin);
      await twoReplies;
      expect(replies[0]?.toString()).toBe("hello over the mesh");
      expect(replies[1]?.equals(bin)).toBe(true);
    } finally {
      ws.terminate();
    }
  });
});
