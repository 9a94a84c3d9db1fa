import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { getComments } from "@bufbuild/protoplugin";

/**
 * `file.proto:line:column` of a service or method in its .proto (as protoc and buf
 * print positions), or just the file when the request carries no source info.
 */
export function sourceLocation(desc: DescService | DescMethod): string {
  const file = desc.kind === "rpc" ? desc.parent.file : desc.file;
  const path = getComments(desc).sourcePath;
  const location = file.proto.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]),
  );
  const [line, column] = location?.span ?? [];
  const name = file.proto.name;
  return line === undefined || column === undefined ? name : `${name}:${line + 1}:${column + 1}`;
}
