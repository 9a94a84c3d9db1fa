import { equals } from "@bufbuild/protobuf";
import {
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  type KubernetesObject,
  ListWatch,
  Watch,
} from "@kubernetes/client-node";
import { type Clock, systemClock, type TimerHandle } from "@weft/core";
import { type MeshConfig, MeshConfigSchema } from "@weft/core/model";
import { serviceKey } from "../config/keys.ts";
import { type CustomResourceLike, CustomResourceReader } from "./custom-resources.ts";
import { type EndpointSliceLike, endpointsFromSlices } from "./endpoint-slices.ts";
import {
  SERVICE_NAME_LABEL,
  WEFT_GROUP,
  WEFT_RESOURCES,
  WEFT_VERSION,
  type WeftResource,
} from "./resources.ts";

export interface KubernetesOptions {
  /** A kubeconfig file; default: the in-cluster service account, else ~/.kube/config (as kubectl). */
  readonly kubeconfig?: string;
  /** A slice port of this name is the mesh inbound port (default "weft"; else 15008). */
  readonly meshPortName?: string;
  /** Watch events closer together than this are read as one change. Default 20 ms. */
  readonly coalesceMs?: number;
  /** Longest wait before re-watching or re-listing after a failure. Default 30 s. */
  readonly maxRetryDelayMs?: number;
  /** Where problems (invalid resources, failed watches) are reported. Default: stderr. */
  readonly log?: (message: string) => void;
  readonly clock?: Clock;
}

/** The mesh as the cluster describes it now. */
export interface KubernetesState {
  /** Counts changes since the source started; 1 after the first complete read. */
  readonly revision: number;
  /** Weft custom resources, plus `endpoints` from the EndpointSlices of Services it defines. */
  readonly config: MeshConfig;
  /** One line per invalid custom resource (left out of `config`). */
  readonly problems: readonly string[];
}

export interface KubernetesSource {
  current(): KubernetesState;
  /** Called after every change from now on; returns the function that stops it. */
  subscribe(listener: (state: KubernetesState) => void): () => void;
  close(): Promise<void>;
}

type Informer = ListWatch<KubernetesObject>;

/**
 * Follows a cluster with client-node's ListWatch (list, then watch from its resourceVersion;
 * BOOKMARKs move the resourceVersion on; 410 Gone, as a status or as an ERROR event, makes
 * it list again): the EndpointSlices of every namespace and the Weft custom resources
 * (weft.dev/v1 Mesh, Service, Route, AuthorizationPolicy). Resolves once each has been
 * listed; rejects, naming the resource and what to do, when one cannot be (API server
 * unreachable, CRDs not installed, no permission). Later failures are retried with backoff
 * while the last state stays in force.
 */
export async function startKubernetesSource(options: KubernetesOptions = {}): Promise<KubernetesSource> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? ((m: string) => process.stderr.write(`weft kubernetes: ${m}\n`));
  const maxRetryMs = options.maxRetryDelayMs ?? 30_000;
  const coalesceMs = options.coalesceMs ?? 20;
  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  const server = kc.getCurrentCluster()?.server ?? "(no cluster in the kubeconfig)";
  const watch = new Watch(kc);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);

  let closed = false;
  const timers = new Set<TimerHandle>();
  const later = (ms: number, fn: () => void) => {
    const h = clock.setTimeout(() => {
      timers.delete(h);
      if (!closed) fn();
    }, ms);
    timers.add(h);
  };
  // ListWatch waits with this before it watches again; once closed, it waits forever, so a
  // stopped informer never opens another request.
  const delayFn = (ms: number) => new Promise<void>((resolve) => later(Math.min(ms, maxRetryMs), resolve));

  const slices: Informer = new ListWatch(
    "/apis/discovery.k8s.io/v1/endpointslices",
    watch,
    () => discovery.listEndpointSliceForAllNamespaces({ labelSelector: SERVICE_NAME_LABEL }),
    false,
    SERVICE_NAME_LABEL,
    undefined,
    { delayFn },
  );
  const crds = new Map<WeftResource, Informer>(
    WEFT_RESOURCES.map((r) => [
      r,
      new ListWatch(
        `/apis/${WEFT_GROUP}/${WEFT_VERSION}/${r.plural}`,
        watch,
        () => custom.listClusterCustomObject({ group: WEFT_GROUP, version: WEFT_VERSION, plural: r.plural }),
        false,
        undefined,
        undefined,
        { delayFn },
      ),
    ]),
  );
  const informers: [string, Informer][] = [
    ["discovery.k8s.io/v1 endpointslices", slices],
    ...[...crds].map(([r, i]) => [`${WEFT_GROUP}/${WEFT_VERSION} ${r.plural}`, i] as [string, Informer]),
  ];

  const reader = new CustomResourceReader();
  const listeners = new Set<(state: KubernetesState) => void>();
  let state: KubernetesState | undefined;
  let lastProblems = "";
  let pending = false;
  const read = () => {
    pending = false;
    const { config, problems } = reader.read(
      new Map([...crds].map(([r, i]) => [r, i.list() as unknown as CustomResourceLike[]])),
    );
    const defined = new Set(config.services.map((s) => serviceKey(s.namespace, s.name)));
    config.endpoints = endpointsFromSlices(slices.list() as unknown as EndpointSliceLike[], {
      meshPortName: options.meshPortName,
    }).filter((e) => defined.has(serviceKey(e.namespace, e.service)));
    const joined = problems.join("\n");
    if (joined !== lastProblems && problems.length > 0) for (const p of problems) log(`left out: ${p}`);
    lastProblems = joined;
    if (state && equals(MeshConfigSchema, state.config, config)) {
      state = { ...state, problems };
      return;
    }
    state = { revision: (state?.revision ?? 0) + 1, config, problems };
    for (const l of listeners) l(state);
  };
  const changed = () => {
    if (pending || state === undefined) return;
    pending = true;
    later(coalesceMs, read);
  };

  const failures = new Map<Informer, unknown>();
  const backoff = new Map<Informer, number>();
  for (const [what, informer] of informers) {
    informer.on("change", changed);
    informer.on("error", (err: unknown) => {
      if (closed) return;
      failures.set(informer, err);
      if (state === undefined) return; // the start reports it
      // ListWatch stops on an error other than 410 Gone or a timeout: start it again, later.
      const delay = Math.min((backoff.get(informer) ?? 500) * 2, maxRetryMs);
      backoff.set(informer, delay);
      log(`watching ${what} failed (${describe(err)}); retrying in ${delay} ms`);
      later(delay, () => void restart(informer));
    });
  }
  const restart = async (informer: Informer) => {
    failures.delete(informer);
    await informer.start();
    if (!failures.has(informer)) {
      backoff.delete(informer);
      changed();
    }
  };

  const stopAll = async () => {
    closed = true;
    for (const h of timers) clock.clearTimeout(h);
    timers.clear();
    await Promise.all(informers.map(([, i]) => i.stop()));
  };
  await Promise.all(informers.map(([, i]) => i.start()));
  const failed = informers.find(([, i]) => failures.has(i));
  if (failed) {
    const [what, informer] = failed;
    await stopAll();
    throw new Error(
      `cannot list ${what} from ${server}: ${describe(failures.get(informer))}${hint(failures.get(informer), what)}`,
    );
  }
  failures.clear();
  read();

  return {
    current: () => state as KubernetesState,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: stopAll,
  };
}

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | undefined;
  const code =
    typeof e?.code === "number" ? e.code : typeof e?.statusCode === "number" ? e.statusCode : undefined;
  return code;
}

function describe(err: unknown): string {
  const status = statusOf(err);
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return status ? `HTTP ${status}: ${message}` : (message ?? "unknown error");
}

function hint(err: unknown, what: string): string {
  const status = statusOf(err);
  if (status === 404 && what.startsWith(WEFT_GROUP))
    return "; are Weft's CRDs installed? kubectl apply -f packages/control-plane/deploy/crds/";
  if (status === 401 || status === 403)
    return "; the control plane's service account needs get, list and watch on it (a ClusterRole)";
  return "";
}
