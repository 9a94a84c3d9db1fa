/**
 * The lab's control plane, run inside its own namespace: @weft/control-plane with the file
 * store in --data-dir (so a restart keeps the CA, the tokens and the configuration), the lab's
 * mesh configuration applied on first start, and bootstrap tokens for the named service
 * accounts printed in the ready line. Afterwards it prints `{"sessions": n, "at": ms}` each
 * time the number of connected data planes changes.
 *
 *   node --conditions=@weft/source control-plane.ts --data-dir D --host A --port 15010 \
 *        --config mesh.yaml --token-for lab/echo [--leaf-ttl-ms N] [--warmup-ms N] [--grace-ms N]
 */
import { parseArgs } from "node:util";
import { issueToken, startControlPlane, validateMeshConfig } from "@weft/control-plane";
import { loadMeshConfigFiles } from "@weft/core/node";

const { values } = parseArgs({
  options: {
    "data-dir": { type: "string" },
    host: { type: "string" },
    port: { type: "string", default: "15010" },
    config: { type: "string" },
    "token-for": { type: "string", multiple: true },
    "leaf-ttl-ms": { type: "string" },
    "grace-ms": { type: "string" },
    "warmup-ms": { type: "string" },
  },
});
if (!values["data-dir"] || !values.host || !values.config) {
  console.error("usage: control-plane.ts --data-dir D --host A --config mesh.yaml [--token-for ns/sa]...");
  process.exit(2);
}
const cp = await startControlPlane({
  dataDir: values["data-dir"],
  host: values.host,
  port: Number(values.port),
  dashboardPort: false,
  ...(values["leaf-ttl-ms"] ? { leafTtlMs: Number(values["leaf-ttl-ms"]) } : {}),
  ...(values["grace-ms"] ? { graceMs: Number(values["grace-ms"]) } : {}),
  ...(values["warmup-ms"] ? { warmupMs: Number(values["warmup-ms"]) } : {}),
});
const stored = await cp.store.get();
if (stored.revision === 0) {
  await cp.store.put(validateMeshConfig(await loadMeshConfigFiles([values.config])));
}
const tokens: Record<string, string> = {};
for (const spec of values["token-for"] ?? []) {
  const [namespace = "", serviceAccount = ""] = spec.split("/");
  tokens[spec] = (await issueToken(cp.store, { namespace, serviceAccount, ttlSeconds: 3600 })).token;
}
console.log(
  JSON.stringify({ msg: "lab control plane ready", url: cp.url, restarted: stored.revision !== 0, tokens }),
);

let sessions = -1;
const watch = setInterval(() => {
  if (cp.hub.sessionCount === sessions) return;
  sessions = cp.hub.sessionCount;
  console.log(JSON.stringify({ sessions, at: Date.now() }));
}, 50);
const stop = async () => {
  clearInterval(watch);
  await cp.close();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.stdin.on("close", () => void stop());
process.stdin.resume();
