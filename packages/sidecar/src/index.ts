// Public API of @weft/sidecar: see README.md. The `weft-sidecar` program is src/cli/main.ts.
export { AdminServer, type AdminState } from "./admin/admin-server.ts";
export { Stats } from "./admin/stats.ts";
export { main } from "./cli/main.ts";
export { classify, type Detected, H2_PREFACE, MAX_SNIFF_BYTES, type Verdict } from "./detect/classify.ts";
export { type Sniffed, sniff } from "./detect/sniff.ts";
export { MAX_HEADER_BYTES, MAX_HEADER_COUNT, strictHttp1Options } from "./http/limits.ts";
export { PEER_IDENTITY_HEADER } from "./listeners/inbound-mesh.ts";
export { Sidecar, type SidecarOptions } from "./program/sidecar.ts";
export { type Snapshot, SnapshotCache } from "./snapshot/snapshot-cache.ts";
export { type CaptureOptions, captureRules, formatRules } from "./transparent/iptables.ts";
export { type OriginalDestination, originalDestination } from "./transparent/original-dst.ts";
