import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Every namespace the lab makes is named `weftlab-<run>-<pod>` and every link `weftl<run>...`,
 * so a lab that died half-way (SIGKILL, a crash) is found and removed by the next one.
 */
export const NETNS_PREFIX = "weftlab-";
export const LINK_PREFIX = "weftl";
/** The bridge's subnet. It exists only inside the lab's namespaces: the root namespace never sees it. */
export const SUBNET = "10.213.0";
export const PREFIX_LENGTH = 24;

/** `ip <args>`, bounded; the error names the command and what it printed. */
export async function ip(args: readonly string[], timeoutMs = 10_000): Promise<string> {
  try {
    const { stdout } = await run("ip", [...args], { timeout: timeoutMs });
    return stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`ip ${args.join(" ")} failed: ${(err.stderr || err.message).trim()}`);
  }
}

/** The pids of the processes inside a namespace (`ip netns pids`). */
async function pidsIn(ns: string): Promise<number[]> {
  const out = await ip(["netns", "pids", ns]).catch(() => "");
  return out
    .split("\n")
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/**
 * Removes what an earlier lab left behind: processes still inside `weftlab-*` namespaces
 * (only lab programs ever run there), the namespaces, and any `weftl*` link stranded in the
 * root namespace between its creation and its move. Returns the names removed.
 */
export async function removeLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  const list = await ip(["netns", "list"]);
  const names = list
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n.startsWith(NETNS_PREFIX));
  for (const ns of names) {
    for (const pid of await pidsIn(ns)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  }
  // Pods before the hub: deleting a pod's namespace deletes its veth pair too.
  for (const ns of names.sort((a, b) => Number(a.endsWith("-hub")) - Number(b.endsWith("-hub")))) {
    await ip(["netns", "del", ns]).catch(() => undefined);
    removed.push(ns);
  }
  const links = await ip(["-o", "link", "show"]);
  for (const m of links.matchAll(/^\d+:\s+([^:@\s]+)/gm)) {
    const name = m[1] ?? "";
    if (name.startsWith(LINK_PREFIX)) {
      await ip(["link", "del", name]).catch(() => undefined);
      removed.push(name);
    }
  }
  return removed;
}

/** A pod's network: its namespace, its address on the bridge and the hub end of its veth pair. */
export interface PodNet {
  readonly name: string;
  readonly ns: string;
  readonly address: string;
  /** The veth end on the bridge: setting it down cuts the pod off (a partition). */
  readonly hubLink: string;
}

/**
 * The lab's network: a hub namespace holding a bridge, and a namespace per pod joined to the
 * bridge by a veth pair. The bridge has no address and nothing routes off it, so traffic
 * between pods never leaves the lab's namespaces.
 */
export class Topology {
  readonly run = randomBytes(2).toString("hex");
  readonly hub = `${NETNS_PREFIX}${this.run}-hub`;
  readonly bridge = `${LINK_PREFIX}${this.run}br`;
  readonly #pods = new Map<string, PodNet>();
  #next = 0;
  #created = false;

  /** Removes leftovers of earlier labs, then makes the hub and its bridge. */
  async create(): Promise<void> {
    await removeLeftovers();
    await ip(["netns", "add", this.hub]);
    this.#created = true;
    await ip(["-n", this.hub, "link", "set", "lo", "up"]);
    await ip(["-n", this.hub, "link", "add", this.bridge, "type", "bridge"]);
    await ip(["-n", this.hub, "link", "set", this.bridge, "up"]);
  }

  /** A new pod namespace with `.<host>` on the bridge's subnet and loopback up. */
  async addPod(name: string, host: number): Promise<PodNet> {
    if (!this.#created) throw new Error("Topology.addPod before create()");
    if (this.#pods.has(name)) throw new Error(`pod ${name} exists already`);
    if (!(host >= 2 && host <= 254)) throw new Error(`pod ${name}: host number ${host} is not in 2..254`);
    const index = (this.#next++).toString().padStart(2, "0");
    const pod: PodNet = {
      name,
      ns: `${NETNS_PREFIX}${this.run}-${name}`,
      address: `${SUBNET}.${host}`,
      hubLink: `${LINK_PREFIX}${this.run}${index}h`,
    };
    const podLink = `${LINK_PREFIX}${this.run}${index}p`;
    await ip(["netns", "add", pod.ns]);
    this.#pods.set(name, pod);
    await ip(["link", "add", pod.hubLink, "type", "veth", "peer", "name", podLink]);
    await ip(["link", "set", pod.hubLink, "netns", this.hub]);
    await ip(["link", "set", podLink, "netns", pod.ns]);
    await ip(["-n", this.hub, "link", "set", pod.hubLink, "master", this.bridge]);
    await ip(["-n", this.hub, "link", "set", pod.hubLink, "up"]);
    await ip(["-n", pod.ns, "addr", "add", `${pod.address}/${PREFIX_LENGTH}`, "dev", podLink]);
    await ip(["-n", pod.ns, "link", "set", podLink, "up"]);
    await ip(["-n", pod.ns, "link", "set", "lo", "up"]);
    return pod;
  }

  /** Cuts a pod off the bridge (`up = false`) or joins it again. */
  async setLink(pod: PodNet, up: boolean): Promise<void> {
    await ip(["-n", this.hub, "link", "set", pod.hubLink, up ? "up" : "down"]);
  }

  /** Every pod namespace and the hub, deleted (their veth pairs go with them). */
  async destroy(): Promise<void> {
    if (!this.#created) return;
    for (const pod of this.#pods.values()) {
      await ip(["netns", "del", pod.ns]).catch(() => undefined);
    }
    this.#pods.clear();
    await ip(["netns", "del", this.hub]).catch(() => undefined);
    this.#created = false;
  }
}
