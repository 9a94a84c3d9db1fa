export { Base64StreamDecoder, Base64StreamEncoder } from "./base64-stream.ts";
export { concatBytes } from "./byte-queue.ts";
export { errorFromJsonBytes, errorToJson, errorToJsonBytes } from "./connect-error-json.ts";
export {
  type ConnectUnaryResponse,
  connectUnaryRequestToGrpc,
  connectUnaryResponseToGrpc,
  grpcRequestToConnectUnary,
  grpcResponseToConnectUnary,
  setGrpcTimeoutFromConnect,
} from "./connect-unary.ts";
export {
  DescriptorError,
  DescriptorIndex,
  grpcHealthV1,
  grpcReflectionV1,
  grpcReflectionV1alpha,
  type ReflectionAsk,
  type ReflectionQuery,
  reflectionAnswer,
  reflectionService,
  reflectionServiceV1alpha,
  registryFromDescriptorSet,
  registryFromFiles,
  registryFromReflection,
} from "./descriptors/index.ts";
export {
  decodeFrames,
  encodeFrame,
  encodeFrames,
  FLAG_COMPRESSED,
  FLAG_TRAILER,
  type GrpcFrame,
  GrpcFrameParser,
} from "./grpc-frame.ts";
export {
  decodeGrpcMessage,
  encodeGrpcMessage,
  errorFromTrailers,
  formatGrpcTimeout,
  parseGrpcTimeout,
  setTrailerStatus,
} from "./grpc-status.ts";
export {
  decodeTrailers,
  encodeTrailerFrame,
  encodeTrailers,
  formatGrpcContentType,
  type GrpcContentType,
  type GrpcResponse,
  GrpcWebBodyReader,
  GrpcWebBodyWriter,
  grpcContentTypeFromWeb,
  grpcRequestToGrpcWeb,
  grpcResponseToGrpcWeb,
  grpcWebContentTypeFromGrpc,
  grpcWebRequestToGrpc,
  grpcWebResponseToGrpc,
  type HttpMessage,
  parseGrpcContentType,
} from "./grpc-web.ts";
export { decodeHttpRule, HTTP_RULE_EXTENSION, type HttpRule, readHttpRule } from "./http-rule.ts";
export { type PathMatch, PathMatcher } from "./path-matcher.ts";
export {
  type PathTemplate,
  PathTemplateError,
  parsePathTemplate,
  type TemplateSegment,
  type TemplateVariable,
} from "./path-template.ts";
export { decodeStatusDetails, encodeStatusDetails } from "./status-details.ts";
export {
  type FrameCodec,
  type FrameDecoder,
  FrameError,
  type LengthPrefixedCodecOptions,
  lengthPrefixedCodec,
  type NewlineCodecOptions,
  newlineCodec,
} from "./tcp-frame-codec.ts";
export {
  createTranscoder,
  type HttpBinding,
  type TranscodedResponse,
  type TranscodeMatch,
  type Transcoder,
  type TranscoderOptions,
} from "./transcoder.ts";
export { ConvertError, type ErrorDetail, type WireError } from "./wire-error.ts";
