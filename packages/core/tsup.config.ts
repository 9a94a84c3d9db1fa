import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    model: "src/model.ts",
    "node/index": "src/node/index.ts",
    "transport/index": "src/transport/index.ts",
    "testing/index": "src/testing/index.ts",
  },
  format: ["esm"],
  target: "node22",
  dts: true,
  clean: true,
  sourcemap: true,
});
