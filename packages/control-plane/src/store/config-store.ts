import type { MeshConfig } from "@weft/core/model";
import type { DiscoveryHub } from "../discovery/hub.ts";

/** The applied configuration with the store revision that wrote it. */
export interface StoredConfig {
  /** Increases by at least one on every write, across restarts; 0 before the first write. */
  readonly revision: number;
  readonly config: MeshConfig;
}

/** A bootstrap token as stored: only its hash, never the token itself. */
export interface TokenRecord {
  /** Hex SHA-256 of the token. */
  readonly hash: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Wall-clock milliseconds since the epoch. */
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
}

/** A SPIFFE ID the CA must sign nothing more for, until it is restored. */
export interface RevocationRecord {
  readonly spiffeId: string;
  /** As the person who revoked it said; "" when none was given. */
  readonly reason: string;
  /** Wall-clock milliseconds since the epoch. */
  readonly revokedAtMs: number;
}

/** Receives every write, in revision order. */
export type ConfigListener = (stored: StoredConfig) => void;

/**
 * Where the control plane keeps what must survive a restart. The shape follows etcd so an
 * etcd store (several replicas) and a Kubernetes store fit behind it: a revision per write,
 * compare-and-swap on that revision, and a watch that also reports other replicas' writes.
 */
export interface ConfigStore {
  /** The configuration in force (an empty MeshConfig at revision 0 when none was applied). */
  get(): Promise<StoredConfig>;
  /**
   * Replaces the configuration. With `expectedRevision`, fails with StoreConflictError when
   * another write happened since (etcd: a txn comparing the key's mod_revision).
   */
  put(config: MeshConfig, options?: { expectedRevision?: number }): Promise<StoredConfig>;
  /** Calls `listener` after every write from now on; returns the function that stops it. */
  watch(listener: ConfigListener): () => void;
  putToken(record: TokenRecord): Promise<void>;
  getToken(hash: string): Promise<TokenRecord | undefined>;
  /** Revokes `record.spiffeId`, replacing an earlier revocation of it. */
  putRevocation(record: RevocationRecord): Promise<void>;
  /** The current revocation of `spiffeId`, read from the store (so other replicas' writes count). */
  getRevocation(spiffeId: string): Promise<RevocationRecord | undefined>;
  /** Every revocation, ordered by SPIFFE ID. */
  listRevocations(): Promise<RevocationRecord[]>;
  /** Lifts the revocation of `spiffeId` and returns it; undefined when it was not revoked. */
  deleteRevocation(spiffeId: string): Promise<RevocationRecord | undefined>;
  /**
   * Present when several control-plane replicas share the store (etcd): data planes may
   * connect to any replica, so each must see the endpoints registered at the others.
   */
  readonly registrations?: SharedRegistrations;
  /**
   * Present when replicas share the store: the mesh CA's root (PEM certificate and key) is
   * kept there, so every replica signs with the same root. The first replica to start
   * stores the root `create` makes; the others read it.
   */
  sharedCa?(create: () => Promise<CaMaterial>): Promise<CaMaterial>;
  /**
   * Present when replicas share the store: the admin API's token is kept there, so the
   * `weft` command is let in by every replica. The first replica stores the one `create` makes.
   */
  sharedAdminToken?(create: () => string): Promise<string>;
  close(): Promise<void>;
}

/** A CA certificate and its private key, PEM. */
export interface CaMaterial {
  readonly certificatePem: string;
  readonly keyPem: string;
}

/** Data-plane registrations shared by every replica of one store. */
export interface SharedRegistrations {
  /**
   * Publishes the registrations of the streams `hub` holds and feeds it those of the other
   * replicas; resolves to the function that stops (the others then start the grace period
   * of this replica's data planes).
   */
  attach(hub: DiscoveryHub): Promise<() => Promise<void>>;
}

/** A compare-and-swap write lost to another writer. */
export class StoreConflictError extends Error {
  override readonly name = "StoreConflictError";
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number) {
    super(
      `configuration changed while applying (expected revision ${expected}, store is at ${actual}); apply again`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}
