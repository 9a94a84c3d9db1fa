import { resolve } from "node:path";
import { parseDuration } from "@weft/core";
import { DEFAULT_DASHBOARD_PORT } from "../../dashboard/index.ts";
import { DEFAULT_CONTROL_PLANE_PORT, startControlPlane } from "../../server/control-plane.ts";
import type { ConfigStore } from "../../store/config-store.ts";
import { openStoreUrl, STORE_URL_FORM } from "../../store/store-url.ts";
import { CliError } from "../cli-error.ts";
import { type CliContext, parse } from "./context.ts";

export const serveUsage = `usage: weft control-plane [--data-dir DIR] [--port N] [--host ADDR] [--grace DURATION]
                          [--dashboard-port N|off] [--store ${STORE_URL_FORM} [--prefix P]]
  --data-dir   where configuration is kept (default ./weft-data)
  --port       port of the discovery and admin API (default ${DEFAULT_CONTROL_PLANE_PORT})
  --host       address to listen on (default 127.0.0.1: the admin API asks for a token, kept
               in DIR/admin-token, but travels in plaintext)
  --grace      how long an endpoint outlives its data plane's stream (default 10s)
  --dashboard-port  port of the web dashboard, plain HTTP on the same host (default
               ${DEFAULT_DASHBOARD_PORT}, or a free port with --port 0; 0 = any free port; off = none)
  --store      keep configuration in etcd instead of --data-dir, shared by every replica on it
  --prefix     the etcd key prefix (default /weft/), so meshes can share one etcd`;

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
      "dashboard-port": { type: "string" },
      store: { type: "string" },
      prefix: { type: "string" },
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
  const dashboardFlag = values["dashboard-port"];
  const dashboardPort =
    dashboardFlag === undefined ? undefined : dashboardFlag === "off" ? false : Number(dashboardFlag);
  if (
    dashboardPort !== undefined &&
    dashboardPort !== false &&
    !(Number.isInteger(dashboardPort) && dashboardPort >= 0 && dashboardPort <= 65535)
  )
    throw new CliError(
      `--dashboard-port must be a whole number from 0 to 65535 or "off", got "${dashboardFlag}"`,
    );
  const dataDir = resolve(values["data-dir"] ?? "weft-data");
  if (values.prefix !== undefined && values.store === undefined)
    throw new CliError(`--prefix applies to an etcd store: add --store ${STORE_URL_FORM}`);
  let store: ConfigStore | undefined;
  if (values.store !== undefined) {
    try {
      store = await openStoreUrl(values.store, { prefix: values.prefix });
    } catch (e) {
      throw new CliError(`cannot open --store: ${(e as Error).message}`);
    }
  }
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  try {
    cp = await startControlPlane({
      dataDir,
      store,
      port,
      host: values.host ?? "127.0.0.1",
      graceMs: graceSeconds * 1000,
      dashboardPort,
    });
  } catch (e) {
    await store?.close();
    throw new CliError(`cannot start the control plane: ${(e as Error).message}`);
  }
  const where = values.store === undefined ? `data dir ${dataDir}` : `store ${values.store}`;
  ctx.out(`weft control plane listening on ${cp.url} (${where})\n`);
  if (cp.adminTokenFile) ctx.out(`admin token in ${cp.adminTokenFile} (the weft command reads it there)\n`);
  if (cp.dashboardUrl) ctx.out(`weft dashboard at ${cp.dashboardUrl}\n`);
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
  await store?.close();
  return 0;
}
