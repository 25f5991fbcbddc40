import { describe, it, expect } from "vitest";
import { createHash, generateKeyPairSync, publicDecrypt, sign, constants } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  digestInfo,
  signatureAlgorithmIdentifier,
  signatureAlgorithmName,
  type SignatureScheme,
} from "../../../src/asn1/algorithms.js";
import { toHex } from "../../../src/asn1/bytes.js";
import { TspError } from "../../../src/errors.js";

const algHex = async (scheme: SignatureScheme): Promise<string> =>
  toHex(new Uint8Array(AsnConvert.serialize(await signatureAlgorithmIdentifier(scheme))));

describe("signatureAlgorithmIdentifier", () => {
  const CASES: [SignatureScheme, string, string][] = [
    // RFC 4055: sha*WithRSAEncryption with NULL parameters.
    [
      { kind: "rsa-pkcs1", hash: "sha256" },
      "300d06092a864886f70d01010b0500",
      "sha256WithRSAEncryption",
    ],
    [
      { kind: "rsa-pkcs1", hash: "sha384" },
      "300d06092a864886f70d01010c0500",
      "sha384WithRSAEncryption",
    ],
    [
      { kind: "rsa-pkcs1", hash: "sha512" },
      "300d06092a864886f70d01010d0500",
      "sha512WithRSAEncryption",
    ],
    // Cut from `openssl req -new -key rsa.pem -subj /CN=x -sha256 -sigopt rsa_padding_mode:pss
    // -sigopt rsa_pss_saltlen:32 -outform DER` (OpenSSL 3.0): full params, NULL hash params.
    [
      { kind: "rsa-pss", hash: "sha256", saltLength: 32 },
      "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120",
      "rsassaPss",
    ],
    // Same with -sha384 -sigopt rsa_pss_saltlen:48.
    [
      { kind: "rsa-pss", hash: "sha384", saltLength: 48 },
      "304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130",
      "rsassaPss",
    ],
    // RFC 5758 3.2: ecdsa-with-SHA* with absent parameters.
    [{ kind: "ecdsa", hash: "sha256" }, "300a06082a8648ce3d040302", "ecdsa-with-SHA256"],
    [{ kind: "ecdsa", hash: "sha384" }, "300a06082a8648ce3d040303", "ecdsa-with-SHA384"],
    [{ kind: "ecdsa", hash: "sha512" }, "300a06082a8648ce3d040304", "ecdsa-with-SHA512"],
    // RFC 8410 3: id-Ed25519, parameters absent.
    [{ kind: "ed25519" }, "300506032b6570", "ED25519"],
  ];

  it.each(CASES)("%j", async (scheme, hex, name) => {
    expect(await algHex(scheme)).toBe(hex);
    expect(signatureAlgorithmName(scheme)).toBe(name);
  });
});

describe("digestInfo", () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });

  it.each(["sha256", "sha384", "sha512"] as const)(
    "%s: is what an RSA PKCS#1 v1.5 signature wraps",
    (hash) => {
      const data = Buffer.from("tsp11");
      const signature = sign(hash, data, privateKey);
      // Undo the private-key operation: what remains is the DigestInfo the signer encoded.
      const recovered = publicDecrypt(
        { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
        signature,
      );
      const digest = createHash(hash).update(data).digest();
      expect(toHex(digestInfo(hash, digest))).toBe(recovered.toString("hex"));
    },
  );

  it("rejects a digest of the wrong length", () => {
    expect(() => digestInfo("sha256", new Uint8Array(20))).toThrow(TspError);
  });
});
