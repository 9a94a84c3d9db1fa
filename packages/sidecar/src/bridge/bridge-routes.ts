import type { JsonObject } from "@bufbuild/protobuf";
import { type FrameCodec, lengthPrefixedCodec, newlineCodec } from "@weft/core";
import { type FrameBridge, Framing, type MeshConfig, Protocol } from "@weft/core/model";

/** A TCP port of a mesh service that HTTP callers reach through the bridge. */
export interface BridgeRoute {
  readonly service: string;
  readonly namespace: string;
  readonly port: number;
  readonly codec: FrameCodec;
  readonly maxFrameBytes: number;
  readonly timeoutMs: number;
}

/** Loads a plugin module (a package name or a path), as the data plane does for plugins. */
export type ModuleLoader = (module: string) => Promise<Record<string, unknown>>;

const DEFAULT_MAX_FRAME = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;
const CLUSTER_SUFFIXES = [".svc.cluster.local", ".svc"];

/**
 * The bridged ports of a config (Port.http_bridge), looked up by the Host / :authority of a
 * request: `name[.namespace][.svc[.cluster.local]]:port`. The port must be in the authority,
 * since it is what says a request is for the TCP port rather than an HTTP one.
 */
export class BridgeRoutes {
  readonly #byAuthority: ReadonlyMap<string, BridgeRoute>;
  readonly #namespace: string;

  private constructor(byAuthority: ReadonlyMap<string, BridgeRoute>, namespace: string) {
    this.#byAuthority = byAuthority;
    this.#namespace = namespace;
  }

  static readonly empty = new BridgeRoutes(new Map(), "default");

  /** Builds the routes of a config; plugin codecs are loaded here, so a bad one fails the config. */
  static async fromConfig(
    config: MeshConfig,
    localNamespace: string,
    load: ModuleLoader,
  ): Promise<BridgeRoutes> {
    const routes = new Map<string, BridgeRoute>();
    for (const s of config.services) {
      const namespace = s.namespace || "default";
      for (const p of s.ports) {
        const b = p.httpBridge;
        if (!b || p.protocol !== Protocol.TCP) continue;
        const maxFrameBytes = b.maxFrameBytes || DEFAULT_MAX_FRAME;
        const where = `service ${s.name}.${namespace} port ${p.port} http_bridge`;
        const codec = await codecOf(b, maxFrameBytes, load, where);
        const timeoutMs = b.timeout
          ? Number(b.timeout.seconds) * 1000 + b.timeout.nanos / 1e6
          : DEFAULT_TIMEOUT_MS;
        routes.set(`${s.name}.${namespace}:${p.port}`, {
          service: s.name,
          namespace,
          port: p.port,
          codec,
          maxFrameBytes,
          timeoutMs,
        });
      }
    }
    return new BridgeRoutes(routes, localNamespace);
  }

  get size(): number {
    return this.#byAuthority.size;
  }

  /** The route a request's authority names, or undefined (then it is not a bridge request). */
  lookup(authority: string): BridgeRoute | undefined {
    if (this.#byAuthority.size === 0) return undefined;
    const colon = authority.lastIndexOf(":");
    if (colon <= 0 || authority.endsWith("]")) return undefined;
    let host = authority.slice(0, colon).toLowerCase();
    for (const s of CLUSTER_SUFFIXES) if (host.endsWith(s)) host = host.slice(0, -s.length);
    if (!host.includes(".")) host = `${host}.${this.#namespace}`;
    return this.#byAuthority.get(`${host}:${authority.slice(colon + 1)}`);
  }
}

async function codecOf(
  b: FrameBridge,
  maxFrameBytes: number,
  load: ModuleLoader,
  where: string,
): Promise<FrameCodec> {
  const c = b.codec;
  if (c.case === "framing") {
    if (c.value === Framing.LENGTH_PREFIXED) return lengthPrefixedCodec({ maxFrameBytes });
    return newlineCodec({ maxFrameBytes, delimiter: c.value === Framing.CRLF ? "\r\n" : "\n" });
  }
  if (c.case !== "plugin") throw new Error(`${where}: no framing or plugin codec`);
  const ref = c.value;
  const name = ref.export || "default";
  let mod: Record<string, unknown>;
  try {
    mod = await load(ref.module);
  } catch (e) {
    throw new Error(`${where}: cannot load codec module ${ref.module}: ${(e as Error).message}`);
  }
  let codec = mod[name];
  // A factory takes the ref's options (and the frame limit), so one module serves many ports.
  if (typeof codec === "function") {
    const options: JsonObject = { maxFrameBytes, ...ref.options };
    codec = (codec as (o: JsonObject) => unknown)(options);
  }
  if (!isCodec(codec)) {
    throw new Error(
      `${where}: export "${name}" of ${ref.module} is not a FrameCodec ({ name, encode, createDecoder }) or a function returning one`,
    );
  }
  return codec;
}

function isCodec(x: unknown): x is FrameCodec {
  const c = x as FrameCodec | undefined;
  return typeof c?.encode === "function" && typeof c.createDecoder === "function";
}
