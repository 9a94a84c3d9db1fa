import { create, fromJson, isMessage, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type AuthorizationPolicy,
  AuthorizationPolicy_Action,
  AuthorizationPolicySchema,
  type AuthorizationRuleSchema,
} from "../gen/weft/v1/authorization_pb.js";

/**
 * A policy as configuration holds it (the protobuf message), or written in code with the
 * message's fields and `action: "allow" | "deny"`.
 */
export type AuthorizationPolicyInput = AuthorizationPolicy | AuthorizationPolicyInit;

export interface AuthorizationPolicyInit {
  name: string;
  /** Empty or absent: the policy is mesh-wide. */
  namespace?: string;
  services?: string[];
  action: "allow" | "deny" | AuthorizationPolicy_Action;
  rules: MessageInitShape<typeof AuthorizationRuleSchema>[];
}

export function toAuthorizationPolicy(input: AuthorizationPolicyInput): AuthorizationPolicy {
  if (isMessage(input, AuthorizationPolicySchema)) return input;
  const action =
    input.action === "allow"
      ? AuthorizationPolicy_Action.ALLOW
      : input.action === "deny"
        ? AuthorizationPolicy_Action.DENY
        : typeof input.action === "number"
          ? input.action
          : AuthorizationPolicy_Action.UNSPECIFIED;
  return create(AuthorizationPolicySchema, {
    name: input.name,
    namespace: input.namespace,
    services: input.services,
    action,
    rules: input.rules,
  });
}

/** Policies from their protobuf JSON form (a plugin's options); throws naming the bad entry. */
export function authorizationPoliciesFromJson(raw: unknown, where = "policies"): AuthorizationPolicy[] {
  if (!Array.isArray(raw)) throw new Error(`${where} must be a list of AuthorizationPolicy objects`);
  return raw.map((entry, i) => {
    try {
      return fromJson(AuthorizationPolicySchema, entry as JsonValue);
    } catch (err) {
      throw new Error(`${where}[${i}]: ${(err as Error).message}`, { cause: err });
    }
  });
}

/** "<namespace>/<name>", or the bare name of a mesh-wide policy (empty namespace). */
export function policyKey(policy: Pick<AuthorizationPolicy, "namespace" | "name">): string {
  return policy.namespace ? `${policy.namespace}/${policy.name}` : policy.name;
}
