import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { meshYaml, sidecar } from "../../../packages/sidecar/bench/bench.ts";
import { freePort, waitForPort } from "../../../packages/sidecar/bench/processes.ts";
import type { SinkMark } from "../apps/tcp-sink.ts";
import type { ByteCounter, StreamPath } from "../measure/stream-path.ts";
import type { Phase } from "./phase.ts";

const STREAMS = 4;

/** HAProxy as a plain TCP relay (mode tcp), one thread, as the HTTP paths' HAProxy. */
function tcpRelayConfig(dir: string, listen: number, upstream: number): string {
  const file = join(dir, "tcp-haproxy-1.cfg");
  writeFileSync(
    file,
    [
      "global\n  nbthread 1",
      "defaults\n  mode tcp\n  timeout client 30s\n  timeout server 30s\n  timeout connect 5s",
      `listen relay\n  bind 127.0.0.1:${listen}\n  server up 127.0.0.1:${upstream}\n`,
    ].join("\n"),
  );
  return file;
}

export interface TcpPhase {
  readonly paths: StreamPath[];
  close(): Promise<void>;
}

/**
 * TCP stream throughput into a sink that discards: direct; HAProxy in TCP mode; and the weft
 * sidecar's L4 path, one hop: HTTP/2 CONNECT streams (HBONE, the mesh wire's tunnel, h2c as
 * the one-hop HTTP paths) into the callee's sidecar, which relays them to the app. Opaque TCP
 * into a caller's sidecar needs transparent mode (the original destination from iptables),
 * so the caller side of the two-hop TCP path is not measured here.
 */
export async function tcpPaths(phase: Phase): Promise<TcpPhase> {
  const { procs, dir } = phase;
  const sinkChild = fork(new URL("../apps/tcp-sink.ts", import.meta.url).pathname, [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const sinkPort = await new Promise<number>((resolve, reject) => {
    sinkChild.once("message", (m) => resolve((m as { port: number }).port));
    sinkChild.once("exit", (code) => reject(new Error(`bench: tcp sink exited (${code}) before listening`)));
  });
  const sink: ByteCounter = {
    mark: () =>
      new Promise((resolve) => {
        sinkChild.once("message", (m) => resolve(m as SinkMark));
        sinkChild.send("mark");
      }),
  };
  const sinkPid = sinkChild.pid as number;
  const [haIn, weftIn, weftOut] = [await freePort(), await freePort(), await freePort()];
  const ha = procs.start("tcp-haproxy-1", "haproxy", ["-db", "-f", tcpRelayConfig(dir, haIn, sinkPort)]);
  writeFileSync(join(dir, "tcp-1.yaml"), meshYaml(weftIn));
  const weft = await sidecar(procs, dir, "tcp-weft-1", {
    service: "orders",
    config: join(dir, "tcp-1.yaml"),
    appPort: sinkPort,
    inbound: weftIn,
    outbound: weftOut,
  });
  await waitForPort(haIn);
  const source = new URL("../load/tcp-source.ts", import.meta.url).pathname;
  const tcp = (port: number) => (seconds: number) => [
    process.execPath,
    source,
    "tcp",
    String(port),
    String(STREAMS),
    String(seconds),
  ];
  const protocol = "TCP stream";
  const plain = `node TCP source, ${STREAMS} connections`;
  return {
    paths: [
      {
        row: { id: "tcp/direct", protocol, path: "direct", generator: plain, counted: "app (sink)" },
        pids: [sinkPid],
        proxies: [],
        command: tcp(sinkPort),
        sink,
      },
      {
        row: {
          id: "tcp/haproxy-1",
          protocol,
          path: "HAProxy mode tcp, 1 hop",
          generator: plain,
          counted: "1 proxy process + app",
          direct: "tcp/direct",
        },
        pids: [ha.pid as number, sinkPid],
        proxies: [ha.pid as number],
        command: tcp(haIn),
        sink,
      },
      {
        row: {
          id: "tcp/weft-1",
          protocol,
          path: "weft sidecar tunnel (HTTP/2 CONNECT), 1 hop",
          generator: `node HTTP/2 CONNECT source, ${STREAMS} streams on 1 h2c session`,
          counted: "1 proxy process + app",
          direct: "tcp/direct",
          haproxy: "tcp/haproxy-1",
        },
        pids: [weft, sinkPid],
        proxies: [weft],
        command: (seconds) => [
          process.execPath,
          source,
          "connect",
          String(weftIn),
          `127.0.0.1:${sinkPort}`,
          String(STREAMS),
          String(seconds),
        ],
        sink,
      },
    ],
    async close() {
      sinkChild.disconnect();
    },
  };
}
