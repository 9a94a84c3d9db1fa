import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { CallKind, MethodDefaults } from "@weft/core";
import { isIdempotent, methodDefaults } from "../policy/method-defaults.ts";
import type { MethodPolicy, MethodPolicyTable } from "../policy/method-policy.ts";

/** What the mesh needs to know of one RPC method, keyed by its HTTP path. */
export interface MethodInfo {
  readonly kind: CallKind;
  /** "package.Service/Method". */
  readonly name: string;
  readonly idempotent: boolean;
  readonly defaults: MethodDefaults | undefined;
}

const kinds: Record<DescMethod["methodKind"], CallKind> = {
  unary: "unary",
  server_streaming: "server_streaming",
  client_streaming: "client_streaming",
  bidi_streaming: "bidi_streaming",
};

/** Builds the path -> method table of a service once, with its policy table applied. */
export function methodTable<S extends DescService>(
  service: S,
  policies?: MethodPolicyTable<S>,
): Map<string, MethodInfo> {
  const table = new Map<string, MethodInfo>();
  for (const m of service.methods) {
    const policy = (policies as Record<string, MethodPolicy | undefined> | undefined)?.[m.localName];
    const name = `${service.typeName}/${m.name}`;
    table.set(`/${name}`, {
      kind: kinds[m.methodKind],
      name,
      idempotent: isIdempotent(policy, m.idempotency as number | undefined),
      defaults: policy ? methodDefaults(name, policy) : undefined,
    });
  }
  return table;
}
