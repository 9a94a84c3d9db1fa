import {
  type AuthorizationPolicy,
  AuthorizationPolicy_Action,
  type AuthorizationRule,
} from "../gen/weft/v1/authorization_pb.js";
import { parseSpiffeId, SpiffeIdError } from "../identity/spiffe.ts";
import {
  type AuthorizationInput,
  type Condition,
  type ConditionBindings,
  compileCondition,
  conditionBindings,
} from "./condition.ts";
import { compilePatterns, patternProblem, type StringMatcher } from "./patterns.ts";
import { type AuthorizationPolicyInput, policyKey, toAuthorizationPolicy } from "./policy-input.ts";

/** What decided a call: enough for a denial message and for `weft explain`. */
export interface AuthorizationDecision {
  readonly allowed: boolean;
  /** "<namespace>/<name>" of the deciding policy; "" when none did, several joined by ", " for default deny. */
  readonly policy: string;
  /** Index of the deciding rule in its policy; -1 when no rule decided. */
  readonly ruleIndex: number;
  readonly reason: string;
}

/** One thing wrong in a policy set, found when it is loaded. */
export interface AuthorizationPolicyIssue {
  readonly policy: string;
  /** Undefined for a problem of the policy itself. */
  readonly ruleIndex: number | undefined;
  /** The field, as in the .proto ("when", "principals[1]"). */
  readonly field: string;
  readonly message: string;
}

/** A policy set that cannot be loaded; `issues` lists every problem, each naming policy and rule. */
export class AuthorizationPolicyError extends Error {
  override readonly name = "AuthorizationPolicyError";
  readonly issues: readonly AuthorizationPolicyIssue[];

  constructor(issues: readonly AuthorizationPolicyIssue[]) {
    super(
      `${issues.length} problem${issues.length === 1 ? "" : "s"} in authorization policies: ${issues.map(formatIssue).join("; ")}`,
    );
    this.issues = issues;
  }
}

export function formatIssue(issue: AuthorizationPolicyIssue): string {
  const rule = issue.ruleIndex === undefined ? "" : ` rule ${issue.ruleIndex}`;
  return `${issue.policy}${rule} ${issue.field}: ${issue.message}`;
}

interface CompiledRule {
  readonly deny: boolean;
  readonly policy: string;
  readonly index: number;
  readonly principals: StringMatcher | undefined;
  readonly notPrincipals: StringMatcher | undefined;
  readonly namespaces: StringMatcher | undefined;
  /** `methods`: RPC names matched against call.method, HTTP paths against call.path. */
  readonly rpcMethods: StringMatcher | undefined;
  readonly methodPaths: StringMatcher | undefined;
  readonly paths: StringMatcher | undefined;
  readonly httpMethods: ReadonlySet<string> | undefined;
  readonly headers: readonly (readonly [string, string])[];
  readonly when: Condition | undefined;
  /** The decision when this rule matches, made once. */
  readonly decision: AuthorizationDecision;
}

/** The rules that apply to one service, DENY first, and the decisions when none matches. */
interface RuleSet {
  readonly deny: readonly CompiledRule[];
  readonly allow: readonly CompiledRule[];
  readonly noRuleMatched: AuthorizationDecision;
}

interface NamespaceIndex {
  readonly services: ReadonlyMap<string, RuleSet>;
  /** For services no policy names. */
  readonly others: RuleSet;
}

const MATCH = 1;
const NO_MATCH = 0;
const FAILED = -1;

const NOT_SELECTED: AuthorizationDecision = Object.freeze({
  allowed: true,
  policy: "",
  ruleIndex: -1,
  reason: "no authorization policy selects the service",
});

const HTTP_METHOD = /^[A-Za-z]+$/;

/**
 * Authorization over AuthorizationPolicy messages, compiled once per policy set (one config
 * version): patterns become matchers, CEL conditions are parsed and planned, and rules are
 * indexed by namespace and service, so evaluating a call walks only the rules that apply
 * and allocates nothing unless a CEL condition has to be evaluated.
 *
 * Semantics (as Istio's): a matching DENY rule denies; otherwise, when an ALLOW policy
 * selects the service, a matching ALLOW rule allows and no match denies (default deny);
 * when none selects it, the call is allowed. A policy with an empty namespace is mesh-wide.
 * Within a rule every field set must match; within a field any entry may match.
 */
export class AuthorizationEngine {
  readonly #byNamespace: ReadonlyMap<string, NamespaceIndex>;
  readonly #meshWide: NamespaceIndex;
  /** CEL variables of the call being evaluated, built on first need (evaluation is synchronous). */
  #bindingsFor: AuthorizationInput | undefined;
  #bindings: ConditionBindings | undefined;
  /** What the last condition that could not be evaluated returned. */
  #failure: unknown;
  /** "<namespace>/<name>" of every policy loaded, in order. */
  readonly policies: readonly string[];

  private constructor(
    policies: readonly AuthorizationPolicy[],
    rules: ReadonlyMap<AuthorizationPolicy, CompiledRule[]>,
  ) {
    this.policies = policies.map(policyKey);
    const namespaces = new Set(policies.map((p) => p.namespace).filter((ns) => ns !== ""));
    this.#byNamespace = new Map([...namespaces].map((ns) => [ns, indexNamespace(ns, policies, rules)]));
    this.#meshWide = indexNamespace(undefined, policies, rules);
  }

  /** Compiles a policy set; throws AuthorizationPolicyError listing every problem. */
  static compile(inputs: readonly AuthorizationPolicyInput[]): AuthorizationEngine {
    const policies = inputs.map(toAuthorizationPolicy);
    const issues: AuthorizationPolicyIssue[] = [];
    const rules = new Map<AuthorizationPolicy, CompiledRule[]>();
    const seen = new Set<string>();
    for (const policy of policies) {
      const key = policyKey(policy);
      if (seen.has(key))
        issues.push({ policy: key, ruleIndex: undefined, field: "name", message: "is used by two policies" });
      seen.add(key);
      rules.set(policy, compilePolicy(policy, issues));
    }
    if (issues.length > 0) throw new AuthorizationPolicyError(issues);
    return new AuthorizationEngine(policies, rules);
  }

  /** The problems compile would report, without throwing (to reject a config version with reasons). */
  static check(inputs: readonly AuthorizationPolicyInput[]): readonly AuthorizationPolicyIssue[] {
    try {
      AuthorizationEngine.compile(inputs);
      return [];
    } catch (err) {
      if (err instanceof AuthorizationPolicyError) return err.issues;
      throw err;
    }
  }

  /** Decides one call. */
  evaluate(input: AuthorizationInput): AuthorizationDecision {
    const index = this.#byNamespace.get(input.namespace) ?? this.#meshWide;
    const set = index.services.get(input.service) ?? index.others;
    if (set.deny.length === 0 && set.allow.length === 0) return set.noRuleMatched;
    const decision = this.#decide(set, input);
    if (this.#bindingsFor !== undefined) {
      // Hold no reference to the call (its headers, its body) past its evaluation.
      this.#bindingsFor = undefined;
      this.#bindings = undefined;
      this.#failure = undefined;
    }
    return decision;
  }

  #decide(set: RuleSet, input: AuthorizationInput): AuthorizationDecision {
    for (let i = 0; i < set.deny.length; i++) {
      const rule = set.deny[i] as CompiledRule;
      const m = this.#match(rule, input);
      if (m === MATCH) return rule.decision;
      if (m === FAILED) return this.#conditionFailed(rule);
    }
    for (let i = 0; i < set.allow.length; i++) {
      const rule = set.allow[i] as CompiledRule;
      if (this.#match(rule, input) === MATCH) return rule.decision;
    }
    return set.noRuleMatched;
  }

  #match(rule: CompiledRule, input: AuthorizationInput): number {
    const source = input.source;
    if (rule.principals && !(source && rule.principals(source.spiffeId))) return NO_MATCH;
    if (rule.notPrincipals && source && rule.notPrincipals(source.spiffeId)) return NO_MATCH;
    if (rule.namespaces && !(source && rule.namespaces(source.namespace))) return NO_MATCH;
    if (rule.rpcMethods || rule.methodPaths) {
      const byName = rule.rpcMethods !== undefined && input.method !== "" && rule.rpcMethods(input.method);
      if (!byName && rule.methodPaths?.(pathOf(input.path)) !== true) return NO_MATCH;
    }
    if (rule.paths && !rule.paths(pathOf(input.path))) return NO_MATCH;
    const hm = input.httpMethod;
    if (rule.httpMethods && !rule.httpMethods.has(hm) && !rule.httpMethods.has(hm.toUpperCase()))
      return NO_MATCH;
    for (let i = 0; i < rule.headers.length; i++) {
      const [name, value] = rule.headers[i] as readonly [string, string];
      if (input.headers.get(name) !== value) return NO_MATCH;
    }
    if (!rule.when) return MATCH;
    if (this.#bindingsFor !== input) {
      this.#bindings = conditionBindings(input);
      this.#bindingsFor = input;
    }
    const result = rule.when(this.#bindings as ConditionBindings);
    if (result === true) return MATCH;
    if (result === false) return NO_MATCH;
    this.#failure = result;
    return FAILED;
  }

  /** A DENY rule whose condition cannot be evaluated applies: failing open would let the call through. */
  #conditionFailed(rule: CompiledRule): AuthorizationDecision {
    const result = this.#failure;
    const why = result instanceof Error ? result.message : `it is ${typeof result}, not a bool`;
    return {
      allowed: false,
      policy: rule.policy,
      ruleIndex: rule.index,
      reason: `denied by ${rule.policy} rule ${rule.index}: its condition could not be evaluated (${why})`,
    };
  }
}

/** Compiles a policy set; throws AuthorizationPolicyError naming policy, rule and field of every problem. */
export function compileAuthorization(policies: readonly AuthorizationPolicyInput[]): AuthorizationEngine {
  return AuthorizationEngine.compile(policies);
}

function compilePolicy(policy: AuthorizationPolicy, issues: AuthorizationPolicyIssue[]): CompiledRule[] {
  const key = policyKey({ namespace: policy.namespace, name: policy.name || "(unnamed)" });
  const issue = (ruleIndex: number | undefined, field: string, message: string) =>
    issues.push({ policy: key, ruleIndex, field, message });
  if (!policy.name) issue(undefined, "name", "is empty");
  const deny = policy.action === AuthorizationPolicy_Action.DENY;
  if (!deny && policy.action !== AuthorizationPolicy_Action.ALLOW)
    issue(undefined, "action", "must be ALLOW or DENY");
  if (policy.rules.length === 0) issue(undefined, "rules", "is empty; a policy needs at least one rule");
  policy.services.forEach((s, i) => {
    if (!s) issue(undefined, `services[${i}]`, "is empty");
  });
  return policy.rules.map((rule, index) => compileRule(rule, index, deny, key, (f, m) => issue(index, f, m)));
}

function compileRule(
  rule: AuthorizationRule,
  index: number,
  deny: boolean,
  policy: string,
  issue: (field: string, message: string) => void,
): CompiledRule {
  const principals = checked("principals", rule.principals, principalProblem, issue);
  const notPrincipals = checked("not_principals", rule.notPrincipals, principalProblem, issue);
  const namespaces = checked("namespaces", rule.namespaces, patternProblem, issue);
  const methods = checked("methods", rule.methods, methodProblem, issue);
  const paths = checked("paths", rule.paths, pathProblem, issue);
  rule.httpMethods.forEach((m, i) => {
    if (!HTTP_METHOD.test(m)) issue(`http_methods[${i}]`, `${JSON.stringify(m)} is not an HTTP method`);
  });
  const headers = Object.entries(rule.headers).map(([name, value]) => [name.toLowerCase(), value] as const);
  for (const [name] of headers) if (!name) issue("headers", "has an empty header name");
  let when: Condition | undefined;
  if (rule.when.trim()) {
    try {
      when = compileCondition(rule.when);
    } catch (err) {
      issue("when", `${JSON.stringify(rule.when)}: ${(err as Error).message}`);
    }
  }
  const rpc = methods?.filter((m) => !m.startsWith("/"));
  const methodPaths = methods?.filter((m) => m.startsWith("/"));
  return {
    deny,
    policy,
    index,
    principals: principals && compilePatterns(principals),
    notPrincipals: notPrincipals && compilePatterns(notPrincipals),
    namespaces: namespaces && compilePatterns(namespaces),
    rpcMethods: rpc?.length ? compilePatterns(rpc) : undefined,
    methodPaths: methodPaths?.length ? compilePatterns(methodPaths) : undefined,
    paths: paths && compilePatterns(paths),
    httpMethods: rule.httpMethods.length ? new Set(rule.httpMethods.map((m) => m.toUpperCase())) : undefined,
    headers,
    when,
    decision: Object.freeze({
      allowed: !deny,
      policy,
      ruleIndex: index,
      reason: `${deny ? "denied" : "allowed"} by ${policy} rule ${index}`,
    }),
  };
}

/** The list when set (undefined when empty: the field does not constrain), reporting bad entries. */
function checked(
  field: string,
  values: readonly string[],
  problemOf: (value: string) => string | undefined,
  issue: (field: string, message: string) => void,
): readonly string[] | undefined {
  values.forEach((v, i) => {
    const problem = problemOf(v);
    if (problem) issue(`${field}[${i}]`, `${JSON.stringify(v)} ${problem}`);
  });
  return values.length ? values : undefined;
}

function principalProblem(p: string): string | undefined {
  const problem = patternProblem(p);
  if (problem || p === "*") return problem;
  if (p.endsWith("*")) {
    return p.startsWith("spiffe://") ? undefined : `is not a SPIFFE ID prefix (spiffe://<trust-domain>/...*)`;
  }
  try {
    parseSpiffeId(p);
    return undefined;
  } catch (err) {
    if (err instanceof SpiffeIdError) return `is not a SPIFFE ID: ${err.problem}`;
    throw err;
  }
}

function methodProblem(m: string): string | undefined {
  const problem = patternProblem(m);
  if (problem || m === "*" || m.startsWith("/")) return problem;
  const slash = m.indexOf("/");
  const service = m.slice(0, slash);
  const method = m.slice(slash + 1);
  if (slash <= 0 || method === "" || method.includes("/") || service.includes("*")) {
    return `is not "package.Service/Method", "package.Service/*" or an HTTP path "/..."`;
  }
  return undefined;
}

function pathProblem(p: string): string | undefined {
  const problem = patternProblem(p);
  if (problem || p === "*") return problem;
  return p.startsWith("/") ? undefined : `does not start with "/"`;
}

/** The path without its query: rules match paths, not query strings. */
function pathOf(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : path.slice(0, q);
}

/** The rule sets of one namespace (undefined: namespaces no policy names, where only mesh-wide ones apply). */
function indexNamespace(
  namespace: string | undefined,
  policies: readonly AuthorizationPolicy[],
  rules: ReadonlyMap<AuthorizationPolicy, CompiledRule[]>,
): NamespaceIndex {
  const inScope = policies.filter((p) => p.namespace === "" || p.namespace === namespace);
  const named = new Set(inScope.flatMap((p) => p.services));
  const services = new Map(
    [...named].map((service) => {
      const selecting = inScope.filter((p) => p.services.length === 0 || p.services.includes(service));
      return [service, ruleSet(selecting, rules)] as const;
    }),
  );
  const others = ruleSet(
    inScope.filter((p) => p.services.length === 0),
    rules,
  );
  return { services, others };
}

function ruleSet(
  selecting: readonly AuthorizationPolicy[],
  rules: ReadonlyMap<AuthorizationPolicy, CompiledRule[]>,
): RuleSet {
  const all = selecting.flatMap((p) => rules.get(p) ?? []);
  const allowPolicies = selecting.filter((p) => p.action === AuthorizationPolicy_Action.ALLOW).map(policyKey);
  const denyPolicies = selecting.filter((p) => p.action === AuthorizationPolicy_Action.DENY).map(policyKey);
  let noRuleMatched = NOT_SELECTED;
  if (allowPolicies.length > 0) {
    noRuleMatched = Object.freeze({
      allowed: false,
      policy: allowPolicies.join(", "),
      ruleIndex: -1,
      reason: `no rule of ${allowPolicies.join(", ")} allows it (default deny: an ALLOW policy selects the service)`,
    });
  } else if (denyPolicies.length > 0) {
    noRuleMatched = Object.freeze({
      allowed: true,
      policy: "",
      ruleIndex: -1,
      reason: `no DENY rule of ${denyPolicies.join(", ")} matches and no ALLOW policy selects the service`,
    });
  }
  return { deny: all.filter((r) => r.deny), allow: all.filter((r) => !r.deny), noRuleMatched };
}
