// The dashboard: traffic ledger, overview, and its HTTP listener.
export { type Dashboard, type DashboardOptions, startDashboard } from "./dashboard.ts";
export { DEFAULT_DASHBOARD_PORT } from "./dashboard-server.ts";
export type { DataPlaneRow, Overview, ServiceRow } from "./overview.ts";
export type { EdgeTraffic, TrafficReporter } from "./traffic-ledger.ts";
