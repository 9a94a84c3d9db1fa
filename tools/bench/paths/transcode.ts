import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { h2loadPath, type RequestPath } from "../measure/load-path.ts";
import type { Phase } from "./phase.ts";

/** Issue #10: a REST/JSON call transcoded by the in-process server against the same call made with Connect. */
export function transcodePaths(phase: Phase, port: number, appPid: number): RequestPath[] {
  const json = join(phase.dir, "get-book.json");
  writeFileSync(json, JSON.stringify({ shelf: "fiction", bookId: "42" }));
  const base = `http://127.0.0.1:${port}`;
  const row = { generator: "h2load", counted: "app (in-process mesh server)" };
  return [
    h2loadPath(
      { ...row, id: "transcode/connect", protocol: "Connect unary, JSON (h2c)", path: "direct Connect call" },
      { proxies: [], app: appPid },
      {
        url: `${base}/transcode.v1.BookService/GetBook`,
        h1: false,
        headers: ["content-type: application/json", "connect-protocol-version: 1"],
        data: json,
      },
      phase.logFile,
    ),
    h2loadPath(
      {
        ...row,
        id: "transcode/rest",
        protocol: "REST/JSON GET /v1/shelves/{shelf}/books/{book_id} (h2c)",
        path: "transcoded by the in-process server",
        direct: "transcode/connect",
      },
      { proxies: [], app: appPid },
      { url: `${base}/v1/shelves/fiction/books/42`, h1: false },
      phase.logFile,
    ),
  ];
}
