import type { Place } from "../call/call.ts";
import type { Clock } from "../clock/clock.ts";
import type { Interceptor, Step } from "./chain.ts";

/** The minimal structured logger the chain writes to (pino's shape). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** What a plugin is given when it is created. */
export interface PluginContext {
  readonly place: Place;
  readonly clock: Clock;
  /** The local service: the caller on the outbound side, the callee on the inbound side. */
  readonly service: string;
  readonly namespace: string;
  readonly log: Logger;
}

/** A plugin instance: a step of the chain, plus what to release when config changes. */
export interface Plugin extends Step {
  /** Places the plugin runs in; all four when absent. */
  readonly places?: readonly Place[];
  close?(): void | Promise<void>;
}

/**
 * A plugin definition: a name and a factory from options to an interceptor. Options come
 * from a PluginRef in configuration (as JSON) or from code; `parseOptions` turns the JSON
 * into typed options and throws an Error naming the bad option.
 */
export interface PluginDefinition<Options = Record<string, unknown>> {
  readonly name: string;
  readonly places?: readonly Place[];
  parseOptions?(raw: Record<string, unknown>): Options;
  create(options: Options, ctx: PluginContext): Interceptor | Omit<Plugin, "name" | "places">;
}

/** Defines a plugin. User plugins and built-in ones use the same definition. */
export function definePlugin<Options = Record<string, unknown>>(
  def: PluginDefinition<Options>,
): PluginDefinition<Options> {
  return def;
}

/** Creates a plugin instance from a definition and raw (JSON) options, as configuration gives them. */
export function instantiatePlugin<Options>(
  def: PluginDefinition<Options>,
  raw: Record<string, unknown>,
  ctx: PluginContext,
): Plugin {
  return createPlugin(def, def.parseOptions ? def.parseOptions(raw) : (raw as Options), ctx);
}

/** Creates a plugin instance from a definition and typed options, as code gives them. */
export function createPlugin<Options>(
  def: PluginDefinition<Options>,
  options: Options,
  ctx: PluginContext,
): Plugin {
  const made = def.create(options, ctx);
  const body = typeof made === "function" ? { interceptor: made } : made;
  return { ...body, name: def.name, places: def.places };
}

/** True when the plugin runs in `place`. */
export function runsIn(plugin: Pick<Plugin, "places">, place: Place): boolean {
  return !plugin.places || plugin.places.includes(place);
}
