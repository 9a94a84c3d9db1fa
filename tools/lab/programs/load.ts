/**
 * The app of the lab's client pod: a load generator making plain HTTP/1.1 calls to a service
 * address; transparent capture hands them to the pod's sidecar. Commands on stdin:
 *
 *   warm <n> <timeoutMs>  one call at a time until n distinct replicas answered (or the time is up)
 *   start <rps>           open-loop calls at <rps>, at most --max-in-flight at once
 *   stop                  no new calls; reports once those in flight have settled
 *
 * Every 200 ms it prints `{"calls": [[startMs, latencyMs, status, replica, error], ...]}`
 * (status 0 when no HTTP answer came; wall-clock ms, so the lab lines them up with its events).
 */
import { Agent, request } from "node:http";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    host: { type: "string" },
    "max-in-flight": { type: "string", default: "200" },
    "timeout-ms": { type: "string", default: "10000" },
  },
});
if (!values.url || !values.host) {
  console.error("usage: load.ts --url http://<address>:<port>/<path> --host <service>");
  process.exit(2);
}
const url = new URL(values.url);
const maxInFlight = Number(values["max-in-flight"]);
const timeoutMs = Number(values["timeout-ms"]);
const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
const now = () => performance.timeOrigin + performance.now();

type Call = [start: number, latency: number, status: number, replica: string, error: string];
let pending: Call[] = [];
let inFlight = 0;

function call(): Promise<Call> {
  const start = now();
  inFlight++;
  return new Promise<Call>((resolve) => {
    let done = false;
    const finish = (status: number, replica: string, error: string) => {
      if (done) return;
      done = true;
      inFlight--;
      resolve([Math.round(start), Math.round((now() - start) * 100) / 100, status, replica, error]);
    };
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "GET",
        headers: { host: values.host },
        timeout: timeoutMs,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.once("end", () =>
          finish(
            res.statusCode ?? 0,
            String(res.headers["x-replica"] ?? ""),
            res.statusCode === 200 ? "" : body.slice(0, 200),
          ),
        );
        res.once("error", (e) => finish(0, "", e.message));
      },
    );
    req.once("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once("error", (e: NodeJS.ErrnoException) => finish(0, "", e.code ?? e.message));
    req.end();
  });
}

let timer: NodeJS.Timeout | undefined;
let issued = 0;

function start(rps: number): void {
  const t0 = now();
  issued = 0;
  // Open loop: calls go out on schedule whether or not earlier ones came back.
  timer = setInterval(() => {
    const due = Math.floor(((now() - t0) / 1000) * rps);
    while (issued < due) {
      issued++;
      if (inFlight >= maxInFlight) {
        pending.push([Math.round(now()), 0, 0, "", `over ${maxInFlight} calls in flight`]);
        continue;
      }
      void call().then((c) => pending.push(c));
    }
  }, 5);
}

async function stop(): Promise<void> {
  clearInterval(timer);
  timer = undefined;
  const until = now() + timeoutMs + 1000;
  while (inFlight > 0 && now() < until) await new Promise((r) => setTimeout(r, 20));
  flush();
  console.log(JSON.stringify({ msg: "stopped", issued, inFlight }));
}

async function warm(replicas: number, limitMs: number): Promise<void> {
  const seen = new Set<string>();
  const until = now() + limitMs;
  let last = "";
  let calls = 0;
  while (seen.size < replicas && now() < until) {
    const c = await call();
    calls++;
    if (c[2] === 200) seen.add(c[3]);
    else {
      last = `${c[2]} ${c[4]}`;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  console.log(JSON.stringify({ msg: "warm", ok: seen.size >= replicas, seen: [...seen], calls, last }));
}

function flush(): void {
  if (pending.length === 0) return;
  console.log(JSON.stringify({ calls: pending }));
  pending = [];
}
setInterval(flush, 200);

createInterface({ input: process.stdin })
  // The lab holds our stdin: when it is gone, so is the reason to run.
  .on("close", () => process.exit(0))
  .on("line", (line) => {
    const [cmd, a, b] = line.trim().split(/\s+/);
    if (cmd === "warm") void warm(Number(a), Number(b));
    else if (cmd === "start" && !timer) start(Number(a));
    else if (cmd === "stop") void stop();
  });
console.log(JSON.stringify({ msg: "load ready", url: url.href, host: values.host }));
process.once("SIGTERM", () => process.exit(0));
