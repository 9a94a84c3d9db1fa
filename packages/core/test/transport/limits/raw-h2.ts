import { connect, type Socket } from "node:net";

// Raw HTTP/2 frames (RFC 9113 §4.1, §6) for what no client library would send.
export const DATA = 0x0;
export const HEADERS = 0x1;
export const RST_STREAM = 0x3;
export const SETTINGS = 0x4;
export const GOAWAY = 0x7;
export const CONTINUATION = 0x9;
export const WINDOW_UPDATE = 0x8;
export const END_STREAM = 0x1;
export const END_HEADERS = 0x4;
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/**
 * A POST request block, HPACK static table plus literals without indexing (RFC 7541 §6.2.2):
 * :method POST, :scheme http, :path /, :authority, then `extra` fields.
 */
export function postBlock(authority: string, extra: Record<string, string> = {}): Buffer {
  const parts = [Buffer.from([0x83, 0x86, 0x84, 0x01, authority.length]), Buffer.from(authority, "latin1")];
  for (const [name, value] of Object.entries(extra)) {
    parts.push(Buffer.from([0x00, name.length]), Buffer.from(name, "latin1"));
    parts.push(Buffer.from([value.length]), Buffer.from(value, "latin1"));
  }
  return Buffer.concat(parts);
}

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** A client socket that writes raw frames and parses what the server sends back. */
export class RawH2 {
  readonly frames: Frame[] = [];
  closed = false;
  readonly socket: Socket;
  #pending = Buffer.alloc(0);

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.once("close", () => {
      this.closed = true;
    });
  }

  /** Connects; with `preface`, sends the client preface and an empty SETTINGS frame. */
  static async open(port: number, preface = true): Promise<RawH2> {
    const socket = connect(port, "127.0.0.1");
    const raw = new RawH2(socket);
    await new Promise<void>((resolve) => {
      socket.once("connect", resolve);
      socket.once("close", resolve);
    });
    if (preface) raw.send(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0)]));
    return raw;
  }

  send(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  get goaway(): number | undefined {
    return this.frames.find((f) => f.type === GOAWAY)?.payload.readUInt32BE(4);
  }

  /** The error code of the RST_STREAM the server sent for `streamId`. */
  reset(streamId: number): number | undefined {
    return this.frames.find((f) => f.type === RST_STREAM && f.streamId === streamId)?.payload.readUInt32BE(0);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 9) {
      const length = this.#pending.readUIntBE(0, 3);
      if (this.#pending.length < 9 + length) return;
      this.frames.push({
        type: this.#pending[3] ?? 0,
        flags: this.#pending[4] ?? 0,
        streamId: this.#pending.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.#pending.subarray(9, 9 + length)),
      });
      this.#pending = this.#pending.subarray(9 + length);
    }
  }
}
