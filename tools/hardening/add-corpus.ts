// Adds one input to a fuzz corpus folder (what a failing fuzz test prints):
//   node tools/hardening/add-corpus.ts <corpus-dir> [--latin1] '<input as a JSON string>'
// The file is named by the input's hash, so adding the same input twice is harmless.
import { createHash } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const latin1 = args.includes("--latin1");
const [dir, json] = args.filter((a) => a !== "--latin1");
if (!dir || json === undefined || !existsSync(dir)) {
  console.error("usage: node tools/hardening/add-corpus.ts <existing corpus dir> [--latin1] '<JSON string>'");
  process.exit(2);
}
const input: unknown = JSON.parse(json);
if (typeof input !== "string") {
  console.error(`expected a JSON string, got ${typeof input}`);
  process.exit(2);
}
const encoding = latin1 ? "latin1" : "utf8";
const bytes = Buffer.from(input, encoding);
const file = join(dir, `found-${createHash("sha256").update(bytes).digest("hex").slice(0, 12)}.txt`);
writeFileSync(file, bytes);
console.log(`added ${file}`);
