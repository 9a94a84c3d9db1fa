import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { decodeHttpRule, HTTP_RULE_EXTENSION, readHttpRule } from "../../src/convert/http-rule.ts";
import { PathMatcher } from "../../src/convert/path-matcher.ts";
import { parsePathTemplate } from "../../src/convert/path-template.ts";
import { compileShop } from "./support/shop-descriptors.ts";

describe("path templates", () => {
  it("parses literals, variables, wildcards and a verb", () => {
    const t = parsePathTemplate("/v1/{book.name=shelves/*/books/*}/x/{id}/**:publish");
    expect(t.verb).toBe("publish");
    expect(t.segments.map((s) => (s.kind === "literal" ? s.value : s.kind))).toEqual([
      "v1",
      "shelves",
      "wildcard",
      "books",
      "wildcard",
      "x",
      "wildcard",
      "deep",
    ]);
    expect(t.variables).toEqual([
      { fieldPath: ["book", "name"], start: 1, end: 5, multiSegment: true },
      { fieldPath: ["id"], start: 6, end: 7, multiSegment: false },
    ]);
  });

  it.each([
    ["v1/x", "must start with '/'"],
    ["/v1/{a", "'{' without '}'"],
    ["/v1/a}", "'}' without '{'"],
    ["/v1/{a={b}}", "cannot be nested"],
    ["/v1/**/x", "'**' must be the last segment"],
    ["/v1//x", "empty segment"],
    ["/v1/{1a}", 'variable "1a" is not a field path'],
    ["/v1/a*b", "mixes a literal"],
    ["/v1/x:", "must be a non-empty literal"],
    ["/v1/{a}/{a}", 'variable "a" appears twice'],
  ])("rejects %s", (template, message) => {
    expect(() => parsePathTemplate(template)).toThrow(message);
  });

  it("prefers literal over * over **, and verbs over plain segments", () => {
    const m = new PathMatcher<string>();
    for (const [t, v] of [
      ["/a/{x}/c", "var"],
      ["/a/b/c", "literal"],
      ["/a/{rest=**}", "deep"],
      ["/a/{x}/c:go", "verb"],
    ] as const) {
      m.add("GET", parsePathTemplate(t), v, (e) => e);
    }
    expect(m.match("GET", "/a/b/c")?.value).toBe("literal");
    expect(m.match("GET", "/a/z/c")?.value).toBe("var");
    expect(m.match("GET", "/a/z/c:go")?.value).toBe("verb");
    expect(m.match("GET", "/a/z/d/e")?.rawVars).toEqual(["z/d/e"]);
    expect(m.match("GET", "/a")?.rawVars).toEqual([""]);
    expect(m.match("POST", "/a/b/c")).toBeUndefined();
    expect(() => m.add("GET", parsePathTemplate("/a/{y}/c"), "again", (e) => e)).toThrow(
      "GET /a/{y}/c conflicts with GET /a/{x}/c of var",
    );
  });
});

describe("google.api.http from method options", () => {
  it("decodes every HttpRule field and skips unknown ones", () => {
    const binding = new BinaryWriter()
      .tag(4, WireType.LengthDelimited)
      .string("/v1/b")
      .tag(7, WireType.LengthDelimited)
      .string("*")
      .finish();
    const custom = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .string("search")
      .tag(2, WireType.LengthDelimited)
      .string("/v1/s")
      .finish();
    const bytes = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .string("pkg.S.M")
      .tag(8, WireType.LengthDelimited)
      .bytes(custom)
      .tag(12, WireType.LengthDelimited)
      .string("items")
      .tag(99, WireType.Varint)
      .int32(7)
      .tag(11, WireType.LengthDelimited)
      .bytes(binding)
      .finish();
    expect(decodeHttpRule(bytes)).toEqual({
      selector: "pkg.S.M",
      method: "SEARCH",
      path: "/v1/s",
      body: "",
      responseBody: "items",
      additionalBindings: [
        { selector: "", method: "POST", path: "/v1/b", body: "*", responseBody: "", additionalBindings: [] },
      ],
    });
  });

  it("reads the rule from a real compiled descriptor's unknown option fields, merging split occurrences", () => {
    const { shop } = compileShop();
    const getOrder = shop.methods.find((m) => m.name === "GetOrder");
    if (!getOrder?.proto.options?.$unknown) throw new Error("GetOrder has no unknown option fields");
    const [field] = getOrder.proto.options.$unknown;
    expect(field?.no).toBe(HTTP_RULE_EXTENSION);
    const rule = readHttpRule(getOrder);
    expect(rule?.additionalBindings.map((b) => `${b.method} ${b.path}`)).toEqual([
      "GET /v1/customers/{order.customer_id}/orders/{order.order_id}",
      "POST /v1/orders:lookup",
    ]);
    // A serializer may emit a message-typed option as several occurrences; they merge.
    const part = (tag: number, value: string) =>
      new BinaryWriter()
        .tag(HTTP_RULE_EXTENSION, WireType.LengthDelimited)
        .fork()
        .tag(tag, WireType.LengthDelimited)
        .string(value)
        .join()
        .finish();
    const first = part(2, "/v1/x");
    const second = part(7, "*");
    const fake = {
      ...getOrder,
      proto: {
        ...getOrder.proto,
        options: {
          ...getOrder.proto.options,
          $unknown: [
            { no: HTTP_RULE_EXTENSION, wireType: WireType.LengthDelimited, data: first.subarray(5) },
            { no: HTTP_RULE_EXTENSION, wireType: WireType.LengthDelimited, data: second.subarray(5) },
          ],
        },
      },
    } as typeof getOrder;
    expect(readHttpRule(fake)).toMatchObject({ method: "GET", path: "/v1/x", body: "*" });
    expect(readHttpRule(shop.methods.find((m) => m.name === "Internal") as typeof getOrder)).toBeUndefined();
  });
});
