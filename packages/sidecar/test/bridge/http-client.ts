import http from "node:http";

/** An HTTP/1.1 request to 127.0.0.1:`port` with a Host of our choosing (fetch would not send it). */
export function request(
  port: number,
  host: string,
  body: string | Uint8Array,
  method = "POST",
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method, path: "/", headers: { host }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.once("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.once("error", reject);
      },
    );
    req.once("error", reject);
    req.end(method === "GET" ? undefined : body);
  });
}
