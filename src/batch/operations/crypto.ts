/**
 * encrypt, decrypt, wrap, unwrap and derive from the API's JSON form, with their --json
 * answers. Data travels base64 in the JSON (bounded by the line or body limit), so the whole
 * message is one chunk of the core's stream; the IV is the ciphertext's first bytes unless
 * `ivPrefix: false`, as on the command line.
 */
import type { CipherPlan, CipherRequest } from "../../core/encrypt.js";
import type { Direction } from "../../pkcs11/cipher.js";
import type { TokenSession } from "../../pkcs11/session.js";
import {
  aesStream,
  findEncryptionKey,
  ivBytesOf,
  parseCipherName,
  planCipher,
  rsaEncrypt,
} from "../../core/encrypt.js";
import { findDecryptionKey, rsaDecrypt } from "../../core/decrypt.js";
import { parsePeerKey, runDerive } from "../../core/derive.js";
import { checkDerivedSpec } from "../../core/derive-options.js";
import type { TokenKey } from "../../core/find-key.js";
import { keySelectorOf } from "../../core/find-key.js";
import { parseUnwrapKeyType, runUnwrap } from "../../core/unwrap.js";
import { parseWrapName, runWrap } from "../../core/wrap.js";
import { prepareObject } from "../../core/write-object.js";
import { TspError, usageError } from "../../errors.js";
import { parseHexId, parseKeySpec } from "../../options.js";
import type { CipherBody, DeriveBody, UnwrapBody, WrapBody } from "../../serve/schemas.js";
import {
  DECRYPT_BODY,
  DERIVE_BODY,
  ENCRYPT_BODY,
  UNWRAP_BODY,
  WRAP_BODY,
} from "../../serve/schemas.js";
import { defineOperation, usageOf } from "../operation.js";

/** Hex bytes as the schema lets them through (0x prefix, colons). */
function bytesOfHex(text: string | undefined): Buffer | undefined {
  if (text === undefined) return undefined;
  return Buffer.from(text.replace(/^0x/i, "").replaceAll(":", ""), "hex");
}

/** A key's id as the schema lets it through; an empty one selects by label only. */
function optionalId(id: string | undefined): Uint8Array | undefined {
  return id ? parseHexId(id) : undefined;
}

function cipherRequestOf(body: CipherBody): CipherRequest {
  return {
    mechanism: body.mechanism === undefined ? undefined : parseCipherName(body.mechanism),
    hash: body.hash,
    mgf: body.mgf,
    oaepLabel: bytesOfHex(body.oaepLabel),
    iv: bytesOfHex(body.iv),
    aad: body.aadBase64 === undefined ? undefined : Buffer.from(body.aadBase64, "base64"),
    tagBits: body.tagBits,
  };
}

function keyOfAnswer(key: TokenKey): { keyId: string; keyLabel: string } {
  return { keyId: Buffer.from(key.id).toString("hex"), keyLabel: key.label };
}

/** The whole message through the core's AES stream, as one chunk. */
async function aesWhole(
  session: TokenSession,
  key: TokenKey,
  plan: CipherPlan,
  direction: Direction,
  data: Buffer,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  await aesStream(session, key, plan, direction, [data], {
    write(bytes) {
      parts.push(Buffer.from(bytes));
    },
  });
  return Buffer.concat(parts);
}

export const encryptOperation = defineOperation<CipherBody>({
  schema: ENCRYPT_BODY,
  login: "required",
  writes: false,
  prepare(body) {
    const selector = keySelectorOf(body.key, optionalId(body.id), undefined);
    const request = cipherRequestOf(body);
    const data = Buffer.from(body.dataBase64, "base64");
    return async ({ scope }) => {
      const { session } = scope;
      const key = findEncryptionKey(session, selector);
      const plan = planCipher(session, key, request, "encrypt");
      if (plan.iv && body.ivPrefix === false && body.iv === undefined) {
        throw usageError("ivPrefix false needs iv (else the random IV would be lost)");
      }
      const prefix = plan.iv && body.ivPrefix !== false ? plan.iv : Buffer.alloc(0);
      let path: "token" | "host" = "token";
      let output: Buffer;
      if (plan.keyType === "rsa") {
        const result = rsaEncrypt(session, key, plan, data);
        path = result.path;
        output = result.output;
      } else {
        output = await aesWhole(session, key, plan, "encrypt", data);
      }
      const ciphertext = Buffer.concat([prefix, output]);
      return {
        mechanism: plan.name,
        ...keyOfAnswer(key),
        path,
        ...(plan.iv ? { ivHex: plan.iv.toString("hex") } : {}),
        ...(plan.tagBits !== undefined ? { tagBits: plan.tagBits } : {}),
        length: ciphertext.length,
        ciphertextBase64: ciphertext.toString("base64"),
      };
    };
  },
});

export const decryptOperation = defineOperation<CipherBody>({
  schema: DECRYPT_BODY,
  login: "required",
  writes: false,
  prepare(body) {
    const selector = keySelectorOf(body.key, optionalId(body.id), undefined);
    const request = cipherRequestOf(body);
    const data = Buffer.from(body.dataBase64, "base64");
    return async ({ scope }) => {
      const { session } = scope;
      const key = findDecryptionKey(session, selector);
      const mechanism = request.mechanism ?? (key.keyType === "rsa" ? "RSA-PKCS-OAEP" : "AES-GCM");
      const takesIv = key.keyType === "aes" && ivBytesOf(mechanism) > 0;
      const prefixed = takesIv && body.ivPrefix !== false;
      if (takesIv && !prefixed && request.iv === undefined) {
        throw usageError("ivPrefix false needs iv");
      }
      const prefixBytes = prefixed ? (request.iv?.length ?? ivBytesOf(mechanism)) : 0;
      if (data.length < prefixBytes) {
        throw new TspError("verify", "decrypt: the input is shorter than its IV");
      }
      const prefix = data.subarray(0, prefixBytes);
      if (prefixed && request.iv !== undefined && !prefix.equals(Buffer.from(request.iv))) {
        throw new TspError("verify", "decrypt: the input's IV is not the one iv gives");
      }
      const iv = prefixed ? prefix : request.iv;
      const plan = planCipher(session, key, { ...request, iv }, "decrypt");
      const rest = data.subarray(prefixBytes);
      const plaintext =
        plan.keyType === "rsa"
          ? rsaDecrypt(session, key, plan, rest)
          : await aesWhole(session, key, plan, "decrypt", rest);
      return {
        mechanism: plan.name,
        ...keyOfAnswer(key),
        length: plaintext.length,
        plaintextBase64: plaintext.toString("base64"),
      };
    };
  },
});

export const wrapOperation = defineOperation<WrapBody>({
  schema: WRAP_BODY,
  login: "required",
  writes: false,
  prepare(body) {
    const wrapping = keySelectorOf(
      body.wrappingKey,
      optionalId(body.wrappingId),
      undefined,
      "wrappingKey",
    );
    const target = keySelectorOf(body.key, optionalId(body.id), undefined);
    const request = {
      mechanism: body.mechanism === undefined ? undefined : parseWrapName(body.mechanism),
      hash: body.hash,
    };
    return ({ scope }) => Promise.resolve(runWrap(scope.session, wrapping, target, request).json);
  },
});

export const unwrapOperation = defineOperation<UnwrapBody>({
  schema: UNWRAP_BODY,
  login: "required",
  writes: true,
  prepare(body) {
    const unwrapping = keySelectorOf(
      body.wrappingKey,
      optionalId(body.wrappingId),
      undefined,
      "wrappingKey",
    );
    const prepared =
      body.publicKeyPem === undefined
        ? undefined
        : prepareObject("pubkey", Buffer.from(body.publicKeyPem, "utf8"));
    const request = {
      keyType: parseUnwrapKeyType(body.keyType),
      label: body.label,
      id: body.id === undefined ? undefined : parseHexId(body.id),
      usage: usageOf(body.usage),
      extractable: body.extractable === true,
      mechanism: body.mechanism === undefined ? undefined : parseWrapName(body.mechanism),
      hash: body.hash,
      publicKey: prepared?.type === "pubkey" ? prepared.material : undefined,
    };
    const wrapped = Buffer.from(body.wrappedBase64, "base64");
    // runUnwrap checks and creates under the token's lock.
    return ({ scope }) => runUnwrap(scope, unwrapping, wrapped, request);
  },
});

export const deriveOperation = defineOperation<DeriveBody>({
  schema: DERIVE_BODY,
  login: "required",
  writes: true,
  prepare(body) {
    const selector = keySelectorOf(body.key, optionalId(body.keyId), undefined, "key");
    const peer = parsePeerKey(Buffer.from(body.peerPem, "utf8"));
    const options = {
      spec: checkDerivedSpec(parseKeySpec(body.keyType)),
      label: body.label,
      id: body.id === undefined ? undefined : parseHexId(body.id),
      usage: usageOf(body.usage),
      mechanism: body.mechanism,
      kdf: body.kdf,
      extractable: body.extractable === true,
      sensitive: body.sensitive,
    };
    // runDerive checks and creates under the token's lock.
    return ({ scope }) => runDerive(scope, selector, peer, options);
  },
});
