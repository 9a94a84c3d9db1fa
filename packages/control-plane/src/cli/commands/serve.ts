import { resolve } from "node:path";
import { parseDuration } from "@weft/core";
import { DEFAULT_CONTROL_PLANE_PORT, startControlPlane } from "../../server/control-plane.ts";
import { CliError } from "../cli-error.ts";
import { type CliContext, parse } from "./context.ts";

export const serveUsage = `usage: weft control-plane [--data-dir DIR] [--port N] [--host ADDR] [--grace DURATION]
  --data-dir   where configuration is kept (default ./weft-data)
  --port       port of the discovery and admin API (default ${DEFAULT_CONTROL_PLANE_PORT})
  --host       address to listen on (default 127.0.0.1; the API has no authentication yet)
  --grace      how long an endpoint outlives its data plane's stream (default 10s)`;

/** `weft control-plane`: serves until SIGINT or SIGTERM. */
export async function serve(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(
    "control-plane",
    args,
    {
      "data-dir": { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      grace: { type: "string" },
    },
    serveUsage,
  );
  if (positionals.length > 0)
    throw new CliError(`weft control-plane takes no arguments, got "${positionals[0]}"\n\n${serveUsage}`);
  const port = values.port === undefined ? DEFAULT_CONTROL_PLANE_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError(`--port must be a whole number from 0 to 65535, got "${values.port}"`);
  const graceSeconds = values.grace === undefined ? 10 : parseDuration(values.grace);
  if (graceSeconds === undefined)
    throw new CliError(`--grace must be a duration like 10s or 500ms, got "${values.grace}"`);
  const dataDir = resolve(values["data-dir"] ?? "weft-data");
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  try {
    cp = await startControlPlane({
      dataDir,
      port,
      host: values.host ?? "127.0.0.1",
      graceMs: graceSeconds * 1000,
    });
  } catch (e) {
    throw new CliError(`cannot start the control plane: ${(e as Error).message}`);
  }
  ctx.out(`weft control plane listening on ${cp.url} (data dir ${dataDir})\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await cp.close();
  return 0;
}
