import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { constants } from "node:os";
import { create, toBinary } from "@bufbuild/protobuf";
import { MeshConfigSchema } from "@weft/core/model";
import { loadConfigFiles } from "../config/config-files.ts";
import { conversionFromConfig } from "../convert/from-config.ts";
import { limitFlags, limitsFromFlags } from "../listeners/limit-flags.ts";
import { followControlPlane, workloadCertificate } from "../program/control-plane-link.ts";
import { Sidecar } from "../program/sidecar.ts";
import { type Snapshot, SnapshotCache } from "../snapshot/snapshot-cache.ts";
import { captureRules, formatRules } from "../transparent/iptables.ts";
import { hostPort, millis, parse, portList, portNumber, UsageError } from "./args.ts";

/** Where a command writes; the tests pass their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const log = (io: Io, msg: string, fields: Record<string, unknown> = {}) =>
  io.err(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);

/** The version of a configuration read from files: a digest of its canonical binary form. */
export function fileVersion(config: Snapshot["config"]): string {
  return `file-${createHash("sha256").update(toBinary(MeshConfigSchema, config)).digest("hex").slice(0, 16)}`;
}

/**
 * `run`: loads the configuration (files, or the cached snapshot when there are none), starts the
 * listeners, and runs until SIGTERM/SIGINT; with `-- <command>` it also runs the app and exits
 * with the app's exit code once the app exits, so a job never hangs on its sidecar.
 */
export async function runCommand(argv: string[], io: Io, self?: readonly string[]): Promise<number> {
  const split = argv.indexOf("--");
  const own = split < 0 ? argv : argv.slice(0, split);
  const appCommand = split < 0 ? [] : argv.slice(split + 1);
  const { values, positionals } = parse(own, {
    config: { type: "string", multiple: true },
    service: { type: "string" },
    namespace: { type: "string", default: "default" },
    "app-port": { type: "string" },
    "app-protocol": { type: "string", default: "http1" },
    outbound: { type: "string", default: "127.0.0.1:15001" },
    inbound: { type: "string", default: "0.0.0.0:15008" },
    admin: { type: "string", default: "127.0.0.1:15020" },
    "local-port": { type: "string", multiple: true },
    "data-dir": { type: "string" },
    transparent: { type: "boolean", default: false },
    "sniff-ms": { type: "string", default: "100" },
    "drain-ms": { type: "string", default: "5000" },
    "udp-host": { type: "string", default: "127.0.0.1" },
    "udp-idle": { type: "string", default: "60s" },
    cert: { type: "string" },
    key: { type: "string" },
    ca: { type: "string" },
    "control-plane": { type: "string" },
    token: { type: "string" },
    advertise: { type: "string" },
    zone: { type: "string" },
    "headers-with-underscores": { type: "string", default: "allow" },
    ...limitFlags,
  });
  if (positionals.length > 0)
    throw new UsageError(`run: unexpected argument "${positionals[0]}" (an app command goes after --)`);
  if (!values.service)
    throw new UsageError("run: --service is required (the local service this sidecar stands beside)");
  if (!values["app-port"]) throw new UsageError("run: --app-port is required (where the local app listens)");
  const appProtocol = values["app-protocol"];
  if (appProtocol !== "http1" && appProtocol !== "h2c")
    throw new UsageError(`--app-protocol: expected http1 or h2c, got "${appProtocol}"`);
  const underscores = values["headers-with-underscores"];
  if (underscores !== "allow" && underscores !== "reject" && underscores !== "drop")
    throw new UsageError(`--headers-with-underscores: expected allow, reject or drop, got "${underscores}"`);
  const localPorts = (values["local-port"] ?? []).map((spec) => {
    const m = /^([a-z0-9-]+)(?:\.([a-z0-9-]+))?=(\d+)$/.exec(spec);
    if (!m) throw new UsageError(`--local-port: expected <service[.namespace]>=<port>, got "${spec}"`);
    return {
      name: m[1] as string,
      namespace: m[2] ?? values.namespace,
      port: portNumber(m[3] as string, "--local-port"),
    };
  });

  const tls = [values.cert, values.key, values.ca].filter((v) => v !== undefined).length;
  if (tls !== 0 && tls !== 3)
    throw new UsageError("run: --cert, --key and --ca go together (mTLS needs all three)");
  const cpUrls =
    values["control-plane"]
      ?.split(",")
      .map((u) => u.trim())
      .filter(Boolean) ?? [];
  const token = values.token ?? process.env.WEFT_TOKEN;
  if (cpUrls.length > 0 && !token)
    throw new UsageError(
      "run: --control-plane needs a bootstrap --token (or WEFT_TOKEN) from `weft token create`",
    );
  const link =
    cpUrls.length > 0 && token
      ? { urls: cpUrls, token, service: values.service, namespace: values.namespace }
      : undefined;
  // With a control plane and no certificate files, the mesh CA issues the certificate.
  let sidecarRef: Sidecar | undefined;
  const rotator =
    link && tls === 0
      ? await workloadCertificate(
          { ...link, dataDir: values["data-dir"] },
          (c) => sidecarRef?.setCredentials(c),
          (e, retryInMs) => log(io, "certificate renewal failed", { error: String(e), retryInMs }),
          (expiredAt) =>
            log(io, "certificate expired before renewal; asking again with the bootstrap token", {
              expiredAt: expiredAt.toISOString(),
            }),
        )
      : undefined;
  const credentials = rotator?.current
    ? rotator.current
    : tls === 3
      ? {
          chain: await readPem(values.cert as string, "--cert"),
          key: await readPem(values.key as string, "--key"),
          trustAnchors: [await readPem(values.ca as string, "--ca")],
        }
      : undefined;
  const cache = values["data-dir"] ? new SnapshotCache(values["data-dir"]) : undefined;
  let snapshot: Snapshot;
  let source: string;
  if (values.config && values.config.length > 0) {
    const config = await loadConfigFiles(values.config, self);
    snapshot = { version: fileVersion(config), config };
    source = "file";
    if (cache) await cache.save(snapshot);
  } else {
    const cached = cache ? await cache.load() : undefined;
    if (cached) {
      snapshot = cached;
      source = "cache";
    } else if (link) {
      // Serves nothing and is not ready until the control plane's first version arrives.
      snapshot = { version: "", config: create(MeshConfigSchema) };
      source = "control-plane";
    } else {
      throw new UsageError(
        "run: no configuration: give --config <file>, --control-plane <url> with --token, or --data-dir holding a cached snapshot",
      );
    }
  }

  const appPort = portNumber(values["app-port"], "--app-port");
  const ownService = snapshot.config.services.find(
    (s) => s.name === values.service && (s.namespace || "default") === values.namespace,
  );
  if (ownService?.conversion?.descriptors.case === "reflection" && appCommand.length > 0)
    throw new UsageError(
      `run: service ${values.service} converts protocols with descriptors from reflection, which asks the app at start; with an app command (after --) name a descriptorSet instead`,
    );
  const conversion = ownService?.conversion
    ? await conversionFromConfig(values.service, ownService.conversion, {
        port: appPort,
        listenHost: hostPort(values.inbound, "--inbound").host,
      })
    : undefined;
  const sidecar = new Sidecar({
    service: values.service,
    namespace: values.namespace,
    snapshot,
    snapshotSource: source,
    app: { address: "127.0.0.1", port: appPort, protocol: appProtocol },
    outbound: hostPort(values.outbound, "--outbound"),
    inbound: hostPort(values.inbound, "--inbound"),
    admin: hostPort(values.admin, "--admin"),
    localPorts,
    transparent: values.transparent,
    sniffMs: millis(values["sniff-ms"], "--sniff-ms"),
    drainMs: millis(values["drain-ms"], "--drain-ms"),
    udp: { host: values["udp-host"], idleMs: millis(values["udp-idle"], "--udp-idle") },
    credentials,
    limits: limitsFromFlags(values),
    headersWithUnderscores: underscores,
    conversion,
  });
  sidecarRef = sidecar;
  if (snapshot.version === "") sidecar.admin.state.snapshot = undefined;
  await sidecar.start();
  const inbound = hostPort(values.inbound, "--inbound");
  const discovery = link
    ? followControlPlane(sidecar, {
        ...link,
        inboundAddress:
          values.advertise ??
          (inbound.host === "0.0.0.0" || inbound.host === "::" ? "127.0.0.1" : inbound.host),
        inboundPort: sidecar.ports.inbound ?? inbound.port,
        instanceId: `${values.service}-${process.pid}-${sidecar.ports.inbound ?? inbound.port}`,
        zone: values.zone,
        cache,
        cached: source === "cache" ? snapshot : undefined,
        certificateExpiry: rotator?.current?.notAfter,
      })
    : undefined;
  log(io, "weft-sidecar started", {
    ports: sidecar.ports,
    version: snapshot.version,
    source,
    mtls: !!credentials,
  });

  return new Promise<number>((resolve) => {
    let exitCode = 0;
    let appRunning = false;
    const finish = async (code: number) => {
      await discovery?.close();
      rotator?.stop();
      await sidecar.stop();
      resolve(code);
    };
    if (appCommand.length > 0) {
      const [cmd, ...args] = appCommand as [string, ...string[]];
      const child = spawn(cmd, args, { stdio: "inherit" });
      appRunning = true;
      child.once("error", (err) => {
        log(io, "app failed to start", { command: cmd, error: err.message });
        appRunning = false;
        void finish(127);
      });
      child.once("exit", (code, signal) => {
        appRunning = false;
        exitCode = code ?? 128 + (signal ? signalNumber(signal) : 0);
        log(io, "app exited; stopping", { code, signal });
        void finish(exitCode);
      });
      const forward = (sig: NodeJS.Signals) => {
        // The app gets the signal; the sidecar drains and exits with it once the app is gone.
        if (appRunning) child.kill(sig);
        else void finish(exitCode);
      };
      process.once("SIGTERM", () => forward("SIGTERM"));
      process.once("SIGINT", () => forward("SIGINT"));
    } else {
      const stop = (sig: string) => {
        log(io, "draining", { signal: sig });
        void finish(0);
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    }
  });
}

async function readPem(path: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(err as Error).message}`);
  }
  if (!text.includes("-----BEGIN ")) throw new UsageError(`${flag}: ${path} holds no PEM block`);
  return text;
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

/** `wait-ready`: polls the admin /ready until 200 (exit 0) or the timeout (exit 1). */
export async function waitReadyCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, {
    admin: { type: "string", default: "127.0.0.1:15020" },
    timeout: { type: "string", default: "60s" },
  });
  const { host, port } = hostPort(values.admin, "--admin");
  const deadline = performance.now() + millis(values.timeout, "--timeout");
  let last = "no answer";
  while (performance.now() < deadline) {
    try {
      const res = await fetch(`http://${host.includes(":") ? `[${host}]` : host}:${port}/ready`, {
        signal: AbortSignal.timeout(1000),
      });
      last = `${res.status} ${(await res.text()).trim()}`;
      if (res.status === 200) return 0;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  io.err(`wait-ready: sidecar at ${host}:${port} not ready after ${values.timeout} (last: ${last})\n`);
  return 1;
}

/** `iptables`: prints the transparent-mode capture rules, or applies them with --apply. */
export function iptablesCommand(argv: string[], io: Io): number {
  const { values } = parse(argv, {
    apply: { type: "boolean", default: false },
    uid: { type: "string" },
    "outbound-port": { type: "string", default: "15001" },
    "inbound-port": { type: "string", default: "15008" },
    "admin-port": { type: "string", default: "15020" },
    "exclude-ports": { type: "string" },
    "exclude-inbound-ports": { type: "string" },
    "no-inbound": { type: "boolean", default: false },
  });
  const uid = values.uid ?? String(process.getuid?.() ?? 0);
  if (!/^\d+$/.test(uid)) throw new UsageError(`--uid: "${uid}" is not a numeric uid`);
  const rules = captureRules({
    sidecarUid: Number(uid),
    outboundPort: portNumber(values["outbound-port"], "--outbound-port"),
    inboundPort: portNumber(values["inbound-port"], "--inbound-port"),
    adminPort: portNumber(values["admin-port"], "--admin-port"),
    excludeOutboundPorts: portList(values["exclude-ports"], "--exclude-ports"),
    excludeInboundPorts: portList(values["exclude-inbound-ports"], "--exclude-inbound-ports"),
    inbound: !values["no-inbound"],
  });
  if (!values.apply) {
    io.out(formatRules(rules));
    return 0;
  }
  for (const rule of rules) {
    const r = spawnSync("iptables", rule, { encoding: "utf8" });
    if (r.status !== 0) {
      io.err(`iptables ${rule.join(" ")} failed: ${(r.stderr || r.error?.message || "").trim()}\n`);
      return 1;
    }
  }
  io.out(`applied ${rules.length} rules\n`);
  return 0;
}
