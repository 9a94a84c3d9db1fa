export {
  Admission,
  type AdmissionOptions,
  DEFAULT_GLOBAL_MAX_CONNECTIONS,
  type GuardOptions,
  ListenerGuard,
  processAdmission,
  type Refusal,
} from "./admission.ts";
