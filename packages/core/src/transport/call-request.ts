import type { Code } from "@connectrpc/connect";
import type { MeshCall } from "../call/call.ts";
import type { RequestBody, RequestInit, TransportClient, TransportResponse } from "./client.ts";

/**
 * Sends one attempt of a call to the endpoint the balancer picked: the request both data-plane
 * shapes make at the end of their outbound chain. `:authority` names the destination service;
 * the server must prove the endpoint's identity, else the destination service's.
 */
export function requestForCall(
  client: TransportClient,
  call: MeshCall,
  extra: { readonly trailers?: RequestInit["trailers"] } = {},
): Promise<TransportResponse> {
  const endpoint = call.endpoint;
  if (!endpoint) throw new Error("the chain reached the transport without an endpoint (no balance step?)");
  return client.request(endpoint, {
    method: call.httpMethod,
    path: call.path,
    authority: `${call.service}.${call.namespace}`,
    headers: call.headers,
    body: call.body.value as RequestBody | undefined,
    ...(extra.trailers ? { trailers: extra.trailers } : {}),
    signal: call.cancellation,
    deadline: call.deadline,
    expectedIdentity: endpoint.identity || call.destination?.spiffeId,
  });
}

/** grpc-status from trailers, or from the headers of a trailers-only response; undefined when absent. */
export function grpcStatus(headers: Headers, trailers?: Headers): Code | undefined {
  const v = trailers?.get("grpc-status") ?? headers.get("grpc-status");
  return v === null || v === undefined ? undefined : (Number(v) as Code);
}
