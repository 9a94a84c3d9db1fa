/**
 * The app of the gRPC and transcoding paths, in a child process of the suite (the machine has
 * two cores: the load generator on one, the app on the other). One process serves the same
 * EchoService handler three ways, so every path ends at the same backend:
 *   - plain connect-node over h2c (direct, and behind the sidecars and HAProxy);
 *   - an in-process mesh server over mutual TLS (the in-process mesh path);
 * and BookService, whose methods carry google.api.http rules, on an in-process mesh server in
 * plaintext (insecure: h2load has no client certificate), for REST/JSON transcoding against
 * Connect. The parent sends the credentials over IPC; the ports come back; the child exits
 * when the parent disconnects.
 */
import http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { MeshCredentials } from "@weft/core/transport";
import { impl } from "../../../packages/inprocess/bench/mesh-vs-raw.bench.ts";
import { createMesh } from "../../../packages/inprocess/src/index.ts";
import { EchoService } from "../../../packages/inprocess/test/gen/echo/v1/echo_pb.js";
import {
  BookSchema,
  BookService,
  DeleteBookResponseSchema,
} from "../../../packages/inprocess/test/gen/transcode/v1/books_pb.js";

export interface EchoAppPorts {
  readonly h2c: number;
  readonly mesh: number;
  readonly books: number;
}

async function serve(credentials: MeshCredentials): Promise<EchoAppPorts> {
  const plain = http2.createServer(connectNodeAdapter({ routes: (r) => r.service(EchoService, impl) }));
  // As every mesh listener does: no Nagle delay on small responses.
  plain.on("connection", (socket: Socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
  const mesh = await createMesh({
    service: "echo",
    namespace: "bench",
    credentials,
    listen: { host: "127.0.0.1", port: 0 },
  });
  mesh.serve(EchoService, impl);
  const books = await createMesh({
    service: "books",
    namespace: "bench",
    insecure: true,
    listen: { host: "127.0.0.1", port: 0 },
  });
  books.serve(BookService, {
    getBook: (req) =>
      create(BookSchema, {
        shelf: req.shelf,
        bookId: req.bookId,
        title: `book ${req.bookId}`,
        pageCount: 320,
      }),
    createBook: (req) => create(BookSchema, { shelf: req.shelf, title: req.title }),
    deleteBook: () => create(DeleteBookResponseSchema),
  });
  return {
    h2c: (plain.address() as AddressInfo).port,
    mesh: mesh.port ?? 0,
    books: books.port ?? 0,
  };
}

process.once("message", (credentials) => {
  serve(credentials as MeshCredentials).then(
    (ports) => process.send?.(ports),
    (e: unknown) => {
      console.error("echo-app:", e);
      process.exit(1);
    },
  );
});
process.on("disconnect", () => process.exit(0));
