import { describe, expect, it } from "vitest";
import { isLoopback, parseListen, serveConfig } from "../../../src/serve/config.js";
import { RwLock, Semaphore } from "../../../src/serve/lock.js";

describe("serve options", () => {
  it.each([
    ["127.0.0.1:8443", "127.0.0.1", 8443],
    [":9000", "127.0.0.1", 9000],
    ["[::1]:1", "::1", 1],
    ["localhost:0", "localhost", 0],
    ["0.0.0.0:443", "0.0.0.0", 443],
    ["[fe80::1%eth0]:8443", "fe80::1%eth0", 8443],
    ["[::1%1]:80", "::1%1", 80],
    ["host.example.:80", "host.example.", 80],
  ])("parses --listen %s", (text, host, port) => {
    expect(parseListen(text)).toEqual({ host, port });
  });

  it.each([
    ["8443", "no port"],
    ["host:", "no port"],
    ["host:65536", "over 65535"],
    ["[::1:80", "in [brackets] followed by :port"],
    ["[::1]", "in [brackets] followed by :port"],
    ["a:b:c", "in brackets"],
    ["::1:8443", "in brackets"],
    ["[fe80::1%]:80", "not an IPv6 address"],
    ["[fe80::1%lo%x]:80", "not an IPv6 address"],
    ["[fe80::1%l o]:80", "not an IPv6 address"],
    ["[127.0.0.1]:80", "not an IPv6 address"],
    ["[]:80", "not an IPv6 address"],
    ["[nothex::1]:80", "not an IPv6 address"],
    ["999.0.0.1:80", "not an IPv4 address"],
    ["bad host:80", "not a host name"],
    ["-host:80", "not a host name"],
    ["host_name:80", "not a host name"],
  ])("refuses --listen %s: %s", (text, why) => {
    expect(() => parseListen(text)).toThrow(/invalid --listen/);
    expect(() => parseListen(text)).toThrow(why);
  });

  it.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["localhost", true],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["::ffff:127.0.0.1", true],
    ["::1%lo", true],
    ["fe80::1%lo", false],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.1", false],
    ["::2", false],
    ["example.com", false],
  ])("%s is loopback: %s", (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback);
  });

  it("refuses a non-loopback address without a bearer token, and mixed listeners", () => {
    expect(() => serveConfig({ listen: "0.0.0.0:8443" })).toThrow(/--auth-token-file/);
    expect(() => serveConfig({ listen: "[fe80::1%lo]:8443" })).toThrow(
      /refusing to listen on \[fe80::1%lo\]:8443 without --auth-token-file/,
    );
    expect(() => serveConfig({ listen: ":1", socket: "/tmp/s" })).toThrow(/not both/);
    expect(() => serveConfig({ tlsCert: "/tmp/c" })).toThrow(/go together/);
    expect(serveConfig({}).target).toEqual({ kind: "tcp", host: "127.0.0.1", port: 8443 });
  });
});

describe("serve locks", () => {
  it("lets readers share, and a waiting writer go before later readers", async () => {
    const lock = new RwLock();
    const events: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = lock.read(async () => {
      events.push("read 1");
      await held;
    });
    const second = lock.read(() => {
      events.push("read 2");
      return Promise.resolve();
    });
    const writer = lock.write(() => {
      events.push("write");
      return Promise.resolve();
    });
    const late = lock.read(() => {
      events.push("read 3");
      return Promise.resolve();
    });
    await second;
    release();
    await Promise.all([first, writer, late]);
    expect(events).toEqual(["read 1", "read 2", "write", "read 3"]);
  });

  it("lets at most n holders run", async () => {
    const semaphore = new Semaphore(2);
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        semaphore.run(async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running--;
        }),
      ),
    );
    expect(most).toBe(2);
  });
});
