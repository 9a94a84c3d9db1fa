import { execFile } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type JsonValue, toJson } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parseMeshConfig } from "@weft/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMesh, type Mesh } from "../src/index.ts";
import { BookSchema, BookService, DeleteBookResponseSchema, View } from "./gen/transcode/v1/books_pb.js";
import { anchorOf, testCa, workload } from "./support/pki.ts";

const ID = (sa: string) => `spiffe://weft.local/ns/test/sa/${sa}`;

// DeleteBook is denied to the caller: a transcoded call must meet the same authorization.
const CONFIG = `
apiVersion: weft.dev/v1
kind: Service
metadata: { name: books, namespace: test }
spec:
  rpcServices: [transcode.v1.BookService]
---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: no-deletes, namespace: test }
spec:
  services: [books]
  action: DENY
  rules: [{ methods: ["transcode.v1.BookService/DeleteBook"] }]
`;

interface RestAnswer {
  status: number;
  contentType: string;
  json: JsonValue;
}

describe("REST/JSON transcoding on the in-process server, over mTLS", () => {
  let mesh: Mesh;
  let grpc: Client<typeof BookService>;
  let session: http2.ClientHttp2Session;
  let dir: string;
  let pin: string;
  let url: string;
  const calls = new Map<string, number>();
  const count = (m: string) => calls.set(m, (calls.get(m) ?? 0) + 1);

  beforeAll(async () => {
    const ca = await testCa();
    const server = await workload(ca, ID("books"));
    const caller = await workload(ca, ID("web"));
    mesh = await createMesh({
      service: "books",
      namespace: "test",
      listen: { host: "127.0.0.1", port: 0 },
      credentials: server,
      config: parseMeshConfig({ file: "books.yaml", text: CONFIG }),
    });
    mesh.serve(BookService, {
      getBook(req, ctx) {
        count("get");
        if (req.bookId === 404n) {
          throw new ConnectError(`book 404 is not on shelf ${req.shelf}`, Code.NotFound);
        }
        return create(BookSchema, {
          shelf: req.shelf,
          bookId: req.bookId,
          title: `book ${req.bookId}`,
          view: req.view,
          tags: req.tags,
          includeNotes: req.includeNotes,
          pageCount: 320,
          labels: { lang: "en", shelf: req.shelf },
          caller: ctx.requestHeader.get("x-caller") ?? "",
        });
      },
      createBook(req) {
        count("create");
        return create(BookSchema, {
          shelf: req.shelf,
          bookId: 9007199254740993n,
          title: req.title,
          pageCount: req.pageCount,
          labels: req.labels,
          tags: req.tags,
        });
      },
      deleteBook() {
        count("delete");
        return create(DeleteBookResponseSchema);
      },
    });
    url = `https://127.0.0.1:${mesh.port}`;
    const tls = {
      ca: anchorOf(ca),
      cert: caller.chain,
      key: caller.key,
      // Mesh certificates name a SPIFFE identity, not a host name; the chain is still verified.
      checkServerIdentity: () => undefined,
    };
    grpc = createClient(BookService, createGrpcTransport({ baseUrl: url, nodeOptions: tls }));
    session = http2.connect(url, tls);
    dir = await mkdtemp(join(tmpdir(), "weft-transcode-"));
    await writeFile(join(dir, "client.pem"), caller.chain);
    await writeFile(join(dir, "client.key"), caller.key);
    const spki = createPublicKey(server.key).export({ type: "spki", format: "der" });
    pin = `sha256//${createHash("sha256").update(spki).digest("base64")}`;
  });
  afterAll(async () => {
    session?.destroy();
    await mesh?.close({ graceMs: 0 });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A REST call on a verified mTLS HTTP/2 session presenting the caller's certificate. */
  function rest(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
    return new Promise<RestAnswer>((resolve, reject) => {
      const req = session.request({
        ":method": method,
        ":path": path,
        ...(body !== undefined && { "content-type": "application/json" }),
        ...headers,
      });
      let status = 0;
      let contentType = "";
      const chunks: Buffer[] = [];
      req.on("response", (h) => {
        status = Number(h[":status"]);
        contentType = String(h["content-type"]);
      });
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        try {
          resolve({ status, contentType, json: JSON.parse(text) as JsonValue });
        } catch {
          resolve({ status, contentType, json: text });
        }
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  it("GET binds path variables and query parameters (scalar, enum, repeated) to the RPC request", async () => {
    const path = "/v1/shelves/sci%20fi/books/42?view=VIEW_FULL&include_notes=true&tags=a&tags=b%2Fc";
    const got = await rest("GET", path, undefined, { "x-caller": "rest" });
    const direct = await grpc.getBook(
      { shelf: "sci fi", bookId: 42n, view: View.FULL, includeNotes: true, tags: ["a", "b/c"] },
      { headers: { "x-caller": "rest" } },
    );
    expect(got.status).toBe(200);
    expect(got.contentType).toBe("application/json");
    expect(got.json).toEqual(toJson(BookSchema, direct));
    // Field by field, as the protobuf JSON mapping writes them (int64 as a string, enum by name).
    expect(got.json).toEqual({
      shelf: "sci fi",
      bookId: "42",
      title: "book 42",
      view: "VIEW_FULL",
      tags: ["a", "b/c"],
      includeNotes: true,
      pageCount: 320,
      labels: { lang: "en", shelf: "sci fi" },
      caller: "rest",
    });
  });

  it('POST with body "*" takes the fields from the JSON body and the path, large int64 intact', async () => {
    const body = { title: "Dune", pageCount: 412, labels: { lang: "en" }, tags: ["sf", "classic"] };
    const got = await rest("POST", "/v1/shelves/fiction/books", JSON.stringify(body));
    const direct = await grpc.createBook({ shelf: "fiction", ...body });
    expect(got.status).toBe(200);
    expect(got.json).toEqual(toJson(BookSchema, direct));
    expect(got.json).toEqual({
      shelf: "fiction",
      bookId: "9007199254740993",
      title: "Dune",
      pageCount: 412,
      labels: { lang: "en" },
      tags: ["sf", "classic"],
    });
  });

  it("maps an error of the handler to its HTTP status and a JSON body with the same code and message", async () => {
    const got = await rest("GET", "/v1/shelves/fiction/books/404");
    const direct = await grpc.getBook({ shelf: "fiction", bookId: 404n }).catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(ConnectError);
    const e = direct as ConnectError;
    expect(e.code).toBe(Code.NotFound);
    expect(got.status).toBe(404);
    expect(got.json).toEqual({ code: "not_found", message: e.rawMessage });
  });

  it("refuses a request the transcoder cannot convert with 400, naming the field, without calling the handler", async () => {
    const before = calls.get("get") ?? 0;
    const got = await rest("GET", "/v1/shelves/fiction/books/forty-two");
    expect(got.status).toBe(400);
    expect(got.json).toMatchObject({ code: "invalid_argument" });
    expect((got.json as { message: string }).message).toContain("book_id");
    const unknown = await rest("GET", "/v1/shelves/fiction/books/1?colour=red");
    expect(unknown.status).toBe(400);
    expect((unknown.json as { message: string }).message).toContain('"colour"');
    expect(calls.get("get") ?? 0).toBe(before);
  });

  it("runs the inbound chain: authorization denies DeleteBook over REST exactly as over gRPC", async () => {
    const got = await rest("DELETE", "/v1/shelves/fiction/books/1");
    const direct = await grpc.deleteBook({ shelf: "fiction", bookId: 1n }).catch((e: unknown) => e);
    expect((direct as ConnectError).code).toBe(Code.PermissionDenied);
    expect(got.status).toBe(403);
    expect(got.json).toEqual({ code: "permission_denied", message: (direct as ConnectError).rawMessage });
    expect(calls.get("delete")).toBeUndefined();
  });

  it("leaves paths no annotation binds, and methods a path is not bound for, to the 404 they had", async () => {
    const none = await rest("GET", "/v2/nothing");
    expect(none.status).toBe(404);
    expect(none.json).toBe("no service here serves /v2/nothing");
    const wrongMethod = await rest("PUT", "/v1/shelves/fiction/books", "{}");
    expect(wrongMethod.status).toBe(404);
  });

  it("answers a plain curl over HTTP/2 presenting the client certificate", async () => {
    // curl cannot skip only the host name check and a mesh certificate names no host, so it
    // runs with -k and instead pins the server's public key: an impostor still fails.
    const curl = (pinned: string) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          "curl",
          [
            "--silent",
            "--http2",
            "-k",
            "--pinnedpubkey",
            pinned,
            "--cert",
            join(dir, "client.pem"),
            "--key",
            join(dir, "client.key"),
            "--max-time",
            "10",
            "-w",
            "\n%{http_code} %{http_version}",
            `${url}/v1/shelves/fiction/books/7?view=VIEW_BASIC`,
          ],
          (err, stdout) =>
            resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout }),
        );
      });
    const ok = await curl(pin);
    expect(ok.code).toBe(0);
    const [body, trailer] = ok.out.split("\n");
    expect(trailer).toBe("200 2");
    const direct = await grpc.getBook({ shelf: "fiction", bookId: 7n, view: View.BASIC });
    expect(JSON.parse(body ?? "")).toEqual(toJson(BookSchema, direct));
    const impostor = await curl(`sha256//${Buffer.alloc(32).toString("base64")}`);
    expect(impostor.code).toBe(90); // CURLE_SSL_PINNEDPUBKEYNOTMATCH
  });
});
