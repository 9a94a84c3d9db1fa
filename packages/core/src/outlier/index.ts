export {
  type OutlierOptions,
  outlierOptionsFromProto,
  type ResolvedOutlierOptions,
  resolveOutlierOptions,
} from "./options.ts";
export { type Ejection, type EjectionReason, OutlierDetector } from "./outlier-detector.ts";
