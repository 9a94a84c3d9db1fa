// The echo service of the in-process tests (generated connect-es code), so the sidecar's
// connect-node and interop tests call the same service the in-process SDK is tested with.
export {
  CountResponseSchema,
  EchoService,
  type SayRequest,
  SayResponseSchema,
} from "../../inprocess/test/gen/echo/v1/echo_pb.js";
export const ECHO_RPC = "echo.v1.EchoService";
