import { type ChildProcess, spawn } from "node:child_process";

/** The uid/gid apps run as, so transparent capture (which spares uid 0, the sidecar's) takes their traffic. */
export const APP_UID = 65534;

export interface SpawnOptions {
  /** The network namespace to run in. */
  readonly ns: string;
  /** Run as APP_UID instead of root. */
  readonly asApp?: boolean;
  /** Picks the ready line (JSON) out of the output. */
  readonly isReady: (json: Record<string, unknown>) => boolean;
  readonly timeoutMs?: number;
  /** Every JSON line the program writes (stdout or stderr), after the ready one too. */
  readonly onJson?: (json: Record<string, unknown>) => void;
}

/** A program the lab started in one of its namespaces. */
export class LabProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  ready: Record<string, unknown> = {};
  #output = "";
  #partial = { out: "", err: "" };
  #onJson: ((json: Record<string, unknown>) => void) | undefined;
  #isReady: ((json: Record<string, unknown>) => boolean) | undefined;
  #readyResolve: (() => void) | undefined;

  private constructor(name: string, child: ChildProcess, options: SpawnOptions) {
    this.name = name;
    this.child = child;
    this.#onJson = options.onJson;
    this.#isReady = options.isReady;
    this.exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.stdout?.on("data", (c: Buffer) => this.#take("out", c));
    child.stderr?.on("data", (c: Buffer) => this.#take("err", c));
    // A program writing to a pipe nobody drains would block; a broken stdin must not throw.
    child.stdin?.on("error", () => undefined);
  }

  /**
   * Starts `argv` inside `options.ns` (as the app user when asked) and waits, bounded, for its
   * ready line. `ip netns exec` and `setpriv` exec in place, so the pid is the program's own.
   */
  static async start(name: string, argv: readonly string[], options: SpawnOptions): Promise<LabProcess> {
    const prefix = ["netns", "exec", options.ns];
    const user = options.asApp
      ? ["setpriv", `--reuid=${APP_UID}`, `--regid=${APP_UID}`, "--clear-groups"]
      : [];
    const child = spawn("ip", [...prefix, ...user, ...argv], { stdio: ["pipe", "pipe", "pipe"] });
    const p = new LabProcess(name, child, options);
    const timeoutMs = options.timeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => {
          p.#readyResolve = resolve;
        }),
        p.exited.then(() => {
          throw new Error(
            `${name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${p.output()}`,
          );
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${name} was not ready within ${timeoutMs} ms:\n${p.output()}`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (e) {
      await p.kill("SIGKILL");
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return p;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last 20 kB it wrote, for error reports. */
  output(): string {
    return this.#output;
  }

  /** A line to its stdin (the lab's programs take commands there). */
  send(line: string): void {
    if (this.alive) this.child.stdin?.write(`${line}\n`);
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs` if it is still there. */
  async kill(signal: NodeJS.Signals = "SIGTERM", graceMs = 2_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill(signal);
    const timer = setTimeout(() => {
      if (this.alive) this.child.kill("SIGKILL");
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  #take(stream: "out" | "err", chunk: Buffer): void {
    const text = chunk.toString();
    this.#output = (this.#output + text).slice(-20_000);
    const lines = (this.#partial[stream] + text).split("\n");
    this.#partial[stream] = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (this.#isReady?.(json)) {
        this.ready = json;
        this.#isReady = undefined;
        this.#readyResolve?.();
      }
      this.#onJson?.(json);
    }
  }
}
