import { type ChildProcess, spawn } from "node:child_process";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";

const EXIT_WITH_PARENT = fileURLToPath(new URL("./exit-with-parent.ts", import.meta.url));

/** A child the demo started, once it said it was ready. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** The JSON of its ready line. */
  readonly ready: Record<string, unknown>;
  /** Everything it wrote so far (stdout and stderr, interleaved), for error reports. */
  output(): string;
  readonly exited: Promise<void>;
}

export interface StartOptions {
  /** Called when the child exits without the demo having stopped or crashed it. */
  readonly onUnexpectedExit?: (child: Child, code: number | null, signal: string | null) => void;
  readonly env?: NodeJS.ProcessEnv;
  /** Picks the ready line out of the child's output; the parsed JSON is `Child.ready`. */
  readonly isReady: (json: Record<string, unknown>) => boolean;
  readonly timeoutMs?: number;
  /**
   * Boot at this nice value (then back to 0, where allowed): loading a Node program is a burst
   * of CPU that, on a small machine, would starve the services already serving traffic.
   */
  readonly bootNice?: number;
}

const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

/**
 * Every process the demo starts goes through here, so that stopping the demo stops all of
 * them, and so that the pids of all of them (restarted ones too) can be listed and checked.
 */
export class Processes {
  readonly #children = new Set<Child>();
  /** Every pid ever started, in order. */
  readonly pids: number[] = [];
  readonly #crashed = new Set<number>();
  #stopping = false;

  /** Spawns `node --conditions=@weft/source <args>` and waits (bounded) for its JSON ready line. */
  async start(name: string, args: readonly string[], options: StartOptions): Promise<Child> {
    // stdin: a pipe held open for the child's life; see exit-with-parent.ts.
    const child = spawn(
      process.execPath,
      ["--conditions=@weft/source", "--import", EXIT_WITH_PARENT, ...args],
      {
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, ...options.env, WEFT_DEMO_PID: String(process.pid) },
      },
    );
    if (child.pid === undefined) throw new Error(`${name}: could not start ${args[0]}`);
    this.pids.push(child.pid);
    const renice = (n: number) => {
      try {
        setPriority(child.pid as number, n);
      } catch {}
    };
    if (options.bootNice) renice(options.bootNice);
    let output = "";
    let ready: Record<string, unknown> | undefined;
    let partial = "";
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      // Bounded: a chatty child must not grow the demo's memory without end.
      output = (output + text).slice(-20_000);
      if (ready) return;
      partial += text;
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("{")) continue;
        try {
          const json = JSON.parse(line) as Record<string, unknown>;
          if (options.isReady(json)) ready = json;
        } catch {}
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const entry: Child = {
      name,
      pid: child.pid,
      process: child,
      get ready() {
        return ready ?? {};
      },
      output: () => output,
      exited,
    };
    this.#children.add(entry);
    void exited.then(() => {
      this.#children.delete(entry);
      if (!this.#stopping && !this.#crashed.has(entry.pid))
        options.onUnexpectedExit?.(entry, child.exitCode, child.signalCode);
    });
    const timeoutMs = options.timeoutMs ?? 20_000;
    const started = performance.now();
    while (!ready) {
      if (!alive(child))
        throw new Error(
          `${name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`,
        );
      if (performance.now() - started > timeoutMs) {
        child.kill("SIGKILL");
        throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    if (options.bootNice) renice(0);
    return entry;
  }

  /** Kills one child at once (SIGKILL: a crash, no goodbye) and waits for it to be gone. */
  async crash(child: Child): Promise<void> {
    this.#crashed.add(child.pid);
    if (alive(child.process)) child.process.kill("SIGKILL");
    await child.exited;
  }

  /** SIGTERM to every child still running, SIGKILL to those left after `graceMs`. */
  async stopAll(graceMs: number): Promise<void> {
    this.#stopping = true;
    const running = [...this.#children].filter((c) => alive(c.process));
    for (const c of running) c.process.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const c of running) if (alive(c.process)) c.process.kill("SIGKILL");
    }, graceMs);
    await Promise.all(running.map((c) => c.exited));
    clearTimeout(timer);
  }

  /** Pids of started processes that are still alive (none, once stopAll has resolved). */
  survivors(): number[] {
    return this.pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
  }
}
