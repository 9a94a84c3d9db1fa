import { Code, ConnectError } from "@connectrpc/connect";

/** Exit codes of the `weft` command. */
export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_UNREACHABLE = 2;

/** A failure with a message meant for a person and the exit code it ends with. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_USER_ERROR) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Turns an admin API failure into what the person at the terminal can act on. */
export function fromRpcError(e: unknown, server: string): CliError {
  const err = ConnectError.from(e);
  if (err.code === Code.Unavailable || err.code === Code.DeadlineExceeded || err.code === Code.Canceled)
    return new CliError(
      `cannot reach the control plane at ${server} (${err.rawMessage}); is \`weft control-plane\` running there? Set --server or WEFT_SERVER`,
      EXIT_UNREACHABLE,
    );
  return new CliError(err.rawMessage, EXIT_USER_ERROR);
}
