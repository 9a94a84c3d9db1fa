import type { DescService, Registry } from "@bufbuild/protobuf";

/** Which origins a browser page may call the converted protocols from, and with what headers. */
export interface CorsOptions {
  /** Exact origins (`http://127.0.0.1:8080`), or `*` for any. Empty: no cross-origin calls. */
  readonly allowedOrigins: readonly string[];
  /** Request headers a page may send besides those gRPC-Web, Connect and JSON need. */
  readonly allowedHeaders?: readonly string[];
  /** Response headers a page may read besides gRPC-Web's and Connect's status headers. */
  readonly exposedHeaders?: readonly string[];
  /** How long a browser may cache a preflight answer. Default 7200 s. */
  readonly maxAgeSeconds?: number;
  /** Allow cookies and HTTP auth; then `*` is answered with the caller's own origin. */
  readonly allowCredentials?: boolean;
}

/**
 * Protocol conversion in front of a gRPC-only app: REST/JSON (google.api.http), gRPC-Web and
 * Connect become gRPC, and the answer goes back in the caller's protocol.
 */
export interface ConversionOptions {
  /**
   * The app's RPC services: a registry (a descriptor set loaded by buf, or backend reflection),
   * or the services themselves. REST bindings and JSON codecs come from these; gRPC-Web and
   * Connect with the proto codec work for any method, described or not.
   */
  readonly descriptors: Registry | readonly DescService[];
  /** Only these services (fully qualified names) when set; every service described otherwise. */
  readonly services?: readonly string[];
  readonly rest?: boolean;
  readonly grpcWeb?: boolean;
  readonly connect?: boolean;
  readonly cors?: CorsOptions;
  /** A REST or Connect unary body larger than this is refused (413). Default 4 MiB. */
  readonly maxBodyBytes?: number;
  /**
   * A separate plaintext port (HTTP/1.1 and h2c) where browsers and `curl` reach the converter
   * directly; the mesh inbound port converts too, for mesh callers.
   */
  readonly listen?: { readonly host: string; readonly port: number };
  /**
   * The standard gRPC services the sidecar answers for the app (both on by default).
   * `reflection`: grpc.reflection.v1 and v1alpha from `descriptors`; turn it off when they
   * came from the app's own reflection, which then goes on answering. `health`:
   * grpc.health.v1 for "" and the described services: the app's own answer when it has a
   * health service; SERVING when it answers UNIMPLEMENTED (it is up), NOT_SERVING when it
   * cannot be reached or the sidecar is draining.
   */
  readonly answer?: { readonly reflection?: boolean; readonly health?: boolean };
}

/** The services of the descriptors, filtered by `services`; throws naming a service not found. */
export function servicesOf(options: ConversionOptions): DescService[] {
  const all: DescService[] = [];
  const d = options.descriptors;
  if (isRegistry(d)) {
    for (const t of d) if (t.kind === "service") all.push(t);
  } else all.push(...d);
  if (!options.services) return all;
  return options.services.map((name) => {
    const found = all.find((s) => s.typeName === name);
    if (!found) {
      throw new Error(
        `protocol conversion: service ${name} is not in the descriptors (they hold ${all.map((s) => s.typeName).join(", ") || "no service"})`,
      );
    }
    return found;
  });
}

/** The registry for `google.protobuf.Any` in JSON, when the descriptors are one. */
export function registryOf(options: ConversionOptions): Registry | undefined {
  return isRegistry(options.descriptors) ? options.descriptors : undefined;
}

function isRegistry(d: ConversionOptions["descriptors"]): d is Registry {
  return (d as Registry).kind === "registry";
}
