/**
 * POST /v1/tokens/{label}/encrypt, /decrypt, /wrap, /unwrap and /derive: the CLI's commands
 * over the same cores, with their --json answers. Data travels base64 in the JSON bodies
 * (bounded by the body limit), so the whole message is one chunk of the core's stream; the
 * IV is the ciphertext's first bytes unless `ivPrefix: false`, as on the command line.
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
import { parseHexId, parseKeySpec, parseUsage } from "../../options.js";
import { defineRoute, hex } from "../route.js";
import type { CipherBody, DeriveBody, UnwrapBody, WrapBody } from "../schemas.js";
import {
  DECRYPT_BODY,
  DECRYPT_RESPONSE,
  DERIVE_BODY,
  ENCRYPT_BODY,
  ENCRYPT_RESPONSE,
  KEYGEN_RESPONSE,
  LABEL_PARAMS,
  UNWRAP_BODY,
  UNWRAP_RESPONSE,
  WRAP_BODY,
  WRAP_RESPONSE,
} from "../schemas.js";

interface LabelParams {
  label: string;
}

/** Hex bytes as the schema lets them through (0x prefix, colons). */
function bytesOfHex(text: string | undefined): Buffer | undefined {
  if (text === undefined) return undefined;
  return Buffer.from(text.replace(/^0x/i, "").replaceAll(":", ""), "hex");
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
  return { keyId: hex(key.id), keyLabel: key.label };
}

function usageOf(usage: string | string[] | undefined) {
  return usage === undefined
    ? undefined
    : parseUsage(Array.isArray(usage) ? usage.join(",") : usage);
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

const encryptRoute = defineRoute<CipherBody, never, LabelParams>({
  method: "POST",
  url: "/v1/tokens/:label/encrypt",
  operationId: "encrypt",
  summary: "Encrypt data with a token key, as tsp11 encrypt --json",
  tag: "crypto",
  status: 200,
  pin: true,
  params: LABEL_PARAMS,
  body: ENCRYPT_BODY,
  response: ENCRYPT_RESPONSE,
  async handler({ body, params, pin }, { tokens }) {
    const selector = keySelectorOf(body.key, body.id ? parseHexId(body.id) : undefined, undefined);
    const request = cipherRequestOf(body);
    const data = Buffer.from(body.dataBase64, "base64");
    return tokens.withToken(params.label, pin, "required", async ({ scope }) => {
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
    });
  },
});

const decryptRoute = defineRoute<CipherBody, never, LabelParams>({
  method: "POST",
  url: "/v1/tokens/:label/decrypt",
  operationId: "decrypt",
  summary: "Decrypt data with a token key, as tsp11 decrypt --json (wrong key or tag: verify)",
  tag: "crypto",
  status: 200,
  pin: true,
  params: LABEL_PARAMS,
  body: DECRYPT_BODY,
  response: DECRYPT_RESPONSE,
  async handler({ body, params, pin }, { tokens }) {
    const selector = keySelectorOf(body.key, body.id ? parseHexId(body.id) : undefined, undefined);
    const request = cipherRequestOf(body);
    const data = Buffer.from(body.dataBase64, "base64");
    return tokens.withToken(params.label, pin, "required", async ({ scope }) => {
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
    });
  },
});

const wrapRoute = defineRoute<WrapBody, never, LabelParams>({
  method: "POST",
  url: "/v1/tokens/:label/wrap",
  operationId: "wrapKey",
  summary: "Export a key wrapped under a wrapping key, as tsp11 wrap --json",
  tag: "crypto",
  status: 200,
  pin: true,
  params: LABEL_PARAMS,
  body: WRAP_BODY,
  response: WRAP_RESPONSE,
  async handler({ body, params, pin }, { tokens }) {
    const wrapping = keySelectorOf(
      body.wrappingKey,
      body.wrappingId ? parseHexId(body.wrappingId) : undefined,
      undefined,
      "wrappingKey",
    );
    const target = keySelectorOf(body.key, body.id ? parseHexId(body.id) : undefined, undefined);
    const request = {
      mechanism: body.mechanism === undefined ? undefined : parseWrapName(body.mechanism),
      hash: body.hash,
    };
    return tokens.withToken(params.label, pin, "required", ({ scope }) =>
      Promise.resolve(runWrap(scope.session, wrapping, target, request).json),
    );
  },
});

const unwrapRoute = defineRoute<UnwrapBody, never, LabelParams>({
  method: "POST",
  url: "/v1/tokens/:label/unwrap",
  operationId: "unwrapKey",
  summary: "Create a key on the token from a wrapped key, as tsp11 unwrap --json",
  tag: "crypto",
  status: 201,
  pin: true,
  params: LABEL_PARAMS,
  body: UNWRAP_BODY,
  response: UNWRAP_RESPONSE,
  async handler({ body, params, pin }, { tokens }) {
    const unwrapping = keySelectorOf(
      body.wrappingKey,
      body.wrappingId ? parseHexId(body.wrappingId) : undefined,
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
    return tokens.withToken(
      params.label,
      pin,
      "required",
      ({ scope }) => runUnwrap(scope, unwrapping, wrapped, request),
      { writes: true },
    );
  },
});

const deriveRoute = defineRoute<DeriveBody, never, LabelParams>({
  method: "POST",
  url: "/v1/tokens/:label/derive",
  operationId: "deriveKey",
  summary: "ECDH on the token into a new secret key, as tsp11 derive --json",
  tag: "crypto",
  status: 201,
  pin: true,
  params: LABEL_PARAMS,
  body: DERIVE_BODY,
  response: KEYGEN_RESPONSE,
  async handler({ body, params, pin }, { tokens }) {
    const selector = keySelectorOf(
      body.key,
      body.keyId ? parseHexId(body.keyId) : undefined,
      undefined,
      "key",
    );
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
    return tokens.withToken(
      params.label,
      pin,
      "required",
      ({ scope }) => runDerive(scope, selector, peer, options),
      { writes: true },
    );
  },
});

export const cryptoRoutes = [encryptRoute, decryptRoute, wrapRoute, unwrapRoute, deriveRoute];
