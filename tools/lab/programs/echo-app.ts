/**
 * The app of a lab service pod: HTTP/1.1 on 127.0.0.1, answers every request with its replica
 * name (body and `x-replica`). Its stdin takes `delay <ms>`, which makes every answer that much
 * slower (the slow-endpoint scenario). Prints `{"port": n}` when listening.
 *
 *   node echo-app.ts --port 8080 --replica echo-1
 */
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { port: { type: "string", default: "8080" }, replica: { type: "string", default: "echo" } },
});
const replica = values.replica;
let delayMs = 0;

const server = createServer((req, res) => {
  req.resume();
  const answer = () => {
    res.writeHead(200, { "content-type": "text/plain", "x-replica": replica });
    res.end(replica);
  };
  req.once("end", () => (delayMs > 0 ? setTimeout(answer, delayMs) : answer()));
});
server.keepAliveTimeout = 60_000;

createInterface({ input: process.stdin })
  // The lab holds our stdin: when it is gone, so is the reason to run.
  .on("close", () => process.exit(0))
  .on("line", (line) => {
    const m = /^delay (\d+)$/.exec(line.trim());
    if (m) {
      delayMs = Number(m[1]);
      console.log(JSON.stringify({ msg: "delay set", delayMs }));
    }
  });

server.listen(Number(values.port), "127.0.0.1", () => {
  console.log(JSON.stringify({ msg: "echo app ready", replica, port: Number(values.port) }));
});
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
