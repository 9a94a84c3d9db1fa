import type { DescService } from "@bufbuild/protobuf";
import { createRouterTransport, type ServiceImpl, type Transport } from "@connectrpc/connect";
import type { MeshHost, MeshServiceOptions, MethodPolicyTable } from "@weft/inprocess";

interface Served {
  readonly impl: Partial<ServiceImpl<DescService>>;
  readonly policies: MethodPolicyTable<DescService> | undefined;
}

/**
 * A MeshHost that records what generated helpers hand it, and serves registered
 * implementations over connect's in-memory router transport, so a generated client can
 * make a real call to a generated registration without the in-process runtime.
 */
export class RecordingHost implements MeshHost {
  readonly served = new Map<string, Served>();
  readonly clients: { service: string; policies: MethodPolicyTable<DescService> | undefined }[] = [];

  transportFor<S extends DescService>(service: S, options?: MeshServiceOptions<S>): Transport {
    this.clients.push({ service: service.typeName, policies: options?.policies });
    return createRouterTransport((router) => {
      const served = this.served.get(service.typeName);
      if (served) router.service(service, served.impl as Partial<ServiceImpl<S>>);
    });
  }

  serve<S extends DescService>(
    service: S,
    impl: Partial<ServiceImpl<S>>,
    options?: MeshServiceOptions<S>,
  ): void {
    this.served.set(service.typeName, {
      impl: impl as Partial<ServiceImpl<DescService>>,
      policies: options?.policies,
    });
  }
}
