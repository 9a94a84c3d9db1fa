import { weftVitestConfig } from "../vitest.shared.ts";

export default weftVitestConfig({ testTimeout: 60_000 });
