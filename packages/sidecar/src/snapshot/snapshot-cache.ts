import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { type MeshConfig, MeshConfigSchema } from "@weft/core/model";

/** A configuration snapshot as accepted, with the version the control plane gave it. */
export interface Snapshot {
  readonly version: string;
  readonly config: MeshConfig;
}

const FILE = "snapshot.json";

/**
 * The last accepted snapshot on disk, so a sidecar restarted while the control plane is down
 * serves with what it had (static stability). Writes are crash-safe: a temporary file is
 * written and fsynced, renamed over the old one, and the directory fsynced, so a reader sees
 * either the old snapshot or the new one, never a torn file.
 */
export class SnapshotCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  get path(): string {
    return join(this.dir, FILE);
  }

  async save(snapshot: Snapshot): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const text = JSON.stringify({
      version: snapshot.version,
      savedAt: new Date().toISOString(),
      config: toJson(MeshConfigSchema, snapshot.config),
    });
    const tmp = join(this.dir, `.${FILE}.${process.pid}.tmp`);
    const file = await open(tmp, "w", 0o600);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const dir = await open(this.dir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** The cached snapshot; undefined when there is none. Throws naming the file when it is unreadable. */
  async load(): Promise<Snapshot | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    try {
      const doc = JSON.parse(text) as { version?: unknown; config?: JsonValue };
      if (typeof doc.version !== "string" || doc.config === undefined)
        throw new Error("missing version or config");
      return { version: doc.version, config: fromJson(MeshConfigSchema, doc.config) };
    } catch (err) {
      throw new Error(`cached snapshot ${this.path} is unreadable: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
