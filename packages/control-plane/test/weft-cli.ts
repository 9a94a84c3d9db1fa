import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The control-plane package, where `src/cli/main.ts` runs from. */
export const packageDir = fileURLToPath(new URL("..", import.meta.url));

/** Runs the real `weft` command with the pinned node, from the TypeScript sources. */
export function weft(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--conditions=@weft/source", "src/cli/main.ts", ...args],
      { cwd: packageDir, env: { ...process.env, WEFT_SERVER: "" }, timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
