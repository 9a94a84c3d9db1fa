import { Code } from "@connectrpc/connect";
import type { MeshCall, Place } from "../call/call.ts";
import { filterStep } from "../chain/chain.ts";
import { definePlugin } from "../chain/plugin.ts";
import { MeshError } from "../errors/mesh-error.ts";
import { type AuthorizationDecision, AuthorizationEngine } from "./engine.ts";
import { type AuthorizationPolicyInput, authorizationPoliciesFromJson } from "./policy-input.ts";

export interface AuthorizationOptions {
  /** A compiled engine, shared by every chain of one config version. */
  engine?: AuthorizationEngine;
  /** Policies to compile when the plugin is created (ignored when `engine` is given). */
  policies?: readonly AuthorizationPolicyInput[];
}

export const AUTHORIZATION_PLUGIN = "authorization";

/**
 * Authorizes inbound calls by the caller's identity (call.source, which the transport took
 * from the client certificate, never from a header). Fails a denied call with
 * PermissionDenied naming the caller, the call and the deciding policy and rule.
 */
export const authorization = definePlugin<AuthorizationOptions>({
  name: AUTHORIZATION_PLUGIN,
  places: ["sidecar-inbound", "server"],
  parseOptions(raw) {
    if (raw.engine !== undefined && !(raw.engine instanceof AuthorizationEngine)) {
      throw new Error("engine must be an AuthorizationEngine (from compileAuthorization)");
    }
    return {
      engine: raw.engine,
      policies: raw.policies === undefined ? undefined : authorizationPoliciesFromJson(raw.policies),
    };
  },
  create(options, ctx) {
    const engine = options.engine ?? AuthorizationEngine.compile(options.policies ?? []);
    const place = ctx.place;
    // A request phase only: an allowed call passes untouched, fused with its neighbours.
    const open = (call: MeshCall): undefined => {
      const decision = engine.evaluate(call);
      if (!decision.allowed) throw authorizationDenied(call, decision, place);
      return undefined;
    };
    return filterStep({ bind: () => open }, place, AUTHORIZATION_PLUGIN);
  },
});

/** The error a denied call fails with. */
export function authorizationDenied(
  call: MeshCall,
  decision: AuthorizationDecision,
  place: Place,
): MeshError {
  const who = call.source ? call.source.spiffeId : "an unauthenticated caller";
  const what = call.method || `${call.httpMethod} ${call.path}`;
  return new MeshError(Code.PermissionDenied, `${who} may not call ${what}: ${decision.reason}`, {
    place,
    plugin: AUTHORIZATION_PLUGIN,
    policy: decision.policy,
  });
}

/**
 * Compiles a policy set once per config version: chains built for several places and
 * services of one version share one engine, and a new version compiles anew.
 */
export class AuthorizationCache {
  #version: string | undefined;
  #engine: AuthorizationEngine | undefined;

  /** The engine for `version`; compiles (and may throw AuthorizationPolicyError) only when the version changes. */
  engineFor(version: string, policies: readonly AuthorizationPolicyInput[]): AuthorizationEngine {
    if (this.#engine && this.#version === version) return this.#engine;
    const engine = AuthorizationEngine.compile(policies);
    this.#version = version;
    this.#engine = engine;
    return engine;
  }
}
