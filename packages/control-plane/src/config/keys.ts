import { DEFAULT_NAMESPACE } from "@weft/core";

/** `namespace/name`, the one way services are named across the control plane. */
export function serviceKey(namespace: string, name: string): string {
  return `${namespace || DEFAULT_NAMESPACE}/${name}`;
}

/**
 * Reads a reference to a service: `namespace/name`, or a bare `name` in the namespace
 * `home` (the caller's own).
 */
export function resolveServiceRef(ref: string, home: string): string {
  const slash = ref.indexOf("/");
  return slash >= 0 ? serviceKey(ref.slice(0, slash), ref.slice(slash + 1)) : serviceKey(home, ref);
}
