import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runCli } from "../src/cli/run.ts";

/** The control-plane package, where `src/cli/main.ts` runs from. */
export const packageDir = fileURLToPath(new URL("..", import.meta.url));

/**
 * Admin tokens of the control planes tests started, by URL (Resources.controlPlane adds
 * them): `weft(..., "--server", url)` presents that one's, as an operator's WEFT_ADMIN_TOKEN would.
 */
export const adminTokens = new Map<string, string>();

/** The admin token of the control plane `--server` names in `args`, if a test started it. */
function tokenFor(args: readonly string[]): string | undefined {
  const at = args.indexOf("--server");
  return at >= 0 ? adminTokens.get(args[at + 1] ?? "") : undefined;
}

/** Runs `weft` in this process (runCli), as the real command would with WEFT_ADMIN_TOKEN set. */
export async function weftInProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const token = tokenFor(args);
  const code = await runCli(args, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env: token === undefined ? {} : { WEFT_ADMIN_TOKEN: token },
  });
  return { code, out, err };
}

/** Runs the real `weft` command with the pinned node, from the TypeScript sources. */
export function weft(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const token = tokenFor(args);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--conditions=@weft/source", "src/cli/main.ts", ...args],
      {
        cwd: packageDir,
        env: { ...process.env, WEFT_SERVER: "", WEFT_ADMIN_TOKEN: token ?? "" },
        timeout: 15_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
