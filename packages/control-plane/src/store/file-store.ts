import { mkdir, open, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { clone, create, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { type MeshConfig, MeshConfigSchema } from "@weft/core/model";
import { writeFileAtomic } from "./atomic-file.ts";
import {
  type ConfigListener,
  type ConfigStore,
  type RevocationRecord,
  StoreConflictError,
  type StoredConfig,
  type TokenRecord,
} from "./config-store.ts";

const CONFIG_FILE = "config.json";
const TOKENS_FILE = "tokens.json";
const REVOCATIONS_FILE = "revocations.json";
const LOCK_FILE = "LOCK";

/**
 * The default store: JSON files in one data directory, zero set-up. Every write is
 * crash-safe (see writeFileAtomic) and the revision is part of the file, so it keeps
 * increasing across restarts. One control plane per directory: a LOCK file with the
 * owner's pid refuses a second live owner.
 */
export async function openFileStore(dataDir: string): Promise<ConfigStore> {
  await mkdir(dataDir, { recursive: true });
  await takeLock(dataDir);
  try {
    // A crash between writing a temporary file and renaming it leaves it behind; it was
    // never the file in force, so it goes.
    for (const name of await readdir(dataDir))
      if (name.startsWith(".") && name.endsWith(".tmp")) await rm(join(dataDir, name), { force: true });
    const stored = await readConfig(dataDir);
    const tokens = await readTokens(dataDir);
    const revocations = await readRevocations(dataDir);
    return new FileStore(dataDir, stored, tokens, revocations);
  } catch (e) {
    await rm(join(dataDir, LOCK_FILE), { force: true });
    throw e;
  }
}

class FileStore implements ConfigStore {
  private readonly listeners = new Set<ConfigListener>();
  // Writes run one after another so revisions and files stay in step.
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private readonly dir: string;
  private stored: StoredConfig;
  private readonly tokens: Map<string, TokenRecord>;
  private readonly revocations: Map<string, RevocationRecord>;

  constructor(
    dir: string,
    stored: StoredConfig,
    tokens: Map<string, TokenRecord>,
    revocations: Map<string, RevocationRecord>,
  ) {
    this.dir = dir;
    this.stored = stored;
    this.tokens = tokens;
    this.revocations = revocations;
  }

  get(): Promise<StoredConfig> {
    return Promise.resolve({
      revision: this.stored.revision,
      config: clone(MeshConfigSchema, this.stored.config),
    });
  }

  put(config: MeshConfig, options: { expectedRevision?: number } = {}): Promise<StoredConfig> {
    return this.serialize(async () => {
      const current = this.stored.revision;
      if (options.expectedRevision !== undefined && options.expectedRevision !== current)
        throw new StoreConflictError(options.expectedRevision, current);
      const next: StoredConfig = { revision: current + 1, config: clone(MeshConfigSchema, config) };
      const json = { revision: next.revision, config: toJson(MeshConfigSchema, next.config) };
      await writeFileAtomic(join(this.dir, CONFIG_FILE), `${JSON.stringify(json, null, 2)}\n`);
      this.stored = next;
      for (const l of this.listeners) l(next);
      return next;
    });
  }

  watch(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  putToken(record: TokenRecord): Promise<void> {
    return this.serialize(async () => {
      const now = Date.now();
      for (const [hash, t] of this.tokens) if (t.expiresAtMs <= now) this.tokens.delete(hash);
      this.tokens.set(record.hash, record);
      const json = { tokens: [...this.tokens.values()] };
      await writeFileAtomic(join(this.dir, TOKENS_FILE), `${JSON.stringify(json, null, 2)}\n`);
    });
  }

  getToken(hash: string): Promise<TokenRecord | undefined> {
    return Promise.resolve(this.tokens.get(hash));
  }

  putRevocation(record: RevocationRecord): Promise<void> {
    return this.serialize(async () => {
      const next = new Map(this.revocations).set(record.spiffeId, { ...record });
      await this.writeRevocations(next);
    });
  }

  getRevocation(spiffeId: string): Promise<RevocationRecord | undefined> {
    const r = this.revocations.get(spiffeId);
    return Promise.resolve(r && { ...r });
  }

  listRevocations(): Promise<RevocationRecord[]> {
    return Promise.resolve(sortRevocations([...this.revocations.values()].map((r) => ({ ...r }))));
  }

  deleteRevocation(spiffeId: string): Promise<RevocationRecord | undefined> {
    return this.serialize(async () => {
      const existing = this.revocations.get(spiffeId);
      if (!existing) return undefined;
      const next = new Map(this.revocations);
      next.delete(spiffeId);
      await this.writeRevocations(next);
      return { ...existing };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.queue.catch(() => undefined);
    await rm(join(this.dir, LOCK_FILE), { force: true });
  }

  /** The map changes only once the file holds it: a failed write revokes or restores nothing. */
  private async writeRevocations(next: Map<string, RevocationRecord>): Promise<void> {
    const json = { revocations: sortRevocations([...next.values()]) };
    await writeFileAtomic(join(this.dir, REVOCATIONS_FILE), `${JSON.stringify(json, null, 2)}\n`);
    this.revocations.clear();
    for (const [id, r] of next) this.revocations.set(id, r);
  }

  private serialize<R>(work: () => Promise<R>): Promise<R> {
    if (this.closed) return Promise.reject(new Error(`the store at ${this.dir} is closed`));
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

async function takeLock(dir: string): Promise<void> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const f = await open(path, "wx", 0o600);
      await f.writeFile(String(process.pid));
      await f.close();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner))
        throw new Error(
          `data directory ${dir} is in use by process ${owner} (another control plane?); stop it or use another --data-dir`,
        );
      // The owner died without cleaning up: the lock is stale.
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not lock data directory ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${path} is not valid JSON (${(e as Error).message}); restore it from a backup or remove it`,
    );
  }
}

async function readConfig(dir: string): Promise<StoredConfig> {
  const path = join(dir, CONFIG_FILE);
  const json = (await readJson(path)) as { revision?: unknown; config?: unknown } | undefined;
  if (json === undefined) return { revision: 0, config: create(MeshConfigSchema) };
  if (typeof json.revision !== "number" || !Number.isInteger(json.revision) || json.revision < 0)
    throw new Error(`${path}: "revision" must be a whole number, got ${JSON.stringify(json.revision)}`);
  try {
    return { revision: json.revision, config: fromJson(MeshConfigSchema, (json.config ?? {}) as JsonValue) };
  } catch (e) {
    throw new Error(`${path}: "config" is not a weft.v1.MeshConfig: ${(e as Error).message}`);
  }
}

async function readTokens(dir: string): Promise<Map<string, TokenRecord>> {
  const path = join(dir, TOKENS_FILE);
  const json = (await readJson(path)) as { tokens?: TokenRecord[] } | undefined;
  const map = new Map<string, TokenRecord>();
  for (const t of json?.tokens ?? []) map.set(t.hash, t);
  return map;
}

async function readRevocations(dir: string): Promise<Map<string, RevocationRecord>> {
  const path = join(dir, REVOCATIONS_FILE);
  const json = (await readJson(path)) as { revocations?: unknown } | undefined;
  const map = new Map<string, RevocationRecord>();
  const list = json?.revocations ?? [];
  if (!Array.isArray(list)) throw new Error(`${path}: "revocations" must be a list`);
  for (const [i, r] of list.entries()) {
    const record = r as Partial<RevocationRecord> | null;
    // Refusing to start beats starting with an identity silently no longer revoked.
    if (
      typeof record?.spiffeId !== "string" ||
      typeof record.reason !== "string" ||
      typeof record.revokedAtMs !== "number"
    )
      throw new Error(
        `${path}: revocations[${i}] must have a string "spiffeId", a string "reason" and a number "revokedAtMs", got ${JSON.stringify(r)}`,
      );
    map.set(record.spiffeId, {
      spiffeId: record.spiffeId,
      reason: record.reason,
      revokedAtMs: record.revokedAtMs,
    });
  }
  return map;
}

function sortRevocations(list: RevocationRecord[]): RevocationRecord[] {
  return list.sort((a, b) => (a.spiffeId < b.spiffeId ? -1 : a.spiffeId > b.spiffeId ? 1 : 0));
}
