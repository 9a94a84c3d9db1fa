import type { ChildProcess } from "node:child_process";
import { Processes } from "../../../packages/sidecar/bench/processes.ts";

/** The sidecar bench's process set, remembering each child by name (the app's pid counts for CPU). */
export class NamedProcesses extends Processes {
  readonly #byName = new Map<string, ChildProcess>();

  override start(name: string, cmd: string, args: string[]): ChildProcess {
    const child = super.start(name, cmd, args);
    this.#byName.set(name, child);
    return child;
  }

  pid(name: string): number {
    const pid = this.#byName.get(name)?.pid;
    if (pid === undefined) throw new Error(`bench: no process named ${name} was started`);
    return pid;
  }
}

/** What a phase's set-up gets: its own processes, the mesh PKI directory, a scratch file for h2load's log. */
export interface Phase {
  readonly procs: NamedProcesses;
  /** Holds ca.pem, web.pem/.key, orders.pem/.key and the HAProxy bundles (the sidecar bench's writePki). */
  readonly dir: string;
  readonly logFile: string;
  readonly progress: (line: string) => void;
}
