import type { ConfigStore } from "./config-store.ts";
import { DEFAULT_ETCD_PREFIX, openEtcdStore } from "./etcd-store.ts";

export const STORE_URL_FORM = "etcd://HOST:PORT[,HOST:PORT...]";

/**
 * The etcd members named by `etcd://127.0.0.1:2379,127.0.0.1:22379` (what `--store` takes),
 * as `host:port` strings. Throws a RangeError saying what is wrong with the URL.
 */
export function parseEtcdStoreUrl(url: string): string[] {
  const scheme = "etcd://";
  if (!url.startsWith(scheme))
    throw new RangeError(`a store URL must look like ${STORE_URL_FORM}, got "${url}"`);
  const hosts = url
    .slice(scheme.length)
    .replace(/\/+$/, "")
    .split(",")
    .map((h) => h.trim());
  for (const host of hosts) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(host);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535)
      throw new RangeError(
        `etcd member "${host}" in "${url}" must be HOST:PORT with a port from 1 to 65535 (${STORE_URL_FORM})`,
      );
  }
  return hosts;
}

/** Opens the store a `--store` URL names; `prefix` defaults to `/weft/`. */
export function openStoreUrl(
  url: string,
  options: { prefix?: string; leaseTtlSeconds?: number } = {},
): Promise<ConfigStore> {
  return openEtcdStore({
    hosts: parseEtcdStoreUrl(url),
    prefix: options.prefix ?? DEFAULT_ETCD_PREFIX,
    ...(options.leaseTtlSeconds === undefined ? {} : { leaseTtlSeconds: options.leaseTtlSeconds }),
  });
}
