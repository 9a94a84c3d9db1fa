import { type CelInput, type CelResult, celEnv, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import type { PeerIdentity } from "../call/call.ts";

/** What a rule sees of a call: a MeshCall has all of it. */
export interface AuthorizationInput {
  readonly service: string;
  readonly namespace: string;
  readonly method: string;
  readonly path: string;
  readonly httpMethod: string;
  readonly headers: Headers;
  readonly source: PeerIdentity | undefined;
}

/** A compiled `when` expression: true, false, or why it could not be evaluated. */
export type Condition = (bindings: ConditionBindings) => CelResult;

type CelBindings = Record<string, CelInput>;

/** The CEL variables, built at most once per evaluated call. */
export interface ConditionBindings {
  source: Record<string, string>;
  request: Record<string, string | Map<string, string>>;
  destination: Record<string, string>;
}

/** The fields each CEL variable has; an expression naming another is refused at load. */
const FIELDS: Record<string, readonly string[]> = {
  source: ["principal", "namespace", "service_account", "trust_domain"],
  request: ["method", "path", "http_method", "headers"],
  destination: ["service", "namespace"],
};

const env = celEnv({ funcs: strings });

/**
 * Parses and plans a CEL expression once. Throws an Error saying what is wrong: a syntax
 * error, or a variable or field the environment does not have (which CEL would only
 * report when a call is evaluated).
 */
export function compileCondition(expression: string): Condition {
  const parsed = parse(expression);
  const problem = referenceProblem(parsed.expr, new Set());
  if (problem) throw new Error(problem);
  const evaluate = plan(env, parsed);
  return (bindings) => evaluate(bindings as unknown as CelBindings);
}

export function conditionBindings(input: AuthorizationInput): ConditionBindings {
  const source = input.source;
  const headers = new Map<string, string>();
  input.headers.forEach((value, name) => {
    headers.set(name, value);
  });
  return {
    source: {
      principal: source?.spiffeId ?? "",
      namespace: source?.namespace ?? "",
      service_account: source?.serviceAccount ?? "",
      trust_domain: source?.trustDomain ?? "",
    },
    request: { method: input.method, path: input.path, http_method: input.httpMethod, headers },
    destination: { service: input.service, namespace: input.namespace },
  };
}

type Expr = ReturnType<typeof parse>["expr"];

function referenceProblem(expr: Expr | undefined, bound: ReadonlySet<string>): string | undefined {
  const kind = expr?.exprKind;
  switch (kind?.case) {
    case "identExpr":
      if (bound.has(kind.value.name) || kind.value.name in FIELDS) return undefined;
      return `unknown variable "${kind.value.name}"; the variables are source, request and destination`;
    case "selectExpr": {
      const operand = kind.value.operand?.exprKind;
      if (operand?.case === "identExpr" && !bound.has(operand.value.name)) {
        const fields = FIELDS[operand.value.name];
        if (fields && !fields.includes(kind.value.field)) {
          return `${operand.value.name} has no field "${kind.value.field}"; it has ${fields.join(", ")}`;
        }
      }
      return referenceProblem(kind.value.operand, bound);
    }
    case "callExpr":
      return first([kind.value.target, ...kind.value.args], bound);
    case "listExpr":
      return first(kind.value.elements, bound);
    case "structExpr":
      return first(
        kind.value.entries.flatMap((e) => [
          e.keyKind.case === "mapKey" ? e.keyKind.value : undefined,
          e.value,
        ]),
        bound,
      );
    case "comprehensionExpr": {
      const c = kind.value;
      const inner = new Set(bound);
      for (const v of [c.iterVar, c.iterVar2, c.accuVar]) if (v) inner.add(v);
      return first([c.iterRange, c.accuInit], bound) ?? first([c.loopCondition, c.loopStep, c.result], inner);
    }
    default:
      return undefined;
  }
}

function first(exprs: readonly (Expr | undefined)[], bound: ReadonlySet<string>): string | undefined {
  for (const e of exprs) {
    const problem = referenceProblem(e, bound);
    if (problem) return problem;
  }
  return undefined;
}
