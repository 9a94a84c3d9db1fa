export type { AuthorizationInput } from "./condition.ts";
export {
  type AuthorizationDecision,
  AuthorizationEngine,
  AuthorizationPolicyError,
  type AuthorizationPolicyIssue,
  compileAuthorization,
  formatIssue,
} from "./engine.ts";
export {
  AUTHORIZATION_PLUGIN,
  AuthorizationCache,
  type AuthorizationOptions,
  authorization,
  authorizationDenied,
} from "./plugin.ts";
export {
  type AuthorizationPolicyInit,
  type AuthorizationPolicyInput,
  authorizationPoliciesFromJson,
  policyKey,
  toAuthorizationPolicy,
} from "./policy-input.ts";
