// The mesh configuration model and control-plane API, generated from proto/weft/v1 by
// protoc-gen-es (`npm run generate`). Import messages and schemas from here.
export * from "./gen/weft/v1/admin_pb.js";
export * from "./gen/weft/v1/authorization_pb.js";
export * from "./gen/weft/v1/config_pb.js";
export * from "./gen/weft/v1/discovery_pb.js";
export * from "./gen/weft/v1/endpoint_pb.js";
export * from "./gen/weft/v1/identity_pb.js";
export * from "./gen/weft/v1/mesh_pb.js";
export * from "./gen/weft/v1/plugin_pb.js";
export * from "./gen/weft/v1/policy_pb.js";
export * from "./gen/weft/v1/route_pb.js";
export * from "./gen/weft/v1/service_pb.js";
