import type { Clock } from "@weft/core";
import type { DiscoveryHub } from "../discovery/hub.ts";
import { startDashboardServer } from "./dashboard-server.ts";
import { buildOverview, type Overview } from "./overview.ts";
import { TrafficLedger } from "./traffic-ledger.ts";

export interface DashboardOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The hub's clock: traffic windows are measured on it. */
  clock: Clock;
  /** Wall-clock ms, for certificate expiries and connection times. Default Date.now. */
  wallClock?: () => number;
  /** Span of the rates and percentiles shown. Default 30 s. */
  windowMs?: number;
  /** How often open pages are checked for news. Default 1 s. */
  refreshMs?: number;
}

export interface Dashboard {
  /** `http://host:port/`, the page. */
  readonly url: string;
  readonly port: number;
  readonly ledger: TrafficLedger;
  overview(): Overview;
  close(): Promise<void>;
}

/**
 * Starts recording the hub's TrafficReports and serves the dashboard on its own plain
 * HTTP/1.1 port (a browser cannot speak the control plane's h2c).
 */
export async function startDashboard(hub: DiscoveryHub, options: DashboardOptions): Promise<Dashboard> {
  const ledger = new TrafficLedger({ clock: options.clock, windowMs: options.windowMs });
  const wallClock = options.wallClock ?? Date.now;
  const overview = () => buildOverview(hub, ledger, wallClock());
  const server = await startDashboardServer({
    host: options.host,
    port: options.port,
    clock: options.clock,
    refreshMs: options.refreshMs,
    overview,
  });
  hub.onTraffic = (session, report) =>
    ledger.record(
      {
        key: session.leaseKey,
        caller: session.scope.own,
        namespace: session.scope.namespace,
        since: session.openedAt,
      },
      report.stats,
    );
  return {
    url: server.url,
    port: server.port,
    ledger,
    overview,
    async close() {
      hub.onTraffic = undefined;
      await server.close();
    },
  };
}
