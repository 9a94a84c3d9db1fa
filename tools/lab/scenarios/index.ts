import { certificateRotation } from "./certificate-rotation.ts";
import { controlPlaneDown } from "./control-plane-down.ts";
import { killEndpoint } from "./kill-endpoint.ts";
import { partition } from "./partition.ts";
import { scaleUp } from "./scale-up.ts";
import type { Scenario } from "./scenario.ts";
import { slowEndpoint } from "./slow-endpoint.ts";

/** Every scenario, in the order of issue #9. */
export const scenarios: readonly Scenario[] = [
  killEndpoint,
  slowEndpoint,
  controlPlaneDown,
  certificateRotation,
  partition,
  scaleUp,
];

export type { Scenario, ScenarioContext } from "./scenario.ts";
