/** cert: certificates signed on the token, checked with openssl. */
import { readFile, writeFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { makeCa, openssl } from "../helpers/pki.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

describe.skipIf(!available)("cert", () => {
  let token: TempToken;
  const tsp11 = async (args: string[]) => {
    const result = await token.tsp11([...args, "--pin", PIN]);
    expect(result.stdout + result.stderr).not.toContain(PIN);
    return result;
  };

  beforeAll(async () => {
    token = await tempToken();
    await tsp11(["keygen", "--key-type", "rsa:2048", "--label", "ca-key", "--id", "ca"]);
    await tsp11(["keygen", "--key-type", "ec:P-256", "--label", "device", "--id", "d1"]);
    await tsp11(["keygen", "--key-type", "ec:P-384", "--label", "self", "--id", "51"]);
    return () => token[Symbol.asyncDispose]();
  });

  it("makes a self-signed CA certificate that openssl accepts", async () => {
    const made = await tsp11([
      "cert",
      "-i",
      "ca-key",
      "-d",
      "/O=tsp11/CN=Token CA",
      "--ca",
      "--days",
      "3650",
      "-o",
      token.path("ca.pem"),
      "--json",
    ]);
    expect(made.code, made.stderr).toBe(0);
    const json = JSON.parse(made.stdout) as Record<string, string>;
    expect(json).toMatchObject({
      subject: "CN=Token CA,O=tsp11",
      issuer: "CN=Token CA,O=tsp11",
      keyId: "ca",
    });
    expect(Date.parse(json.notAfter ?? "") - Date.parse(json.notBefore ?? "")).toBe(
      3650 * 86_400_000,
    );
    const verified = await openssl(token, [
      "verify",
      "-check_ss_sig",
      "-CAfile",
      token.path("ca.pem"),
      token.path("ca.pem"),
    ]);
    expect(verified.stdout).toContain(": OK");
    const text = (await openssl(token, ["x509", "-in", token.path("ca.pem"), "-noout", "-text"]))
      .stdout;
    expect(text).toMatch(/CA:TRUE/);
    expect(text).toMatch(/Certificate Sign, CRL Sign/);
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
  });

  it("issues a certificate for a request with the token CA key; the request's SANs carry over", async () => {
    await tsp11([
      "cert",
      "-i",
      "ca-key",
      "-d",
      "/CN=Issuing CA",
      "--ca",
      "-o",
      token.path("ica.pem"),
    ]);
    await tsp11([
      "req",
      "-i",
      "device",
      "-d",
      "/CN=device-1",
      "--san",
      "DNS:device-1.example,IP:10.0.0.7",
      "-o",
      token.path("device.csr"),
    ]);
    const issued = await tsp11([
      "cert",
      "-i",
      "ca-key",
      "--csr",
      token.path("device.csr"),
      "--issuer-cert",
      token.path("ica.pem"),
      "--set-serial",
      "0x0abcde",
      "-o",
      token.path("device.pem"),
      "--json",
    ]);
    expect(issued.code, issued.stderr).toBe(0);
    expect(JSON.parse(issued.stdout)).toMatchObject({
      subject: "CN=device-1",
      issuer: "CN=Issuing CA",
      serial: "0abcde",
    });
    const verified = await openssl(token, [
      "verify",
      "-CAfile",
      token.path("ica.pem"),
      token.path("device.pem"),
    ]);
    expect(verified.stdout).toContain("device.pem: OK");
    const text = (
      await openssl(token, ["x509", "-in", token.path("device.pem"), "-noout", "-text"])
    ).stdout;
    expect(text).toContain("DNS:device-1.example, IP Address:10.0.0.7");
    expect(text).toContain("CA:FALSE");
    // The certificate pairs with the device key on the token.
    const stored = await tsp11([
      "write-object",
      "--type",
      "cert",
      "-f",
      token.path("device.pem"),
      "--json",
    ]);
    expect(JSON.parse(stored.stdout)).toMatchObject({ id: "d1", label: "device" });
  });

  it("refuses a tampered request (exit 7) and a CA certificate of another key (exit 6)", async () => {
    await tsp11(["req", "-i", "device", "-d", "/CN=device-2", "--der", "-o", token.path("d2.der")]);
    const der = await readFile(token.path("d2.der"));
    der.writeUInt8(der.readUInt8(der.length - 5) ^ 0xff, der.length - 5);
    await writeFile(token.path("bad.der"), der);
    const tampered = await tsp11([
      "cert",
      "-i",
      "ca-key",
      "--csr",
      token.path("bad.der"),
      "--issuer-cert",
      token.path("ca.pem"),
      "-o",
      token.path("x.pem"),
    ]);
    expect(tampered.code).toBe(7);
    expect(tampered.stderr).toBe("tsp11: cert: the request's self-signature does not verify\n");
    const other = await makeCa(token, "other");
    await writeFile(token.path("good.der"), await readFile(token.path("d2.der")));
    const mismatch = await tsp11([
      "cert",
      "-i",
      "ca-key",
      "--csr",
      token.path("good.der"),
      "--issuer-cert",
      other.cert,
      "-o",
      token.path("x.pem"),
    ]);
    expect(mismatch.code).toBe(6);
    expect(mismatch.stderr).toMatch(/is not the certificate of the token key "ca-key"/);
    await expect(readFile(token.path("x.pem"))).rejects.toThrow();
  });

  it("stores a self-signed certificate next to its key with --import", async () => {
    const made = await tsp11([
      "cert",
      "-i",
      "self",
      "-d",
      "CN=self,O=tsp11",
      "--import",
      "--hash",
      "sha384",
      "--json",
    ]);
    expect(made.code, made.stderr).toBe(0);
    const certs = JSON.parse(
      (await tsp11(["list-objects", "--type", "cert", "--id", "51", "--json"])).stdout,
    ) as Record<string, string>[];
    expect(certs).toHaveLength(1);
    expect(certs[0]).toMatchObject({
      label: "self",
      subject: "CN=self,O=tsp11",
      issuer: "CN=self,O=tsp11",
    });
    await writeFile(token.path("self.pem"), (JSON.parse(made.stdout) as { pem: string }).pem);
    const text = (await openssl(token, ["x509", "-in", token.path("self.pem"), "-noout", "-text"]))
      .stdout;
    expect(text).toMatch(/ecdsa-with-SHA384/);
    expect(
      (
        await openssl(token, [
          "verify",
          "-check_ss_sig",
          "-CAfile",
          token.path("self.pem"),
          token.path("self.pem"),
        ])
      ).stdout,
    ).toContain(": OK");
  });

  it.each([
    [["-i", "ca-key"], /give the subject with -d\/--subject/],
    [["-i", "ca-key", "-d", "/CN=x", "--days", "0"], /a whole number of days/],
    [["-i", "ca-key", "-d", "CN=x,,O=y"], /invalid DN at position/],
    [
      ["-i", "ca-key", "--csr", "/nonexistent.csr", "--issuer-cert", "/nonexistent.pem"],
      /read request \/nonexistent.csr: no such file/,
    ],
  ])("refuses %j with exit 2", async (args, message) => {
    const result = await tsp11(["cert", ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
