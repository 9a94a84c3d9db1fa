import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { ConfigError, formatProblem } from "@weft/core";
import {
  type AdminService,
  MeshConfigSchema,
  type RevokedIdentity,
  RevokedIdentitySchema,
  type ServiceEndpoints,
} from "@weft/core/model";
import { diffMeshConfig } from "../config/diff.ts";
import { validateMeshConfig } from "../config/validate.ts";
import type { DiscoveryHub } from "../discovery/hub.ts";
import { revocableIdentity } from "../identity/revocations.ts";
import { type ConfigStore, type RevocationRecord, StoreConflictError } from "../store/config-store.ts";
import { issueToken } from "../tokens/tokens.ts";

export interface AdminServiceOptions {
  /** The mesh CA's trust domain: only its identities can be revoked. */
  readonly trustDomain: string;
  readonly now?: () => number;
}

/** What the `weft` command and the dashboard call. */
export function adminService(
  store: ConfigStore,
  hub: DiscoveryHub,
  options: AdminServiceOptions,
): ServiceImpl<typeof AdminService> {
  const now = options.now ?? Date.now;
  return {
    async apply(request) {
      let checked: ReturnType<typeof validateMeshConfig>;
      try {
        checked = validateMeshConfig(request.config ?? create(MeshConfigSchema));
      } catch (e) {
        if (e instanceof ConfigError)
          throw new ConnectError(
            `configuration refused, nothing changed:\n${e.problems.map((p) => `  ${formatProblem(p)}`).join("\n")}`,
            Code.InvalidArgument,
          );
        throw e;
      }
      const expected = parseExpectedVersion(request.expectedVersion);
      const current = await store.get();
      if (expected !== undefined && current.revision !== expected)
        throw staleVersion(expected, current.revision);
      const changed = diffMeshConfig(current.config, checked);
      if (request.dryRun || changed.length === 0) return { version: String(current.revision), changed };
      try {
        // The store compares and writes in one step (etcd: a transaction on the revision),
        // so a writer that slips in after the check above still makes this put fail.
        const stored = await store.put(checked, { expectedRevision: current.revision });
        return { version: String(stored.revision), changed };
      } catch (e) {
        if (e instanceof StoreConflictError)
          throw expected === undefined
            ? new ConnectError(e.message, Code.Aborted)
            : staleVersion(expected, e.actual);
        throw e;
      }
    },

    async getConfig() {
      const stored = await store.get();
      return { config: stored.config, version: String(stored.revision) };
    },

    listEndpoints(request) {
      const services: ServiceEndpoints[] = [];
      for (const key of hub.view.servicesWithEndpoints()) {
        if (request.service && !matches(key, request.service)) continue;
        const set = hub.view.endpointSet(key);
        if (set) services.push(set);
      }
      return { services };
    },

    listProxies() {
      const proxies = hub
        .proxies()
        .sort((a, b) =>
          `${a.namespace}/${a.service}/${a.instanceId}`.localeCompare(
            `${b.namespace}/${b.service}/${b.instanceId}`,
          ),
        );
      return { proxies };
    },

    async createToken(request) {
      try {
        const issued = await issueToken(store, {
          namespace: request.namespace,
          serviceAccount: request.serviceAccount,
          ttlSeconds: request.ttlSeconds,
        });
        return { token: issued.token, expiresAt: timestampFromMs(issued.expiresAtMs) };
      } catch (e) {
        if (e instanceof RangeError) throw new ConnectError(e.message, Code.InvalidArgument);
        throw e;
      }
    },

    async revokeIdentity(request) {
      const record: RevocationRecord = {
        spiffeId: revocableIdentity(request.spiffeId, options.trustDomain),
        reason: request.reason.trim(),
        revokedAtMs: now(),
      };
      await store.putRevocation(record);
      return { revoked: revokedIdentity(record) };
    },

    async listRevokedIdentities() {
      return { identities: (await store.listRevocations()).map(revokedIdentity) };
    },

    async restoreIdentity(request) {
      const spiffeId = revocableIdentity(request.spiffeId, options.trustDomain);
      const restored = await store.deleteRevocation(spiffeId);
      if (!restored)
        throw new ConnectError(
          `${spiffeId} is not revoked, so there is nothing to restore (weft identity list shows the revoked ones)`,
          Code.NotFound,
        );
      return { restored: revokedIdentity(restored) };
    },
  };
}

function revokedIdentity(r: RevocationRecord): RevokedIdentity {
  return create(RevokedIdentitySchema, {
    spiffeId: r.spiffeId,
    reason: r.reason,
    revokedAt: timestampFromMs(r.revokedAtMs),
  });
}

/**
 * `ApplyRequest.expected_version`: empty for none, else a version as Apply and GetConfig
 * report it (the store revision in decimal).
 */
function parseExpectedVersion(text: string): number | undefined {
  if (text === "") return undefined;
  const revision = Number(text);
  if (!/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(revision))
    throw new ConnectError(
      `expected_version "${text}" is not a configuration version (a whole number as weft apply --dry-run or GetConfig reports it); nothing changed`,
      Code.InvalidArgument,
    );
  return revision;
}

function staleVersion(expected: number, actual: number): ConnectError {
  return new ConnectError(
    `configuration version ${actual} is in force, not the expected version ${expected}: it was changed since; nothing changed (review what applying would change now, e.g. with weft apply --dry-run, then apply against version ${actual})`,
    Code.FailedPrecondition,
  );
}

/** `ns/name` matches exactly; a bare `name` matches that service in any namespace. */
function matches(key: string, filter: string): boolean {
  return filter.includes("/") ? key === filter : key.slice(key.indexOf("/") + 1) === filter;
}
