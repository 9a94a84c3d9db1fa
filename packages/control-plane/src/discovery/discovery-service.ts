import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { DiscoverResponse, DiscoveryService, Registration } from "@weft/core/model";
import { AsyncQueue } from "@weft/core/transport";
import type { DiscoveryHub } from "./hub.ts";

/**
 * The Discover stream: the first message registers, then the hub pushes versions and the
 * data plane answers each with ACK or NACK. The stream's life is the registration's lease.
 */
export function discoveryService(hub: DiscoveryHub): ServiceImpl<typeof DiscoveryService> {
  return {
    async *discover(requests) {
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done)
        throw new ConnectError(
          "the discovery stream ended before a `register` message; send a Registration first",
          Code.InvalidArgument,
        );
      const kind = first.value.kind;
      if (kind.case !== "register")
        throw new ConnectError(
          `the first message on a discovery stream must be \`register\`, got \`${kind.case ?? "an empty message"}\``,
          Code.InvalidArgument,
        );
      checkRegistration(kind.value);
      const outbox = new AsyncQueue<DiscoverResponse>();
      const session = hub.open(kind.value, (r) => outbox.push(r));
      const reading = (async () => {
        for (;;) {
          const next = await it.next();
          if (next.done) return;
          if (next.value.kind.case === "register")
            throw new ConnectError(
              "`register` may be sent only once per stream; open a new stream to register again",
              Code.InvalidArgument,
            );
          if (next.value.kind.case === "traffic") hub.onTraffic?.(session, next.value.kind.value);
          else session.receive(next.value);
        }
      })();
      reading.then(
        () => outbox.close(),
        (e: unknown) => outbox.fail(e),
      );
      try {
        yield* outbox;
      } finally {
        hub.close(session);
        outbox.close();
      }
    },
  };
}

/** The rules of discovery.proto's Registration, checked without a validator dependency. */
function checkRegistration(r: Registration): void {
  const problems: string[] = [];
  if (r.service === "") problems.push("register.service must be set");
  if (r.instanceId === "") problems.push("register.instance_id must be set");
  if (r.port > 65535) problems.push(`register.port must be at most 65535, got ${r.port}`);
  if (problems.length > 0)
    throw new ConnectError(`invalid registration: ${problems.join("; ")}`, Code.InvalidArgument);
}
