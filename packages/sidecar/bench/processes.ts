import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net, { type AddressInfo } from "node:net";

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Resident set size of a process in MiB, from /proc (undefined once it is gone). */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Waits (bounded) until something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Child processes of the bench; all are killed at exit, whatever happens. */
export class Processes {
  readonly #children: ChildProcess[] = [];

  start(name: string, cmd: string, args: string[]): ChildProcess {
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr?.on("data", (c: Buffer) => {
      err = (err + c.toString()).slice(-4000);
    });
    child.once("exit", (code, signal) => {
      if (!this.#stopping) process.stderr.write(`bench: ${name} exited (${code ?? signal}): ${err}\n`);
    });
    this.#children.push(child);
    return child;
  }

  #stopping = false;

  async stopAll(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGTERM");
            setTimeout(() => c.kill("SIGKILL"), 3000).unref();
          }),
      ),
    );
  }
}
