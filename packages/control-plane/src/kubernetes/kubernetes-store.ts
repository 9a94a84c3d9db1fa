import { Code, ConnectError } from "@connectrpc/connect";
import type {
  ConfigListener,
  ConfigStore,
  RevocationRecord,
  StoredConfig,
  TokenRecord,
} from "../store/config-store.ts";
import { type KubernetesOptions, type KubernetesSource, startKubernetesSource } from "./kubernetes-source.ts";

/**
 * `weft apply` against a control plane whose configuration comes from the cluster. A
 * ConnectError, so the admin API passes the reason to the person instead of "internal error".
 */
export class KubernetesManagedError extends ConnectError {
  // No name of its own: ConnectError recognises its instances (across copies) by name.
  constructor() {
    super(
      "this control plane takes its configuration from Kubernetes (weft.dev/v1 custom resources); change it with kubectl apply, not weft apply",
      Code.FailedPrecondition,
    );
  }
}

/**
 * A ConfigStore whose configuration is the cluster's (Weft custom resources and
 * EndpointSlices) and read-only, the way Istio and Linkerd treat theirs; bootstrap tokens
 * and revoked identities are kept in `tokens`, the store the control plane would otherwise use. Closing it stops
 * the watches, and closes `tokens` when `closeTokens` says it belongs to this store.
 */
export async function kubernetesStore(
  tokens: ConfigStore,
  options: KubernetesOptions,
  closeTokens: boolean,
): Promise<ConfigStore & { readonly source: KubernetesSource }> {
  const source = await startKubernetesSource(options);
  const stored = (): StoredConfig => {
    const s = source.current();
    return { revision: s.revision, config: s.config };
  };
  return {
    source,
    get: async () => stored(),
    put: async () => {
      throw new KubernetesManagedError();
    },
    watch: (listener: ConfigListener) =>
      source.subscribe((s) => listener({ revision: s.revision, config: s.config })),
    putToken: (record: TokenRecord) => tokens.putToken(record),
    getToken: (hash: string) => tokens.getToken(hash),
    putRevocation: (record: RevocationRecord) => tokens.putRevocation(record),
    getRevocation: (spiffeId: string) => tokens.getRevocation(spiffeId),
    listRevocations: () => tokens.listRevocations(),
    deleteRevocation: (spiffeId: string) => tokens.deleteRevocation(spiffeId),
    async close() {
      await source.close();
      if (closeTokens) await tokens.close();
    },
  };
}
