import { defineConfig } from "tsup";

export default defineConfig({
  // The plugin and the CLI are separate entries: `weft gen` runs the plugin as its own
  // process (buf starts it), found at dist/bin/protoc-gen-weft.js next to dist/index.js.
  entry: {
    index: "src/index.ts",
    "bin/protoc-gen-weft": "src/bin/protoc-gen-weft.ts",
    "cli/weft-gen": "src/cli/weft-gen.ts",
  },
  format: ["esm"],
  target: "node22",
  dts: { entry: "src/index.ts" },
  clean: true,
  sourcemap: true,
});
