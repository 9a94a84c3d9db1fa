import { randomUUID } from "node:crypto";
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { type Registration, RegistrationSchema } from "@weft/core/model";
import type { Etcd3, IKeyValue, Lease, Watcher } from "etcd3";
import type { DiscoveryHub } from "../discovery/hub.ts";
import type { DataPlaneSession } from "../discovery/session.ts";
import type { SharedRegistrations } from "./config-store.ts";

export interface EtcdRegistrationsOptions {
  client: Etcd3;
  /** Where registrations live, ending in `/`; a key is this plus the registry's instance key. */
  prefix: string;
  leaseTtlSeconds: number;
  onError: (error: Error) => void;
}

/** The value of a registration key. */
interface Published {
  replica: string;
  registration: JsonValue;
}

/** Owner, in this replica's registry, of every instance registered at another replica. */
const REMOTE = Object.freeze({ owner: "another control-plane replica" });

interface LocalEntry {
  readonly session: DataPlaneSession;
  /** Mod revision of the key once written: the delete is conditional on it. */
  modRevision: string | undefined;
}

/**
 * Data-plane registrations shared by the control-plane replicas of one etcd.
 *
 * Each replica writes the registrations of the streams it holds as keys attached to its own
 * lease (kept alive while it runs), and deletes a key when that stream ends. Every replica
 * watches the prefix and feeds other replicas' registrations into its registry, where the
 * usual grace period applies when a key goes: so a data plane that moves to another replica
 * within the grace period keeps its endpoint everywhere, and a replica that dies takes its
 * data planes' endpoints with it once its lease runs out (plus the grace period), unless
 * they have registered elsewhere by then. The newest write of an instance's key wins;
 * a replica never deletes or rewrites a key another replica wrote after it.
 */
export class EtcdRegistrations implements SharedRegistrations {
  /** Names this replica's writes, so its own keys are told apart in the watch. */
  readonly replica = randomUUID();
  private readonly options: EtcdRegistrationsOptions;
  private readonly local = new Map<string, LocalEntry>();
  /** Instances this replica's registry holds for other replicas. */
  private readonly remote = new Set<string>();
  /** Other replicas' writes of an instance seen while this replica's write of it was in flight. */
  private readonly deferred = new Map<string, { revision: bigint; registration: Registration }>();
  /** Writes of one key run one after another, so a delete never overtakes its put. */
  private readonly chains = new Map<string, Promise<void>>();
  private hub: DiscoveryHub | undefined;
  private lease: Lease | undefined;
  private watcher: Watcher | undefined;
  private detachHub: (() => void) | undefined;
  private closed = false;

  constructor(options: EtcdRegistrationsOptions) {
    this.options = options;
  }

  async attach(hub: DiscoveryHub): Promise<() => Promise<void>> {
    if (this.hub) throw new Error("the etcd registrations are already attached to a control plane");
    if (this.closed) throw new Error("the etcd store is closed");
    this.hub = hub;
    this.lease = await this.grantLease();
    await this.sync();
    // The hub is shared code with one replica in mind; its two entry points are where a
    // stream's registration starts and ends, so that is where they are published.
    const open = hub.open;
    const close = hub.close;
    hub.open = (registration, send) => {
      const session = open.call(hub, registration, send);
      this.publish(session);
      return session;
    };
    hub.close = (session) => {
      close.call(hub, session);
      this.withdraw(session);
    };
    this.detachHub = () => {
      hub.open = open;
      hub.close = close;
    };
    return () => this.close();
  }

  /** Stops watching and revokes the lease: the other replicas start the grace period of this one's data planes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.detachHub?.();
    await this.watcher?.cancel().catch(() => undefined);
    await Promise.all(this.chains.values());
    await this.lease?.revoke().catch(() => undefined);
    for (const key of this.remote) this.hub?.registry.release(key, REMOTE);
    this.remote.clear();
    this.local.clear();
  }

  private publish(session: DataPlaneSession) {
    const key = session.leaseKey;
    const entry: LocalEntry = { session, modRevision: undefined };
    this.local.set(key, entry);
    this.remote.delete(key);
    this.enqueue(key, () => this.write(key, entry));
  }

  private withdraw(session: DataPlaneSession) {
    const key = session.leaseKey;
    const entry = this.local.get(key);
    if (entry?.session !== session) return;
    this.local.delete(key);
    this.enqueue(key, async () => {
      if (entry.modRevision === undefined || this.closed) return;
      const etcdKey = this.options.prefix + key;
      const { client } = this.options;
      try {
        await client.if(etcdKey, "Mod", "==", entry.modRevision).then(client.delete().key(etcdKey)).commit();
      } catch (e) {
        // Our lease removes it in the end; until then the others keep the endpoint.
        this.options.onError(new Error(`cannot delete registration ${etcdKey}: ${(e as Error).message}`));
      }
    });
  }

  /** Writes `entry` under the current lease, retrying until it lands or is superseded. */
  private async write(key: string, entry: LocalEntry): Promise<void> {
    const etcdKey = this.options.prefix + key;
    const value: Published = {
      replica: this.replica,
      registration: toJson(RegistrationSchema, entry.session.registration),
    };
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      const lease = this.lease;
      if (this.closed || this.local.get(key) !== entry || lease === undefined) return;
      try {
        const res = await lease.put(etcdKey).value(JSON.stringify(value)).exec();
        entry.modRevision = res.header.revision;
        const later = this.deferred.get(key);
        this.deferred.delete(key);
        if (later && later.revision > BigInt(res.header.revision)) this.takeRemote(key, later.registration);
        return;
      } catch (e) {
        this.options.onError(
          new Error(`cannot publish registration ${etcdKey} (retrying): ${(e as Error).message}`),
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private enqueue(key: string, work: () => Promise<void>) {
    const run = (this.chains.get(key) ?? Promise.resolve()).then(work).catch((e: unknown) => {
      this.options.onError(e as Error);
    });
    this.chains.set(key, run);
    void run.then(() => {
      if (this.chains.get(key) === run) this.chains.delete(key);
    });
  }

  private async grantLease(): Promise<Lease> {
    const lease = this.options.client.lease(this.options.leaseTtlSeconds);
    await lease.grant();
    // Cut off from etcd longer than the TTL, this replica's keys are gone: take a new lease
    // and write every registration it still holds again.
    lease.on("lost", (e) => {
      if (this.closed || this.lease !== lease) return;
      this.options.onError(new Error(`lost the registration lease (${e.message}); writing them again`));
      this.lease = undefined;
      void this.regrant();
    });
    return lease;
  }

  private async regrant(): Promise<void> {
    for (let delay = 200; !this.closed; delay = Math.min(delay * 2, 5000)) {
      try {
        const lease = await this.grantLease();
        if (this.closed) {
          await lease.revoke().catch(() => undefined);
          return;
        }
        this.lease = lease;
        for (const [key, entry] of this.local) this.enqueue(key, () => this.write(key, entry));
        return;
      } catch (e) {
        this.options.onError(new Error(`cannot take a registration lease: ${(e as Error).message}`));
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Reads every registration, brings the registry in line, and watches from that revision. */
  private async sync(): Promise<void> {
    const { client, prefix } = this.options;
    const res = await client.getAll().prefix(prefix).exec();
    const present = new Set<string>();
    for (const kv of res.kvs) {
      const key = kv.key.toString().slice(prefix.length);
      present.add(key);
      this.onPut(key, kv);
    }
    for (const key of [...this.remote]) if (!present.has(key)) this.onDelete(key);
    const watcher = await client
      .watch()
      .prefix(prefix)
      .startRevision(String(Number(res.header.revision) + 1))
      .create();
    this.watcher = watcher;
    watcher.on("put", (kv) => this.onPut(kv.key.toString().slice(prefix.length), kv));
    watcher.on("delete", (kv) => this.onDelete(kv.key.toString().slice(prefix.length)));
    // Canceled by etcd (its start revision was compacted away): read everything again.
    watcher.on("error", (e) => {
      if (this.closed || this.watcher !== watcher) return;
      this.options.onError(new Error(`the watch of ${prefix} failed (${e.message}); reading it again`));
      void this.resync();
    });
  }

  private async resync(): Promise<void> {
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 5000)) {
      try {
        await this.watcher?.cancel().catch(() => undefined);
        await this.sync();
        return;
      } catch (e) {
        this.options.onError(new Error(`cannot watch ${this.options.prefix} again: ${(e as Error).message}`));
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private onPut(key: string, kv: IKeyValue) {
    const hub = this.hub;
    if (!hub || this.closed) return;
    let published: Published;
    let registration: Registration;
    try {
      published = JSON.parse(kv.value.toString()) as Published;
      registration = fromJson(RegistrationSchema, published.registration);
    } catch (e) {
      this.options.onError(
        new Error(`etcd key ${kv.key.toString()} is not a registration: ${(e as Error).message}`),
      );
      return;
    }
    if (published.replica === this.replica) return;
    const local = this.local.get(key);
    if (local) {
      // The same instance has a stream here too (it moved, and the old stream is not yet
      // known to be dead): the later write holds it.
      if (local.modRevision === undefined) {
        this.deferred.set(key, { revision: BigInt(kv.mod_revision), registration });
        return;
      }
      if (BigInt(kv.mod_revision) < BigInt(local.modRevision)) return;
    }
    this.takeRemote(key, registration);
  }

  /** Another replica holds this instance now: this one must not write or delete its key. */
  private takeRemote(key: string, registration: Registration) {
    this.local.delete(key);
    this.remote.add(key);
    this.hub?.registry.register(registration, REMOTE);
    // Another replica's data planes are in view: this replica sees what the fleet sees, so
    // data planes coming here need not wait for the others to register again.
    this.hub?.endWarmup();
  }

  private onDelete(key: string) {
    if (!this.remote.delete(key)) return;
    // A no-op when a stream at this replica holds the instance meanwhile.
    this.hub?.registry.release(key, REMOTE);
  }
}
