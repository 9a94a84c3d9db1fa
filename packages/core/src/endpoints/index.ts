export { type EndpointDirectory, EndpointRegistry } from "./directory.ts";
export { type EndpointObserver, EndpointSet, type EndpointSetOptions } from "./endpoint-set.ts";
export { type EndpointInit, EndpointState, endpointInitFromProto, endpointKey } from "./endpoint-state.ts";
export { endpointFailed, endpointFailedError } from "./outcome.ts";
export { decayedLatency, observeLatency } from "./peak-ewma.ts";
export { computeView, defaultViewPolicy, type EndpointView, type ViewPolicy } from "./view.ts";
