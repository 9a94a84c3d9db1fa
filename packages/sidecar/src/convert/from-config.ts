import type { Registry } from "@bufbuild/protobuf";
import type { ProtocolConversion } from "@weft/core/model";
import { loadDescriptorSetFile } from "@weft/core/node";
import { descriptorsFromReflection } from "@weft/core/transport";
import type { ConversionOptions } from "./conversion-options.ts";

/**
 * The sidecar's conversion options from a Service's `conversion` block: the descriptors read
 * from the named descriptor set, or asked of the app's reflection service at `appPort`.
 * Errors name the service and where the descriptors were to come from.
 */
export async function conversionFromConfig(
  service: string,
  c: ProtocolConversion,
  app: { readonly port: number; readonly listenHost: string },
): Promise<ConversionOptions> {
  let descriptors: Registry;
  const from = c.descriptors;
  try {
    if (from.case === "descriptorSet") descriptors = await loadDescriptorSetFile(from.value);
    else if (from.case === "reflection") descriptors = await fromReflection(app.port, c.services);
    else throw new Error("it names neither descriptorSet nor reflection");
  } catch (e) {
    throw new Error(`service ${service}: protocol conversion: ${(e as Error).message}`, { cause: e });
  }
  const cors = c.cors;
  return {
    descriptors,
    services: c.services.length > 0 ? c.services : undefined,
    rest: !c.disableRest,
    grpcWeb: !c.disableGrpcWeb,
    connect: !c.disableConnect,
    maxBodyBytes: c.maxBodyBytes || undefined,
    cors: cors && {
      allowedOrigins: cors.allowedOrigins,
      allowedHeaders: cors.allowedHeaders,
      exposedHeaders: cors.exposedHeaders,
      maxAgeSeconds: cors.maxAge ? Number(cors.maxAge.seconds) + cors.maxAge.nanos / 1e9 : undefined,
      allowCredentials: cors.allowCredentials,
    },
    listen: c.port ? { host: app.listenHost, port: c.port } : undefined,
    // Descriptors read from the app's reflection: the app answers reflection itself.
    answer: { reflection: from.case === "descriptorSet", health: true },
  };
}

/** The app may still be starting: ask again for up to 30 s before giving up. */
async function fromReflection(port: number, services: readonly string[]): Promise<Registry> {
  const until = performance.now() + 30_000;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
    try {
      return await descriptorsFromReflection({
        baseUrl: `http://127.0.0.1:${port}`,
        services: services.length > 0 ? services : undefined,
        timeoutMs: 5_000,
      });
    } catch (e) {
      if (performance.now() + wait > until) throw e;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
