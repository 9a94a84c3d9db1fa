/**
 * WebCrypto types, read off the global `crypto`, so core code needs neither the DOM lib
 * nor an import of node:crypto.
 */
export type Key = InstanceType<typeof globalThis.CryptoKey>;

export interface KeyPair {
  readonly publicKey: Key;
  readonly privateKey: Key;
}

export type Bytes = ArrayBuffer | ArrayBufferView;

/** Algorithm parameters as WebCrypto takes them (`{ name: "ECDSA", namedCurve: "P-256" }`). */
export interface AlgorithmParams {
  readonly name: string;
  readonly [param: string]: unknown;
}
