import type { DescService } from "@bufbuild/protobuf";

/** The names one service's helpers are exported under in its `_weft.ts` file. */
export interface ServiceExports {
  readonly policies: string;
  readonly mode: string;
  readonly createClient: string;
  readonly register: string;
}

/**
 * Export names for every service of a file, unique within the file. The names derive
 * from the service's proto name, which is an identifier, so they are identifiers too;
 * a keyword or global (`delete`, `Promise`) only ever appears as a prefix or inside,
 * never alone. Two services can still ask for one name (`registerX` + `Policies` and
 * `register` + `XPolicies`): the later service in the file gets a `$n` suffix, like
 * protoc-gen-es does, since `$` never occurs in a proto name. Imports that clash with
 * these names are aliased by protoplugin.
 */
export function allocateExportNames(
  services: readonly DescService[],
): { service: DescService; names: ServiceExports }[] {
  const taken = new Set<string>();
  const claim = (ideal: string): string => {
    let name = ideal;
    for (let i = 1; taken.has(name); i++) name = `${ideal}$${i}`;
    taken.add(name);
    return name;
  };
  return services.map((service) => ({
    service,
    names: {
      policies: claim(`${service.name}Policies`),
      mode: claim(`${service.name}Mode`),
      createClient: claim(`create${service.name}Client`),
      register: claim(`register${service.name}`),
    },
  }));
}
