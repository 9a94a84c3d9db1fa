import { createEcmaScriptPlugin, type Schema } from "@bufbuild/protoplugin";
import packageJson from "../../package.json" with { type: "json" };
import { allocateExportNames } from "./export-names.ts";
import { serviceModeOf } from "./method-policy.ts";
import { printService } from "./print-service.ts";

/**
 * protoc-gen-weft: for every .proto file with services, a `<name>_weft.ts` beside
 * protoc-gen-es's `<name>_pb.js`, holding per service a typed policy table, a mesh client
 * factory and a server registration helper.
 */
export const protocGenWeft = createEcmaScriptPlugin({
  name: "protoc-gen-weft",
  version: `v${packageJson.version}`,
  generateTs,
});

function generateTs(schema: Schema): void {
  for (const file of schema.files) {
    if (file.services.length === 0) continue;
    const f = schema.generateFile(`${file.name}_weft.ts`);
    f.preamble(file);
    for (const { service, names } of allocateExportNames(file.services)) {
      printService(f, service, names, serviceModeOf(service));
    }
  }
}
