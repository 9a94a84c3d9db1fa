import { Code } from "@connectrpc/connect";

/** HTTP status for a code, as the Connect protocol maps them. */
export function httpStatusFromCode(code: Code): number {
  switch (code) {
    case Code.Canceled:
      return 499;
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return 400;
    case Code.DeadlineExceeded:
      return 504;
    case Code.NotFound:
      return 404;
    case Code.AlreadyExists:
    case Code.Aborted:
      return 409;
    case Code.PermissionDenied:
      return 403;
    case Code.ResourceExhausted:
      return 429;
    case Code.Unimplemented:
      return 501;
    case Code.Unavailable:
      return 503;
    case Code.Unauthenticated:
      return 401;
    default:
      return 500;
  }
}

/** Code for an HTTP status that carried no gRPC status (gRPC's HTTP-to-gRPC table). */
export function codeFromHttpStatus(status: number): Code | undefined {
  if (status >= 200 && status < 300) return undefined;
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 408:
    case 504:
      return Code.DeadlineExceeded;
    case 429:
    case 502:
    case 503:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

/** "unavailable", "deadline_exceeded": the Connect protocol's names of codes. */
export function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

export function codeFromName(name: string): Code | undefined {
  const entry = Object.entries(Code).find(([k, v]) => typeof v === "number" && codeName(v) === name && k);
  return entry ? (entry[1] as Code) : undefined;
}
