import type { DescService } from "@bufbuild/protobuf";
import type { MeshClientTarget, MeshHost, MethodPolicy, ServiceMode } from "@weft/inprocess";

/**
 * What the tests use of a generated `_weft.ts` module, loaded at run time from a
 * temporary directory (so TypeScript cannot see its types; the type-check test does).
 */
export type GeneratedModule = Record<string, unknown>;

export function policiesOf(mod: GeneratedModule, name: string): Record<string, MethodPolicy | undefined> {
  const table = mod[name];
  if (typeof table !== "object" || table === null) throw new Error(`${name} is not a policy table`);
  return table as Record<string, MethodPolicy | undefined>;
}

export function modeOf(mod: GeneratedModule, name: string): ServiceMode {
  return mod[name] as ServiceMode;
}

export function clientFactory<C>(mod: GeneratedModule, name: string): (target: MeshClientTarget) => C {
  const f = mod[name];
  if (typeof f !== "function") throw new Error(`${name} is not a function`);
  return f as (target: MeshClientTarget) => C;
}

export function registration<Impl>(mod: GeneratedModule, name: string): (host: MeshHost, impl: Impl) => void {
  const f = mod[name];
  if (typeof f !== "function") throw new Error(`${name} is not a function`);
  return f as (host: MeshHost, impl: Impl) => void;
}

export function serviceOf(mod: GeneratedModule, name: string): DescService {
  const s = mod[name] as DescService | undefined;
  if (s?.kind !== "service") throw new Error(`${name} is not a service descriptor`);
  return s;
}
