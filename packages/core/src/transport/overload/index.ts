export {
  defaultOverloadThresholds,
  type HeapReading,
  OverloadMonitor,
  type OverloadMonitorOptions,
  type OverloadThresholds,
  type ReadHeap,
  readV8Heap,
} from "./overload-monitor.ts";
