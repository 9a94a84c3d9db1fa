import { describe, expect, it } from "vitest";
import { parseEtcdStoreUrl } from "../../src/store/store-url.ts";

describe("--store URLs", () => {
  it("lists the etcd members of etcd://HOST:PORT[,HOST:PORT...]", () => {
    expect(parseEtcdStoreUrl("etcd://127.0.0.1:2379,127.0.0.1:22379")).toEqual([
      "127.0.0.1:2379",
      "127.0.0.1:22379",
    ]);
    expect(parseEtcdStoreUrl("etcd://etcd-0.etcd:2379/")).toEqual(["etcd-0.etcd:2379"]);
    expect(parseEtcdStoreUrl("etcd://[::1]:2379")).toEqual(["[::1]:2379"]);
  });

  it("says what is wrong with a URL it cannot use", () => {
    expect(() => parseEtcdStoreUrl("http://127.0.0.1:2379")).toThrow(
      'a store URL must look like etcd://HOST:PORT[,HOST:PORT...], got "http://127.0.0.1:2379"',
    );
    expect(() => parseEtcdStoreUrl("etcd://127.0.0.1:2379,127.0.0.1")).toThrow(
      'etcd member "127.0.0.1" in "etcd://127.0.0.1:2379,127.0.0.1" must be HOST:PORT with a port from 1 to 65535',
    );
    expect(() => parseEtcdStoreUrl("etcd://127.0.0.1:70000")).toThrow(/port from 1 to 65535/);
  });
});
