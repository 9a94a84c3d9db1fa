import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { type GeneratedFile, getComments } from "@bufbuild/protoplugin";
import type { MethodPolicy, ServiceMode } from "@weft/inprocess";
import type { ServiceExports } from "./export-names.ts";
import { methodPolicyOf } from "./method-policy.ts";
import { describePolicy, policyLiteral } from "./policy-text.ts";

const inprocess = "@weft/inprocess";
const connect = "@connectrpc/connect";

/**
 * Prints one service's policy table, its mode (when the .proto sets one), its client
 * factory and its server registration helper.
 */
export function printService(
  f: GeneratedFile,
  service: DescService,
  names: ServiceExports,
  mode: ServiceMode | undefined,
): void {
  const desc = f.importSchema(service);
  const table = f.import("MethodPolicyTable", inprocess, true);
  const target = f.import("MeshClientTarget", inprocess, true);
  const host = f.import("MeshHost", inprocess, true);
  const client = f.import("Client", connect, true);
  const serviceImpl = f.import("ServiceImpl", connect, true);

  f.print(f.jsDoc(serviceDoc(service)));
  f.print(f.export("const", names.policies), ": ", table, "<typeof ", desc, "> = {");
  for (const method of service.methods) {
    const policy = methodPolicyOf(method);
    f.print(f.jsDoc(methodDoc(method, policy), "  "));
    f.print("  ", propertyKey(method.localName), ": ", policyLiteral(policy, "  "), ",");
  }
  f.print("};");
  f.print();

  if (mode !== undefined) {
    f.print(
      f.jsDoc(
        `Where ${service.typeName} runs its mesh logic, as its .proto says ((weft.v1.service).mode);\n` +
          "configuration and WEFT_MODE override it.",
      ),
    );
    f.print(
      f.export("const", names.mode),
      ": ",
      f.import("ServiceMode", inprocess, true),
      " = ",
      f.string(mode),
      ";",
    );
    f.print();
  }

  f.print(
    f.jsDoc(
      `A typed client for ${service.typeName} that calls through the mesh: in-process when \`target\`\n` +
        "is a MeshHost, through the local sidecar when it is `{ sidecar: url }`. Every call carries\n" +
        `the method's policy from {@link ${names.policies}}.`,
    ),
  );
  f.print(
    f.export("function", names.createClient),
    "(target: ",
    target,
    "): ",
    client,
    "<typeof ",
    desc,
    "> {",
  );
  f.print(
    "  return ",
    f.import("createMeshClient", inprocess),
    "(",
    desc,
    ", target, { policies: ",
    names.policies,
    " });",
  );
  f.print("}");
  f.print();

  f.print(
    f.jsDoc(
      `Serves an implementation of ${service.typeName} on the in-process mesh, with the\n` +
        `policies of {@link ${names.policies}}.`,
    ),
  );
  f.print(
    f.export("function", names.register),
    "(host: ",
    host,
    ", impl: Partial<",
    serviceImpl,
    "<typeof ",
    desc,
    ">>): void {",
  );
  f.print(
    "  ",
    f.import("registerMeshService", inprocess),
    "(host, ",
    desc,
    ", impl, { policies: ",
    names.policies,
    " });",
  );
  f.print("}");
  f.print();
}

function serviceDoc(service: DescService): string {
  const lines = commentLines(service);
  lines.push(
    `Mesh policies of the methods of ${service.typeName}, as its .proto declares them`,
    "(idempotency_level, deprecated, (weft.v1.method)); configuration from the control plane",
    "overrides them.",
    "",
    `@generated from service ${service.typeName}`,
  );
  if (service.deprecated) lines.push("@deprecated");
  return lines.join("\n");
}

function methodDoc(method: DescMethod, policy: MethodPolicy): string {
  const lines = commentLines(method);
  lines.push(
    `\`rpc ${method.name}(${signatureSide(method, "input")}) returns (${signatureSide(method, "output")});\``,
    "",
  );
  lines.push(...describePolicy(policy));
  if (method.deprecated) lines.push("", "@deprecated");
  return lines.join("\n");
}

function signatureSide(method: DescMethod, side: "input" | "output"): string {
  const streams =
    method.methodKind === "bidi_streaming" ||
    (side === "input" ? method.methodKind === "client_streaming" : method.methodKind === "server_streaming");
  return (streams ? "stream " : "") + method[side].typeName;
}

/** The .proto comments of an element, then a blank line, or nothing when it has none. */
function commentLines(desc: DescService | DescMethod): string[] {
  const leading = getComments(desc).leading;
  if (leading === undefined || leading.trim() === "") return [];
  const lines = leading
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => (l.startsWith(" ") ? l.slice(1) : l));
  lines.push("");
  return lines;
}

/**
 * A method's local name as an object-literal key. Local names are identifiers, and
 * keywords are fine as keys; only `__proto__` would set the prototype instead of
 * defining a key, so it is written as a computed key.
 */
function propertyKey(localName: string): string {
  return localName === "__proto__" ? `["__proto__"]` : localName;
}
