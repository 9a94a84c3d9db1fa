import { describe, expect, it } from "vitest";
import { bufDiagnostics } from "../src/generate/diagnostics.ts";

const modules = new Map([
  ["proto", "protos"],
  ["weft-shipped", "/pkg/proto"],
]);

describe("buf diagnostics", () => {
  it("map workspace paths back to the user's directories", () => {
    const output = [
      '{"path":"proto/a/v1/a.proto","start_line":3,"start_column":1,"message":"imported file does not exist"}',
      '{"path":"weft-shipped/weft/v1/options.proto","start_line":9,"start_column":2,"message":"x"}',
      "",
    ].join("\n");
    expect(bufDiagnostics(output, modules)).toEqual([
      "protos/a/v1/a.proto:3:1: imported file does not exist",
      "/pkg/proto/weft/v1/options.proto:9:2: x",
    ]);
  });

  it("keep a plugin's own message and drop what buf adds after it, in either order", () => {
    const output = [
      "plugin /usr/bin/node /x/protoc-gen-es: context canceled",
      "protoc-gen-weft: a/v1/a.proto:13:3: (weft.v1.method) of rpc a.v1.S.M: bad",
      "Failure: plugin /usr/bin/node /x/protoc-gen-weft.ts: exit status 1",
    ].join("\n");
    expect(bufDiagnostics(output, modules)).toEqual([
      "protos/a/v1/a.proto:13:3: (weft.v1.method) of rpc a.v1.S.M: bad",
    ]);
  });

  it("pass any other failure through as buf wrote it", () => {
    expect(bufDiagnostics("Failure: something else\n", modules)).toEqual(["Failure: something else"]);
  });
});
