import { create, type DescMessage, type JsonValue, type Message, toJson } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { createTranscoder, type Transcoder } from "../../src/convert/transcoder.ts";
import { ConvertError } from "../../src/convert/wire-error.ts";
import { NOT_FOUND_DETAIL, shopBackend } from "./support/shop-backend.ts";
import { compileShop } from "./support/shop-descriptors.ts";

const { shop, service } = compileShop();
const enc = new TextEncoder();
const dec = new TextDecoder();

interface Case {
  readonly name: string;
  readonly http: string;
  readonly path: string;
  readonly query?: string;
  readonly body?: JsonValue;
  readonly rpc: string;
  /** The request a direct gRPC client would build for the same call. */
  readonly direct: Record<string, unknown>;
  /** The response field sent as the HTTP body, when the binding has response_body. */
  readonly responseField?: string;
}

const cases: Case[] = [
  {
    name: "GET with a multi-segment variable",
    http: "GET",
    path: "/v1/shelves/1/books/2",
    rpc: "GetBook",
    direct: { name: "shelves/1/books/2" },
  },
  {
    name: "GET with a percent-encoded variable",
    http: "GET",
    path: "/v1/shelves/1/books/a%20b",
    rpc: "GetBook",
    direct: { name: "shelves/1/books/a b" },
  },
  {
    name: "GET with a typed path parameter and query parameters of every kind",
    http: "GET",
    path: "/v1/shelves/7/books",
    query:
      "page_size=10&pageToken=abc&filter.author=Le%20Guin&filter.genre=GENRE_SCIENCE&filter.genres=GENRE_FICTION" +
      "&filter.genres=2&filter.pages.min=100&filter.pages.max=-5&tags=a&tags=b&published_after=2024-01-02T03:04:05Z" +
      "&max_age=3.5s&read_mask=title,author&min_price=9.99&in_print=true&offset=18446744073709551615&weight=1.5" +
      "&cursor=AAEC_w&ids=1&ids=-2&note=hi&region=eu",
    rpc: "ListBooks",
    direct: {
      shelf: 7n,
      pageSize: 10,
      pageToken: "abc",
      filter: { author: "Le Guin", genre: 2, genres: [1, 2], pages: { min: 100, max: -5 } },
      tags: ["a", "b"],
      publishedAfter: timestampFromMs(Date.UTC(2024, 0, 2, 3, 4, 5)),
      maxAge: durationFromMs(3500),
      readMask: { paths: ["title", "author"] },
      minPrice: 9.99,
      inPrint: true,
      offset: 18446744073709551615n,
      weight: 1.5,
      cursor: new Uint8Array([0, 1, 2, 255]),
      ids: [1, -2],
      note: "hi",
      scope: { case: "region", value: "eu" },
    },
  },
  {
    name: "a literal segment beats a variable",
    http: "GET",
    path: "/v1/shelves/featured/books",
    query: "page_size=3",
    rpc: "ListFeatured",
    direct: { pageSize: 3 },
  },
  {
    name: "POST with a body field and a query parameter",
    http: "POST",
    path: "/v1/shelves/5/books",
    query: "request_id=r1",
    body: {
      title: "Dune",
      pages: "412",
      genre: "GENRE_FICTION",
      published: "1965-08-01T00:00:00Z",
      cover: "AQID",
    },
    rpc: "CreateBook",
    direct: {
      shelf: 5n,
      requestId: "r1",
      book: {
        title: "Dune",
        pages: 412n,
        genre: 1,
        published: timestampFromMs(Date.UTC(1965, 7, 1)),
        cover: new Uint8Array([1, 2, 3]),
      },
    },
  },
  {
    name: "PATCH with a body field and a nested path field (the path wins over the body)",
    http: "PATCH",
    path: "/v1/shelves/1/books/2",
    query: "update_mask=title,inPrint",
    body: { name: "shelves/9/books/9", title: "New", inPrint: false },
    rpc: "UpdateBook",
    direct: {
      book: { name: "shelves/1/books/2", title: "New" },
      updateMask: { paths: ["title", "in_print"] },
    },
  },
  {
    name: 'PUT with body "*"',
    http: "PUT",
    path: "/v1/shelves/1/books/2",
    body: { title: "T", inPrint: true, tags: ["x"], price: 1.25 },
    rpc: "ReplaceBook",
    direct: { name: "shelves/1/books/2", title: "T", inPrint: true, tags: ["x"], price: 1.25 },
  },
  {
    name: "DELETE with a query parameter",
    http: "DELETE",
    path: "/v1/shelves/1/books/2",
    query: "force=true",
    rpc: "DeleteBook",
    direct: { name: "shelves/1/books/2", force: true },
  },
  {
    name: "a :verb custom method",
    http: "POST",
    path: "/v1/shelves/1/books/2:archive",
    body: { reason: "old" },
    rpc: "ArchiveBook",
    direct: { name: "shelves/1/books/2", reason: "old" },
  },
  {
    name: "a nested path field with response_body",
    http: "GET",
    path: "/v1/orders/o-1",
    query: "include_items=true",
    rpc: "GetOrder",
    direct: { order: { orderId: "o-1" }, includeItems: true },
    responseField: "order",
  },
  {
    name: "additional_bindings: two nested path fields",
    http: "GET",
    path: "/v1/customers/c-9/orders/o-1",
    rpc: "GetOrder",
    direct: { order: { orderId: "o-1", customerId: "c-9" } },
    responseField: "order",
  },
  {
    name: 'additional_bindings: a verb on a literal, body "*", whole response',
    http: "POST",
    path: "/v1/orders:lookup",
    body: { order: { orderId: "o-2" }, includeItems: true },
    rpc: "GetOrder",
    direct: { order: { orderId: "o-2" }, includeItems: true },
  },
  {
    name: 'POST with body "*"',
    http: "POST",
    path: "/v1/orders",
    body: { orderId: "o-3", items: ["x"], quantity: 2 },
    rpc: "CreateOrder",
    direct: { orderId: "o-3", items: ["x"], quantity: 2 },
  },
  {
    name: "additional_bindings: PATCH with an int32 path variable and a repeated body field",
    http: "PATCH",
    path: "/v1/orders/o-4/items/3",
    body: ["a", "b"],
    rpc: "CreateOrder",
    direct: { orderId: "o-4", quantity: 3, items: ["a", "b"] },
  },
  {
    name: "** captures the rest of the path",
    http: "GET",
    path: "/v1/files/a/b/c.txt",
    rpc: "GetFile",
    direct: { path: "a/b/c.txt" },
  },
  {
    name: "** keeps %2F encoded and decodes the rest",
    http: "GET",
    path: "/v1/files/dir%2fx/y%20z",
    rpc: "GetFile",
    direct: { path: "dir%2fx/y z" },
  },
  {
    name: "a custom HTTP method",
    http: "SEARCH",
    path: "/v1/books",
    body: { query: "q", genre: "GENRE_SCIENCE" },
    rpc: "Search",
    direct: { query: "q", genre: 2 },
  },
];

describe("REST/JSON transcoding against a gRPC backend", () => {
  let transcoder: Transcoder;
  beforeAll(() => {
    transcoder = createTranscoder([shop]);
  });

  it.each(cases)("$name: $http $path", async (c) => {
    const backend = shopBackend(shop);
    const match = transcoder.match(c.http, c.path);
    expect(match?.method.name).toBe(c.rpc);
    if (!match) return;
    expect(match.rpcPath).toBe(`/weft.convert.test.v1.Shop/${c.rpc}`);
    const body = c.body === undefined ? undefined : enc.encode(JSON.stringify(c.body));
    const transcoded = transcoder.decodeRequest(match, c.query ?? "", body, "application/json");

    const call = backend.client[match.method.localName];
    if (!call) throw new Error(`no client method ${match.method.localName}`);
    const viaRest = await call(transcoded);
    const direct = await call(create(match.method.input, c.direct));
    const [fromRest, fromDirect] = backend.received as [Message, Message];
    expectSameFields(match.method.input, fromRest, fromDirect);

    const response = transcoder.encodeResponse(match, viaRest);
    expect(response.status).toBe(200);
    expect(response.contentType).toBe("application/json");
    const expected = toJson(match.method.output, direct) as Record<string, JsonValue>;
    expect(JSON.parse(dec.decode(response.body))).toEqual(
      c.responseField ? expected[c.responseField] : expected,
    );
  });

  it("refuses a compressed REST body (415) before reading it, in decodeRequest too", () => {
    const match = transcoder.match("GET", "/v1/shelves/1/books/2");
    if (!match) throw new Error("no match");
    const refusal = 'content-encoding "gzip" is not supported on REST requests; send the body uncompressed';
    expect(() => transcoder.refuseUnservable(match, "gzip")).toThrow(refusal);
    expect(() => transcoder.decodeRequest(match, "", undefined, null, "gzip")).toThrow(refusal);
    expect(() => transcoder.refuseUnservable(match, "identity")).not.toThrow();
  });

  it("leaves unannotated methods and unknown routes unmatched", () => {
    expect(transcoder.bindings.some((b) => b.method.name === "Internal")).toBe(false);
    expect(transcoder.bindings).toHaveLength(15);
    expect(transcoder.match("GET", "/v1/shelves/1")).toBeUndefined();
    expect(transcoder.match("POST", "/v1/shelves/1/books/2")).toBeUndefined();
    expect(transcoder.match("GET", "/v1/shelves//books")).toBeUndefined();
    expect(transcoder.match("GET", "v1/shelves/1/books/2")).toBeUndefined();
    expect(transcoder.match("POST", "/weft.convert.test.v1.Shop/GetBook")).toBeUndefined();
  });

  it("matches methods case-insensitively and ignores a query string in the path", () => {
    expect(transcoder.match("get", "/v1/shelves/1/books/2?x=1")?.vars.get("name")).toBe("shelves/1/books/2");
  });

  it("takes an unknown verb as part of the last segment", () => {
    const match = transcoder.match("GET", "/v1/shelves/1/books/2:frobnicate");
    expect(match?.method.name).toBe("GetBook");
    expect(match?.vars.get("name")).toBe("shelves/1/books/2:frobnicate");
  });

  it("gives an empty request for a body-taking route called without a body", () => {
    const match = transcoder.match("POST", "/v1/orders");
    if (!match) throw new Error("no match");
    const msg = transcoder.decodeRequest(match, "", undefined, undefined);
    expect(toJson(match.method.input, msg)).toEqual({});
  });

  it("answers a backend error with its HTTP status and Connect's error JSON", async () => {
    const backend = shopBackend(shop);
    const match = transcoder.match("GET", "/v1/shelves/0/books/missing");
    if (!match) throw new Error("no match");
    const request = transcoder.decodeRequest(match, "", undefined, undefined);
    const err = await backend.client.getBook?.(request).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    if (!err) throw new Error("the backend did not fail");
    const details = err.details.map((d) => ("desc" in d ? { type: "", value: new Uint8Array() } : d));
    const response = transcoder.encodeError(err.code, err.rawMessage, details);
    expect(response.status).toBe(404);
    expect(JSON.parse(dec.decode(response.body))).toEqual({
      code: "not_found",
      message: "book shelves/0/books/missing not found",
      details: [{ type: NOT_FOUND_DETAIL.type, value: "CgNib28" }],
    });
  });
});

describe("bad REST input answers 400 naming what was wrong", () => {
  const transcoder = createTranscoder([shop]);
  const bad: [string, string, string, string | undefined, string, number?][] = [
    ["GET", "/v1/shelves/abc/books", "", undefined, 'path variable shelf: "abc" is not a 64-bit integer'],
    ["PATCH", "/v1/orders/o/items/1.5", "", "[]", 'path variable quantity: "1.5" is not a 32-bit integer'],
    ["GET", "/v1/files/%zz", "", undefined, 'path variable path: malformed percent-encoding in "%zz"'],
    ["GET", "/v1/shelves/1/books", "bogus=1", undefined, 'unknown query parameter "bogus"'],
    [
      "GET",
      "/v1/shelves/1/books",
      "filter.nope=1",
      undefined,
      'weft.convert.test.v1.Filter has no field "nope"',
    ],
    [
      "GET",
      "/v1/shelves/1/books",
      "page_size=ten",
      undefined,
      'query parameter "page_size": "ten" is not a 32-bit',
    ],
    ["GET", "/v1/shelves/1/books", "page_size=99999999999", undefined, "(out of range)"],
    [
      "GET",
      "/v1/shelves/1/books",
      "offset=-1",
      undefined,
      'query parameter "offset": "-1" is not an unsigned',
    ],
    ["GET", "/v1/shelves/1/books", "in_print=yes", undefined, '"yes" is not true or false'],
    [
      "GET",
      "/v1/shelves/1/books",
      "filter.genre=POETRY",
      undefined,
      "one of GENRE_UNSPECIFIED, GENRE_FICTION",
    ],
    [
      "GET",
      "/v1/shelves/1/books",
      "published_after=yesterday",
      undefined,
      "google.protobuf.Timestamp in its JSON",
    ],
    ["GET", "/v1/shelves/1/books", "cursor=!!", undefined, 'query parameter "cursor": "!!" is not base64'],
    [
      "GET",
      "/v1/shelves/1/books",
      "filter=x",
      undefined,
      "message field filter (weft.convert.test.v1.Filter)",
    ],
    ["GET", "/v1/shelves/1/books", "page_size=1&page_size=2", undefined, "given more than once"],
    ["GET", "/v1/shelves/1/books", "region=eu&city=paris", undefined, "both set oneof scope"],
    [
      "GET",
      "/v1/shelves/1/books",
      "shelf=2",
      undefined,
      'query parameter "shelf" sets shelf, which the path binds',
    ],
    ["GET", "/v1/orders/o", "order.order_id=x", undefined, "sets order.order_id, which the path binds"],
    ["POST", "/v1/shelves/1/books", "book.title=x", "{}", "sets field book, which the request body carries"],
    ["PUT", "/v1/shelves/1/books/2", "title=x", "{}", "takes every field in the body"],
    ["GET", "/v1/shelves/1/books/2", "", "{}", "takes no request body"],
    ["PUT", "/v1/shelves/1/books/2", "", "{", "request body is not valid JSON"],
    ["PUT", "/v1/shelves/1/books/2", "", '{"bogus": 1}', 'key "bogus" is unknown'],
    ["PUT", "/v1/shelves/1/books/2", "", '{"pages": "many"}', "weft.convert.test.v1.Book.pages"],
    [
      "POST",
      "/v1/shelves/1/books",
      "",
      '{"genre": "POETRY"}',
      "field book.genre: cannot decode enum weft.convert.test.v1.Genre",
    ],
    ["POST", "/v1/orders", "", '{"items": ["a", 7]}', "request body, field items[1]: cannot decode"],
    [
      "PUT",
      "/v1/shelves/1/books/2",
      "",
      '{"published": "soon"}',
      "request body, field published: cannot decode",
    ],
    ["PUT", "/v1/shelves/1/books/2", "", "<xml/>", 'content-type "text/xml"', 415],
  ];

  it.each(bad)("%s %s ?%s body=%s -> %s", (http, path, query, body, message, status = 400) => {
    const match = transcoder.match(http, path);
    if (!match) throw new Error(`${http} ${path} did not match`);
    const contentType = body?.startsWith("<") ? "text/xml" : "application/json";
    let caught: unknown;
    try {
      transcoder.decodeRequest(match, query, body === undefined ? undefined : enc.encode(body), contentType);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConvertError);
    const err = caught as ConvertError;
    expect(err.message).toContain(message);
    expect(err.status).toBe(status);
    expect(err.code).toBe(Code.InvalidArgument);
    const response = transcoder.encodeError(err.code, err.message);
    expect(response.status).toBe(400);
    expect(JSON.parse(dec.decode(response.body))).toEqual({ code: "invalid_argument", message: err.message });
  });

  it("maps every code to the HTTP status of the Connect protocol", () => {
    const expected: [Code, number, string][] = [
      [Code.Canceled, 499, "canceled"],
      [Code.Unknown, 500, "unknown"],
      [Code.InvalidArgument, 400, "invalid_argument"],
      [Code.DeadlineExceeded, 504, "deadline_exceeded"],
      [Code.NotFound, 404, "not_found"],
      [Code.AlreadyExists, 409, "already_exists"],
      [Code.PermissionDenied, 403, "permission_denied"],
      [Code.ResourceExhausted, 429, "resource_exhausted"],
      [Code.FailedPrecondition, 400, "failed_precondition"],
      [Code.Aborted, 409, "aborted"],
      [Code.OutOfRange, 400, "out_of_range"],
      [Code.Unimplemented, 501, "unimplemented"],
      [Code.Internal, 500, "internal"],
      [Code.Unavailable, 503, "unavailable"],
      [Code.DataLoss, 500, "data_loss"],
      [Code.Unauthenticated, 401, "unauthenticated"],
    ];
    for (const [code, status, name] of expected) {
      const response = transcoder.encodeError(code, "m");
      expect([code, response.status]).toEqual([code, status]);
      expect(JSON.parse(dec.decode(response.body))).toEqual({ code: name, message: "m" });
    }
  });
});

describe("annotations that cannot be served are rejected when the transcoder is built", () => {
  it.each([
    [
      "Conflicting",
      "GET /v1/things/{child.name} conflicts with GET /v1/things/{name} of weft.convert.test.v1.Conflicting.First",
    ],
    [
      "BadTemplate",
      "BadTemplate.Broken: path template \"/v1/{name=**}/tail\": '**' must be the last segment",
    ],
    ["RepeatedPathVariable", "path variable labels names repeated field labels"],
    ["UnknownBodyField", 'body "nope" is not a field of weft.convert.test.v1.Thing'],
  ])("%s", (name, message) => {
    expect(() => createTranscoder([service(name)])).toThrow(message);
  });
});

function expectSameFields(schema: DescMessage, actual: Message, expected: Message): void {
  const a = actual as unknown as Record<string, unknown>;
  const e = expected as unknown as Record<string, unknown>;
  for (const member of schema.members) {
    expect(a[member.localName], `field ${member.name}`).toEqual(e[member.localName]);
  }
}
