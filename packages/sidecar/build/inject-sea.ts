// Makes a single executable from a copy of the node binary and a SEA blob (node
// --experimental-sea-config), without postject (not installed here): the blob is added as an ELF
// note named NODE_SEA_BLOB in a new read-only segment, which is where Node's SEA loader looks
// for it (postject-api.h walks the PT_NOTE segments of the main program), and the SEA fuse is
// flipped. Linux ELF64 little-endian executables only (x86-64, arm64).
//
// The program header table has no free slot, so two entries are reused: PT_NOTE now covers the
// original notes (copied) followed by the blob, and PT_GNU_RELRO becomes the PT_LOAD that maps
// them. The cost is the RELRO hardening of the executable (its GOT stays writable after start).
import { chmodSync, readFileSync, writeFileSync } from "node:fs";

const PT_LOAD = 1;
const PT_NOTE = 4;
const PT_GNU_RELRO = 0x6474e552;
const PF_R = 4;
const PAGE = 0x1000;
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const NOTE_NAME = "NODE_SEA_BLOB";

interface Phdr {
  type: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
  memsz: bigint;
  align: bigint;
}

const alignUp = (n: bigint, a: bigint) => ((n + a - 1n) / a) * a;
const pad4 = (n: number) => (n + 3) & ~3;

export function injectSea(nodeBinary: string, blobFile: string, output: string): void {
  const elf = readFileSync(nodeBinary);
  const blob = readFileSync(blobFile);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1)
    throw new Error(`${nodeBinary}: not a little-endian ELF64 executable`);
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  const at = (i: number) => phoff + i * phentsize;
  const read = (i: number): Phdr => {
    const o = at(i);
    return {
      type: elf.readUInt32LE(o),
      flags: elf.readUInt32LE(o + 4),
      offset: elf.readBigUInt64LE(o + 8),
      vaddr: elf.readBigUInt64LE(o + 16),
      filesz: elf.readBigUInt64LE(o + 32),
      memsz: elf.readBigUInt64LE(o + 40),
      align: elf.readBigUInt64LE(o + 48),
    };
  };
  const write = (i: number, p: Phdr) => {
    const o = at(i);
    elf.writeUInt32LE(p.type, o);
    elf.writeUInt32LE(p.flags, o + 4);
    elf.writeBigUInt64LE(p.offset, o + 8);
    elf.writeBigUInt64LE(p.vaddr, o + 16);
    elf.writeBigUInt64LE(p.vaddr, o + 24);
    elf.writeBigUInt64LE(p.filesz, o + 32);
    elf.writeBigUInt64LE(p.memsz, o + 40);
    elf.writeBigUInt64LE(p.align, o + 48);
  };
  const phdrs = Array.from({ length: phnum }, (_, i) => read(i));
  const noteIndex = phdrs.findIndex((p) => p.type === PT_NOTE);
  const relroIndex = phdrs.findIndex((p) => p.type === PT_GNU_RELRO);
  if (noteIndex < 0 || relroIndex < 0)
    throw new Error(`${nodeBinary}: no PT_NOTE or PT_GNU_RELRO program header to reuse`);
  if (phdrs.some((p, i) => p.type === PT_LOAD && i > relroIndex))
    throw new Error(`${nodeBinary}: PT_GNU_RELRO is not after every PT_LOAD; reusing it would misorder them`);
  const fuse = elf.indexOf(`${FUSE}:0`);
  if (fuse < 0)
    throw new Error(
      `${nodeBinary}: no unblown SEA fuse (already a single executable, or a Node without SEA)`,
    );
  elf.write(`${FUSE}:1`, fuse);

  const note = phdrs[noteIndex] as Phdr;
  const kept = elf.subarray(Number(note.offset), Number(note.offset + note.filesz));
  const name = Buffer.alloc(pad4(NOTE_NAME.length + 1));
  name.write(NOTE_NAME);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(NOTE_NAME.length + 1, 0);
  head.writeUInt32LE(blob.length, 4);
  head.writeUInt32LE(0, 8);
  const segment = Buffer.concat([kept, head, name, blob, Buffer.alloc(pad4(blob.length) - blob.length)]);

  let end = 0n;
  for (const p of phdrs) if (p.type === PT_LOAD && p.vaddr + p.memsz > end) end = p.vaddr + p.memsz;
  const offset = alignUp(BigInt(elf.length), BigInt(PAGE));
  const vaddr = alignUp(end, BigInt(PAGE)) + BigInt(PAGE);
  const size = BigInt(segment.length);
  // The reused RELRO slot is the last program header: the new PT_LOAD stays after the others.
  write(relroIndex, {
    type: PT_LOAD,
    flags: PF_R,
    offset,
    vaddr,
    filesz: size,
    memsz: size,
    align: BigInt(PAGE),
  });
  write(noteIndex, { type: PT_NOTE, flags: PF_R, offset, vaddr, filesz: size, memsz: size, align: 4n });
  const gap = Buffer.alloc(Number(offset) - elf.length);
  writeFileSync(output, Buffer.concat([elf, gap, segment]));
  chmodSync(output, 0o755);
}

if (import.meta.main) {
  const [node, blob, out] = process.argv.slice(2);
  if (!node || !blob || !out) {
    process.stderr.write("usage: inject-sea.ts <node binary> <sea blob> <output>\n");
    process.exit(2);
  }
  injectSea(node, blob, out);
}
