import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  DescriptorIndex,
  grpcHealthV1,
  grpcReflectionV1,
  grpcReflectionV1alpha,
  reflectionService,
  reflectionServiceV1alpha,
} from "@weft/core";
import { healthService } from "./health-service.ts";
import { ServingState } from "./serving-state.ts";

/** Which of the standard gRPC services a mesh answers beside its own (both by default). */
export interface GrpcServicesOptions {
  /** grpc.health.v1.Health: Check and Watch for "" and every service served. */
  readonly health?: boolean;
  /** grpc.reflection.v1 and v1alpha ServerReflection, from the served services' descriptors. */
  readonly reflection?: boolean;
}

type Serve = <S extends DescService>(service: S, impl: ServiceImpl<S>) => void;

/** The gRPC health and reflection services of one mesh, kept up to date as it serves more. */
export class GrpcServices {
  readonly #index = new DescriptorIndex();
  readonly #state: ServingState;
  readonly #options: GrpcServicesOptions;

  constructor(options: GrpcServicesOptions | undefined, ready: () => boolean) {
    this.#options = options ?? {};
    this.#state = new ServingState(ready, (service) => this.#index.hasService(service));
  }

  /** Serves the enabled standard services through the mesh's own `serve`. */
  register(serve: Serve): void {
    if (this.#options.health !== false) serve(grpcHealthV1.Health, healthService(this.#state));
    if (this.#options.reflection !== false) {
      serve(grpcReflectionV1.ServerReflection, reflectionService(this.#index));
      serve(grpcReflectionV1alpha.ServerReflection, reflectionServiceV1alpha(this.#index));
    }
  }

  /** Records a service the mesh now serves. */
  served(service: DescService): void {
    this.#index.add(service);
    this.#state.notify();
  }

  /** Readiness may have changed (configuration arrived): health watchers look again. */
  readinessChanged(): void {
    this.#state.notify();
  }

  /** The mesh is closing: every service is NOT_SERVING from now on. */
  close(): void {
    this.#state.close();
  }
}
