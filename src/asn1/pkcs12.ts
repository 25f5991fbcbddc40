/**
 * PKCS#12 bundles (RFC 7292) in password-integrity mode, as OpenSSL, browsers and Windows
 * write them: the MAC is checked first (a wrong password is exit 4 before anything is
 * decrypted), then each safe is read, decrypted where needed (src/asn1/pbe.ts), and its key
 * and certificate bags are collected with their friendlyName and localKeyId.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { ContentInfo, EncryptedContentInfo } from "@peculiar/asn1-cms";
import {
  AuthenticatedSafe,
  CertBag,
  id_certBag,
  id_keyBag,
  id_pkcs8ShroudedKeyBag,
  id_SafeContents,
  id_x509Certificate,
  PFX,
  SafeContents,
} from "@peculiar/asn1-pfx";
import type { MacData, SafeBag } from "@peculiar/asn1-pfx";
import { EncryptedPrivateKeyInfo, PrivateKeyInfo } from "@peculiar/asn1-pkcs8";
import {
  FriendlyName,
  id_pkcs9_at_friendlyName,
  id_pkcs9_at_localKeyId,
  LocalKeyId,
} from "@peculiar/asn1-pkcs9";
import { AsnConvert, AsnProp, AsnPropTypes, OctetString } from "@peculiar/asn1-schema";
import { TspError } from "../errors.js";
import { bytesEqual, fromArrayBuffer } from "./bytes.js";
import { parseDer } from "./der.js";
import { bmpPassword, decryptWithPassword, KDF_MAC, pkcs12Kdf } from "./pbe.js";
import { parseStrict } from "./private-key.js";

const OID_DATA = "1.2.840.113549.1.7.1";
const OID_ENCRYPTED_DATA = "1.2.840.113549.1.7.6";

/** MAC digests (RFC 7292 B.4 allows any hash; OpenSSL 3 writes SHA-256, -legacy SHA-1). */
const MAC_HASHES: Readonly<Record<string, string>> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.4": "sha224",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** CMS EncryptedData (RFC 5652 8), which asn1-cms does not define. */
class EncryptedData {
  @AsnProp({ type: AsnPropTypes.Integer })
  version = 0;
  @AsnProp({ type: EncryptedContentInfo })
  encryptedContentInfo = new EncryptedContentInfo();
  @AsnProp({ type: AsnPropTypes.Any, context: 1, implicit: true, optional: true })
  unprotectedAttrs?: ArrayBuffer;
}

export interface Pkcs12Item {
  /** PKCS#8 PrivateKeyInfo (keys) or the certificate's DER (certificates). */
  der: Uint8Array;
  friendlyName?: string;
  localKeyId?: Uint8Array;
}

export interface Pkcs12Contents {
  keys: Pkcs12Item[];
  certificates: Pkcs12Item[];
}

const NOT_P12 = "not a PKCS#12 file";

function octets(content: ArrayBuffer, what: string): Uint8Array {
  const octetString = parseDer(content, OctetString, `${NOT_P12}: ${what}`);
  return fromArrayBuffer(octetString.buffer);
}

/** The passwords a PKCS#12 KDF tries: OpenSSL writes an empty password both ways. */
function macPasswords(password: string): Buffer[] {
  const bmp = bmpPassword(password);
  return password === "" ? [bmp, Buffer.alloc(0)] : [bmp];
}

function checkMac(macData: MacData, data: Uint8Array, password: string): void {
  const oid = macData.mac.digestAlgorithm.algorithm;
  const hash = MAC_HASHES[oid];
  if (!hash) throw new TspError("usage", `PKCS#12 MAC: unsupported digest ${oid}`);
  const expected = Buffer.from(macData.mac.digest.buffer);
  const salt = new Uint8Array(macData.macSalt.buffer);
  for (const secret of macPasswords(password)) {
    const key = pkcs12Kdf(hash, secret, salt, KDF_MAC, macData.iterations, expected.length);
    const mac = createHmac(hash, key).update(data).digest();
    if (mac.length === expected.length && timingSafeEqual(mac, expected)) return;
  }
  throw new TspError("auth", "open the PKCS#12 file: wrong pass phrase (the MAC does not match)");
}

function attributesOf(bag: SafeBag): Pick<Pkcs12Item, "friendlyName" | "localKeyId"> {
  const found: Pick<Pkcs12Item, "friendlyName" | "localKeyId"> = {};
  for (const attribute of bag.bagAttributes ?? []) {
    const [value] = attribute.attrValues;
    if (!value) continue;
    if (attribute.attrId === id_pkcs9_at_friendlyName) {
      found.friendlyName = parseDer(value, FriendlyName, `${NOT_P12}: bad friendlyName`).value;
    } else if (attribute.attrId === id_pkcs9_at_localKeyId) {
      const id = parseDer(value, LocalKeyId, `${NOT_P12}: bad localKeyId`);
      found.localKeyId = fromArrayBuffer(id.buffer);
    }
  }
  return found;
}

function collectBags(bags: SafeContents, password: string, into: Pkcs12Contents, depth = 0): void {
  for (const bag of bags) {
    const attributes = attributesOf(bag);
    switch (bag.bagId) {
      case id_keyBag: {
        const der = fromArrayBuffer(bag.bagValue);
        parseStrict(der, PrivateKeyInfo, "the PKCS#12 key bag is not a PKCS#8 key");
        into.keys.push({ der, ...attributes });
        break;
      }
      case id_pkcs8ShroudedKeyBag: {
        const shrouded = parseDer(bag.bagValue, EncryptedPrivateKeyInfo, `${NOT_P12}: bad key bag`);
        const der = decryptWithPassword(
          shrouded.encryptionAlgorithm,
          new Uint8Array(shrouded.encryptedData.buffer),
          password,
          "decrypt the PKCS#12 private key",
        );
        parseStrict(der, PrivateKeyInfo, "the PKCS#12 key bag is not a PKCS#8 key");
        into.keys.push({ der, ...attributes });
        break;
      }
      case id_certBag: {
        const certBag = parseDer(bag.bagValue, CertBag, `${NOT_P12}: bad certificate bag`);
        // SDSI certificates have no place on a PKCS#11 token.
        if (certBag.certId !== id_x509Certificate) break;
        into.certificates.push({
          der: octets(certBag.certValue, "bad certificate"),
          ...attributes,
        });
        break;
      }
      case id_SafeContents:
        if (depth < 4) {
          const nested = parseDer(bag.bagValue, SafeContents, `${NOT_P12}: bad nested bags`);
          collectBags(nested, password, into, depth + 1);
        }
        break;
      default:
        // CRL and secret bags: nothing a key import stores.
        break;
    }
  }
}

function safeContentsOf(info: ContentInfo, password: string): SafeContents {
  if (info.contentType === OID_DATA) {
    return parseDer(octets(info.content, "bad safe"), SafeContents, `${NOT_P12}: bad safe`);
  }
  if (info.contentType === OID_ENCRYPTED_DATA) {
    const encrypted = parseDer(info.content, EncryptedData, `${NOT_P12}: bad encrypted safe`);
    const content = encrypted.encryptedContentInfo.encryptedContent;
    const parts = content?.value ? [content.value] : (content?.constructedValue ?? []);
    const ciphertext = Buffer.concat(parts.map((part) => new Uint8Array(part.buffer)));
    const plain = decryptWithPassword(
      encrypted.encryptedContentInfo.contentEncryptionAlgorithm,
      ciphertext,
      password,
      "decrypt the PKCS#12 certificates",
    );
    return parseDer(plain, SafeContents, "decrypt the PKCS#12 certificates: wrong pass phrase");
  }
  throw new TspError(
    "usage",
    `PKCS#12 safe of type ${info.contentType} is not supported (public-key encrypted safes)`,
  );
}

/**
 * The keys and certificates of a PKCS#12 file (DER). A wrong password is exit 4; a file that
 * is no PKCS#12, or uses public-key integrity or privacy, is exit 2.
 */
export function parsePkcs12(input: Uint8Array, password: string): Pkcs12Contents {
  if (Buffer.from(input.subarray(0, 11)).toString("latin1") === "-----BEGIN ") {
    throw new TspError("usage", `${NOT_P12}: PKCS#12 is binary (DER), not PEM`);
  }
  const pfx = parseDer(input, PFX, NOT_P12);
  // A BER file (Windows writes indefinite lengths) re-encodes differently; a prefix is trailing data.
  const again = new Uint8Array(AsnConvert.serialize(pfx));
  if (again.length < input.length && bytesEqual(again, input.subarray(0, again.length))) {
    throw new TspError("usage", `${NOT_P12}: trailing data after the structure`);
  }
  if (pfx.version !== 3) throw new TspError("usage", `${NOT_P12}: version ${pfx.version}`);
  if (pfx.authSafe.contentType !== OID_DATA) {
    throw new TspError("usage", "PKCS#12 public-key integrity mode is not supported");
  }
  const data = octets(pfx.authSafe.content, "bad content");
  // OPTIONAL in the schema though typed as always there.
  const macData = pfx.macData as MacData | undefined;
  if (macData) checkMac(macData, data, password);
  const safes = parseDer(data, AuthenticatedSafe, `${NOT_P12}: bad content`);
  const contents: Pkcs12Contents = { keys: [], certificates: [] };
  for (const info of safes) collectBags(safeContentsOf(info, password), password, contents);
  return contents;
}
