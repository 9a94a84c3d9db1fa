import { clone, create, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { type MeshConfig, MeshConfigSchema } from "@weft/core/model";
import { Etcd3, type IKeyValue, type Watcher } from "etcd3";
import {
  type CaMaterial,
  type ConfigListener,
  type ConfigStore,
  type RevocationRecord,
  StoreConflictError,
  type StoredConfig,
  type TokenRecord,
} from "./config-store.ts";
import { EtcdRegistrations } from "./etcd-registrations.ts";

export interface EtcdStoreOptions {
  /** Client addresses of the etcd members, e.g. `["127.0.0.1:2379", "127.0.0.1:22379"]`. */
  hosts: string[];
  /** Every key lives under it, so several meshes can share one etcd. Default `/weft/`. */
  prefix?: string;
  /**
   * TTL of the lease holding this replica's data-plane registrations: when the replica dies,
   * its data planes' endpoints leave the other replicas this long after (plus their grace
   * period). Default 5 s.
   */
  leaseTtlSeconds?: number;
  /** Deadline of each etcd request (not of watches). Default 5 s. */
  requestTimeoutMs?: number;
  /** Problems that have no caller to throw to (a watch that had to start over, an undecodable key). */
  onError?: (error: Error) => void;
}

export const DEFAULT_ETCD_PREFIX = "/weft/";

/**
 * Opens a ConfigStore on an etcd cluster, shared by every control-plane replica that uses
 * the same hosts and prefix. Revisions are etcd's mod revisions of the config key, so they
 * are the same on every replica and only ever grow; compare-and-swap is a transaction on
 * that revision; every replica watches the key, so each hub sees every write in order.
 * Rejects when etcd cannot be reached.
 */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  if (options.hosts.length === 0) throw new Error("an etcd store needs at least one host");
  const prefix = normalizePrefix(options.prefix ?? DEFAULT_ETCD_PREFIX);
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const client = new Etcd3({
    hosts: options.hosts,
    dialTimeout: timeoutMs,
    // Watches and lease keep-alives are long-lived streams; only unary calls get a deadline.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeoutMs }),
  });
  const store = new EtcdStore(client, prefix, options);
  try {
    await store.start();
  } catch (e) {
    client.close();
    throw new Error(`cannot reach etcd at ${options.hosts.join(",")}: ${(e as Error).message}`);
  }
  return store;
}

export class EtcdStore implements ConfigStore {
  readonly registrations: EtcdRegistrations;
  private readonly client: Etcd3;
  private readonly configKey: string;
  private readonly tokenPrefix: string;
  private readonly revokedPrefix: string;
  private readonly listeners = new Set<ConfigListener>();
  private readonly onError: (error: Error) => void;
  private watcher: Watcher | undefined;
  /** The newest revision handed to listeners: a write is reported once, never older after newer. */
  private emitted = 0;
  private latest: StoredConfig | undefined;
  private readonly waiters = new Set<{ revision: number; done: () => void }>();
  private readonly timeoutMs: number;
  private closed = false;

  constructor(client: Etcd3, prefix: string, options: EtcdStoreOptions) {
    this.client = client;
    this.configKey = `${prefix}config`;
    this.tokenPrefix = `${prefix}tokens/`;
    this.revokedPrefix = `${prefix}revoked/`;
    this.onError = options.onError ?? ((e) => process.emitWarning(e));
    this.timeoutMs = options.requestTimeoutMs ?? 5000;
    this.registrations = new EtcdRegistrations({
      client,
      prefix: `${prefix}registrations/`,
      leaseTtlSeconds: options.leaseTtlSeconds ?? 5,
      onError: this.onError,
    });
  }

  /** Reads the config once (which proves etcd answers) and watches it from there on. */
  async start(): Promise<void> {
    const res = await this.client.get(this.configKey).exec();
    const stored = this.decode(res.kvs[0]);
    this.emitted = stored.revision;
    await this.watchFrom(Number(res.header.revision) + 1);
  }

  async get(): Promise<StoredConfig> {
    const res = await this.client.get(this.configKey).exec();
    return this.decode(res.kvs[0]);
  }

  async put(config: MeshConfig, options: { expectedRevision?: number } = {}): Promise<StoredConfig> {
    if (this.closed) throw new Error(`the etcd store at ${this.configKey} is closed`);
    const value = JSON.stringify(toJson(MeshConfigSchema, config));
    let revision: number;
    if (options.expectedRevision === undefined) {
      const res = await this.client.put(this.configKey).value(value).exec();
      revision = Number(res.header.revision);
    } else {
      // A missing key has mod revision 0 in etcd's comparisons, so revision 0 means "never written".
      const txn = await this.client
        .if(this.configKey, "Mod", "==", options.expectedRevision)
        .then(this.client.put(this.configKey).value(value))
        .else(this.client.get(this.configKey))
        .commit();
      if (txn.succeeded) revision = Number(txn.header.revision);
      else {
        const kv = txn.responses[0]?.response_range.kvs[0];
        const actual = kv ? Number(kv.mod_revision) : 0;
        // The client retries a call whose answer was lost; if the first try went through,
        // the store holds exactly this value and the write did happen.
        if (kv === undefined || kv.value.toString() !== value)
          throw new StoreConflictError(options.expectedRevision, actual);
        revision = actual;
      }
    }
    // Listeners hear of writes from the watch only, so they see every replica's writes in
    // revision order; waiting for it here means that once an apply is answered, this
    // replica's hub has it (bounded: the write itself already succeeded).
    await this.caughtUp(revision);
    return { revision, config: clone(MeshConfigSchema, config) };
  }

  /**
   * Other replicas write at any time, also between a caller's get() and its watch(): so a
   * new listener is first told (in a microtask) the newest write this store has seen since
   * it opened, if any. A listener must therefore accept a revision it has already read.
   */
  watch(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    const latest = this.latest;
    if (latest)
      queueMicrotask(() => {
        if (this.listeners.has(listener) && this.latest === latest) listener(latest);
      });
    return () => this.listeners.delete(listener);
  }

  /** Put-if-absent in one transaction: of replicas starting together, one root wins. */
  async sharedCa(create: () => Promise<CaMaterial>): Promise<CaMaterial> {
    const stored = await this.putIfAbsent("ca", async () => JSON.stringify(await create()));
    return JSON.parse(stored) as CaMaterial;
  }

  /** Put-if-absent as for the CA: every replica accepts the same admin token. */
  async sharedAdminToken(create: () => string): Promise<string> {
    return this.putIfAbsent("admin-token", async () => create());
  }

  /** The value at `<prefix><name>`, stored from `make()` first when there is none. */
  private async putIfAbsent(name: string, make: () => Promise<string>): Promise<string> {
    const key = `${this.configKey.slice(0, -"config".length)}${name}`;
    const existing = await this.client.get(key).string();
    if (existing !== null) return existing;
    const made = await make();
    const txn = await this.client
      .if(key, "Create", "==", 0)
      .then(this.client.put(key).value(made))
      .else(this.client.get(key))
      .commit();
    if (txn.succeeded) return made;
    const kv = txn.responses[0]?.response_range.kvs[0];
    if (!kv) throw new Error(`${key} vanished while it was being created`);
    return kv.value.toString();
  }

  async putToken(record: TokenRecord): Promise<void> {
    if (this.closed) throw new Error(`the etcd store at ${this.configKey} is closed`);
    // The token's own lease removes it from etcd when it expires.
    const ttl = Math.max(1, Math.ceil((record.expiresAtMs - Date.now()) / 1000));
    const lease = this.client.lease(ttl, { autoKeepAlive: false });
    await lease.put(`${this.tokenPrefix}${record.hash}`).value(JSON.stringify(record)).exec();
  }

  async getToken(hash: string): Promise<TokenRecord | undefined> {
    const key = `${this.tokenPrefix}${hash}`;
    const value = await this.client.get(key).string();
    if (value === null) return undefined;
    try {
      return JSON.parse(value) as TokenRecord;
    } catch (e) {
      throw new Error(`etcd key ${key} is not a token record: ${(e as Error).message}`);
    }
  }

  // One key per revoked SPIFFE ID, the ID itself after the prefix (etcd keys are bytes, and
  // `etcdctl get --prefix <prefix>revoked/` then reads plainly). No lease: a revocation lasts
  // until it is lifted.
  async putRevocation(record: RevocationRecord): Promise<void> {
    if (this.closed) throw new Error(`the etcd store at ${this.configKey} is closed`);
    await this.client.put(`${this.revokedPrefix}${record.spiffeId}`).value(JSON.stringify(record)).exec();
  }

  async getRevocation(spiffeId: string): Promise<RevocationRecord | undefined> {
    const key = `${this.revokedPrefix}${spiffeId}`;
    const value = await this.client.get(key).string();
    return value === null ? undefined : this.decodeRevocation(key, value);
  }

  async listRevocations(): Promise<RevocationRecord[]> {
    // etcd answers a range in key order, which is SPIFFE ID order here.
    const res = await this.client.getAll().prefix(this.revokedPrefix).exec();
    return res.kvs.map((kv) => this.decodeRevocation(kv.key.toString(), kv.value.toString()));
  }

  async deleteRevocation(spiffeId: string): Promise<RevocationRecord | undefined> {
    if (this.closed) throw new Error(`the etcd store at ${this.configKey} is closed`);
    const key = `${this.revokedPrefix}${spiffeId}`;
    // The delete answers with what it deleted, so of two replicas restoring the same ID at
    // once exactly one is told it did.
    const [previous] = await this.client.delete().key(key).getPrevious();
    return previous === undefined ? undefined : this.decodeRevocation(key, previous.value.toString());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    for (const w of this.waiters) w.done();
    this.waiters.clear();
    await this.registrations.close();
    await this.watcher?.cancel().catch(() => undefined);
    this.client.close();
  }

  private async watchFrom(revision: number): Promise<void> {
    const watcher = await this.client.watch().key(this.configKey).startRevision(String(revision)).create();
    this.watcher = watcher;
    watcher.on("put", (kv) => this.emitDecoded(kv));
    // Removed by hand (etcdctl del): the mesh has no config, at that revision.
    watcher.on("delete", (kv) =>
      this.emit({ revision: Number(kv.mod_revision), config: create(MeshConfigSchema) }),
    );
    // etcd cancels a watch whose start was compacted away: read the current state and start over.
    watcher.on("error", (e) => {
      if (this.closed || this.watcher !== watcher) return;
      this.onError(new Error(`the watch of ${this.configKey} failed (${e.message}); reading it again`));
      void this.restartWatch();
    });
  }

  private async restartWatch(): Promise<void> {
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 5000)) {
      try {
        await this.watcher?.cancel().catch(() => undefined);
        const res = await this.client.get(this.configKey).exec();
        this.emit(this.decode(res.kvs[0]));
        await this.watchFrom(Number(res.header.revision) + 1);
        return;
      } catch (e) {
        this.onError(new Error(`cannot watch ${this.configKey} again: ${(e as Error).message}`));
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private emitDecoded(kv: IKeyValue) {
    try {
      this.emit(this.decode(kv));
    } catch (e) {
      this.onError(e as Error);
    }
  }

  private emit(stored: StoredConfig) {
    if (stored.revision <= this.emitted) return;
    this.emitted = stored.revision;
    this.latest = stored;
    for (const l of this.listeners) l(stored);
    for (const w of this.waiters)
      if (w.revision <= this.emitted) {
        this.waiters.delete(w);
        w.done();
      }
  }

  private caughtUp(revision: number): Promise<void> {
    if (revision <= this.emitted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        revision,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve();
      }, this.timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private decodeRevocation(key: string, value: string): RevocationRecord {
    try {
      const record = JSON.parse(value) as Partial<RevocationRecord>;
      if (typeof record.spiffeId !== "string" || typeof record.reason !== "string")
        throw new Error('it lacks a string "spiffeId" or "reason"');
      return { spiffeId: record.spiffeId, reason: record.reason, revokedAtMs: Number(record.revokedAtMs) };
    } catch (e) {
      throw new Error(`etcd key ${key} is not a revocation record: ${(e as Error).message}`);
    }
  }

  private decode(kv: IKeyValue | undefined): StoredConfig {
    if (kv === undefined) return { revision: 0, config: create(MeshConfigSchema) };
    try {
      const json = JSON.parse(kv.value.toString()) as JsonValue;
      return { revision: Number(kv.mod_revision), config: fromJson(MeshConfigSchema, json) };
    } catch (e) {
      throw new Error(
        `etcd key ${this.configKey} (revision ${kv.mod_revision}) is not a weft.v1.MeshConfig in JSON: ${(e as Error).message}`,
      );
    }
  }
}

/** `weft`, `/weft` and `/weft/` all mean the keys under `/weft/`. */
function normalizePrefix(prefix: string): string {
  if (prefix === "") return "";
  return prefix.endsWith("/") ? prefix : `${prefix}/`;
}
