/**
 * JSON Schemas of every request and answer: Fastify validates bodies, parameters and query
 * strings with them, the answers are checked against them before they are sent, and
 * /openapi.json is made of them. Requests refuse unknown fields; answers may gain fields
 * (as the CLI's --json does), so their schemas name what is required, not all there is.
 */

type Schema = Record<string, unknown>;

const str = (description: string, extra: Schema = {}): Schema => ({
  type: "string",
  description,
  ...extra,
});
const bool = (description: string): Schema => ({ type: "boolean", description });

/** Standard base64 with padding; a 1 MiB body holds at most ~786 KiB of data. */
const BASE64 = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$";

const hexId = str("object id as hex: 0a1b, 0x0a1b, 0a:1b or %0a%1b", {
  minLength: 1,
  maxLength: 256,
});

/** Token labels are 32 bytes at most (checked in bytes by the core). */
const tokenLabel = str("token label", { minLength: 1, maxLength: 32 });

const pin = str("PIN", { maxLength: 255 });

export const ERROR_SCHEMA: Schema = {
  type: "object",
  description: "the CLI's error object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "exit", "message", "kind"],
      properties: {
        code: str("the CKR_ name when a PKCS#11 call failed, else the kind"),
        exit: { type: "integer", description: "the CLI's exit code for this error" },
        message: str("what failed, and why"),
        kind: {
          type: "string",
          enum: ["usage", "not-found", "auth", "module", "conflict", "verify", "failure"],
          description: "what the exit code means, whatever the cause",
        },
        ckr: str("the CKR_ name, when a PKCS#11 call failed"),
      },
    },
  },
};

export const LABEL_PARAMS: Schema = {
  type: "object",
  required: ["label"],
  additionalProperties: false,
  // serial:<serial> (at most 16 characters) fits the same bound.
  properties: {
    label: str("token label, or serial:<serial> for the token with that serial", {
      minLength: 1,
      maxLength: 32,
    }),
  },
};

/** X-PKCS11-PIN: the user PIN, never logged. Other headers are not constrained. */
export const PIN_HEADERS: Schema = {
  type: "object",
  properties: { "x-pkcs11-pin": { ...pin, description: "the user PIN" } },
};

const stringList: Schema = { type: "array", items: { type: "string" } };

export const SLOTS_QUERY: Schema = {
  type: "object",
  additionalProperties: false,
  properties: { all: bool("every slot, also those without a token") },
};

const tokenInfo: Schema = {
  type: "object",
  required: [
    "label",
    "manufacturer",
    "model",
    "serial",
    "initialized",
    "userPinInitialized",
    "loginRequired",
    "flags",
    "uri",
  ],
  properties: {
    label: { type: "string" },
    manufacturer: { type: "string" },
    model: { type: "string" },
    serial: { type: "string" },
    initialized: { type: "boolean" },
    userPinInitialized: { type: "boolean" },
    loginRequired: { type: "boolean" },
    flags: stringList,
    minPinLength: { type: ["integer", "null"] },
    maxPinLength: { type: ["integer", "null"] },
    uri: { type: "string" },
  },
};

export const SLOTS_RESPONSE: Schema = {
  type: "array",
  description: "the same JSON as tsp11 list-slots --json",
  items: {
    type: "object",
    required: ["slot", "description", "manufacturer", "tokenPresent", "token"],
    properties: {
      slot: { type: "integer" },
      description: { type: "string" },
      manufacturer: { type: "string" },
      tokenPresent: { type: "boolean" },
      token: { anyOf: [{ type: "null" }, tokenInfo] },
    },
  },
};

export interface InitTokenBody {
  slot?: number;
  label: string;
  soPin: string;
  pin?: string;
  force?: boolean;
}

export const INIT_TOKEN_BODY: Schema = {
  type: "object",
  required: ["label", "soPin"],
  additionalProperties: false,
  properties: {
    slot: {
      type: "integer",
      minimum: 0,
      description: "slot to initialize (default: the first uninitialized token)",
    },
    label: tokenLabel,
    soPin: { ...pin, description: "security-officer PIN (never logged)" },
    pin: { ...pin, description: "user PIN to set (never logged)" },
    force: bool("re-initialize an initialized token named by slot (destroys its objects)"),
  },
};

export const INIT_TOKEN_RESPONSE: Schema = {
  type: "object",
  required: ["slot", "label", "serial", "uri"],
  properties: {
    slot: { type: "integer" },
    label: { type: "string" },
    serial: { type: "string" },
    uri: { type: "string" },
  },
};

export interface ObjectsQuery {
  type?: "cert" | "privkey" | "pubkey" | "secret" | "data";
  id?: string;
  label?: string;
}

export const OBJECTS_QUERY: Schema = {
  type: "object",
  additionalProperties: false,
  properties: {
    type: { type: "string", enum: ["cert", "privkey", "pubkey", "secret", "data"] },
    id: hexId,
    label: str("only objects with this CKA_LABEL"),
  },
};

const objectClass: Schema = {
  type: "string",
  enum: ["private-key", "public-key", "certificate", "secret-key", "data"],
};

export const OBJECTS_RESPONSE: Schema = {
  type: "array",
  description: "the same JSON as tsp11 list-objects --json (private objects need the PIN)",
  items: {
    type: "object",
    required: ["class", "label", "id", "usage", "private", "uri"],
    properties: {
      class: objectClass,
      label: { type: "string" },
      id: { type: "string" },
      keyType: { type: "string" },
      bits: { type: "integer" },
      curve: { type: "string" },
      usage: stringList,
      private: { type: "boolean" },
      sensitive: { type: "boolean" },
      extractable: { type: "boolean" },
      subject: { type: "string" },
      issuer: { type: "string" },
      serial: { type: "string" },
      notBefore: { type: "string" },
      notAfter: { type: "string" },
      uri: { type: "string" },
      incomplete: { type: "boolean", description: "a key left by an interrupted keygen" },
    },
  },
};

const USAGE_WORDS = ["sign", "verify", "encrypt", "decrypt", "derive", "wrap", "unwrap"];

export interface KeygenBody {
  keyType: string;
  label: string;
  id?: string;
  usage?: string | string[];
  extractable?: boolean;
  force?: boolean;
}

export const KEYGEN_BODY: Schema = {
  type: "object",
  required: ["keyType", "label"],
  additionalProperties: false,
  properties: {
    keyType: str("rsa:<1024..8192>, ec:prime256v1|secp384r1|secp521r1, ed25519, aes:128|192|256", {
      minLength: 1,
      maxLength: 64,
    }),
    label: str("CKA_LABEL of the new key", { minLength: 1, maxLength: 1024 }),
    id: hexId,
    usage: {
      description: "sign, decrypt, derive, wrap (default: sign; encrypt,decrypt for secret keys)",
      anyOf: [
        { type: "array", items: { type: "string", enum: USAGE_WORDS }, minItems: 1 },
        { type: "string", minLength: 1, maxLength: 256 },
      ],
    },
    extractable: bool("let the private or secret key be exported"),
    force: bool("replace keys with the same label or id"),
  },
};

export const KEYGEN_RESPONSE: Schema = {
  type: "object",
  required: ["label", "id", "keyType", "usage", "uri"],
  properties: {
    label: { type: "string" },
    id: { type: "string" },
    keyType: { type: "string" },
    bits: { type: "integer" },
    curve: { type: "string" },
    usage: stringList,
    publicKeyPem: { type: "string" },
    uri: { type: "string" },
  },
};

/** "key" (CKA_LABEL) or "id" (CKA_ID) names the key; at least one is needed. */
const keySelector: Schema = {
  key: str("the private key's CKA_LABEL", { minLength: 1, maxLength: 1024 }),
  id: hexId,
};
const needsKey = { anyOf: [{ required: ["key"] }, { required: ["id"] }] };

const HASHES = ["sha256", "sha384", "sha512"];

export interface CsrBody {
  key?: string;
  id?: string;
  subject: string;
  san?: string | string[];
  hash?: "sha256" | "sha384" | "sha512";
  pss?: boolean;
}

export const CSR_BODY: Schema = {
  type: "object",
  required: ["subject"],
  additionalProperties: false,
  ...needsKey,
  properties: {
    ...keySelector,
    subject: str("/C=US/O=Example/CN=a (OpenSSL) or CN=a,O=Example,C=US (RFC 4514)", {
      minLength: 1,
      maxLength: 4096,
    }),
    san: {
      description: 'subjectAltName: ["DNS:a", "IP:10.0.0.1"] or "DNS:a,IP:10.0.0.1"',
      anyOf: [
        { type: "array", items: { type: "string", maxLength: 4096 }, minItems: 1 },
        { type: "string", minLength: 1, maxLength: 65536 },
      ],
    },
    hash: { type: "string", enum: HASHES, description: "digest of the signature (sha256)" },
    pss: bool("RSA-PSS instead of PKCS#1 v1.5"),
  },
};

export const CSR_RESPONSE: Schema = {
  type: "object",
  required: ["pem", "subject", "signatureAlgorithm", "keyId"],
  properties: {
    pem: { type: "string" },
    subject: { type: "string" },
    signatureAlgorithm: { type: "string" },
    keyId: { type: "string" },
  },
};

export interface WriteObjectBody {
  type: "cert" | "pubkey" | "data" | "privkey" | "pkcs12" | "secret";
  pem?: string;
  derBase64?: string;
  id?: string;
  label?: string;
  force?: boolean;
  private?: boolean;
  /** privkey/pkcs12: the pass phrase of an encrypted key or bundle (never logged). */
  keyPass?: string;
  /** secret: its type, and its bytes in hex (instead of derBase64). */
  keyType?: "aes" | "generic" | "des3";
  hex?: string;
  usage?: string | string[];
  extractable?: boolean;
  publicKey?: boolean;
}

export const WRITE_OBJECT_BODY: Schema = {
  type: "object",
  required: ["type"],
  additionalProperties: false,
  oneOf: [{ required: ["pem"] }, { required: ["derBase64"] }, { required: ["hex"] }],
  properties: {
    type: { type: "string", enum: ["cert", "pubkey", "data", "privkey", "pkcs12", "secret"] },
    pem: str("the object as PEM (or, for data, as text)", { minLength: 1 }),
    derBase64: str("the object's bytes (DER), base64", { minLength: 1, pattern: BASE64 }),
    id: hexId,
    label: str("CKA_LABEL (default: the label of the matching key)", { maxLength: 1024 }),
    force: bool("replace an object of the same class and id; store a mismatched certificate"),
    private: bool("make the object private (readable only after login)"),
    keyPass: str("privkey/pkcs12: pass phrase of an encrypted key or bundle", {
      maxLength: 1024,
    }),
    keyType: { type: "string", enum: ["aes", "generic", "des3"], description: "secret: key type" },
    hex: str("secret: the key's bytes in hex", { minLength: 2, pattern: "^[0-9a-fA-F]+$" }),
    usage: {
      description: "privkey/pkcs12/secret: sign, decrypt, ... (default sign; encrypt,decrypt)",
      anyOf: [
        { type: "array", items: { type: "string", enum: USAGE_WORDS }, minItems: 1 },
        { type: "string", minLength: 1, maxLength: 256 },
      ],
    },
    extractable: bool("privkey/pkcs12/secret: the key may be exported"),
    publicKey: bool("privkey/pkcs12: store the public key beside the key (default true)"),
  },
};

const WRITTEN_OBJECT: Schema = {
  type: "object",
  required: ["class", "id", "label", "uri"],
  properties: {
    class: objectClass,
    id: { type: "string" },
    label: { type: "string" },
    subject: { type: "string" },
    issuer: { type: "string" },
    serial: { type: "string" },
    keyType: { type: "string" },
    bits: { type: "integer" },
    curve: { type: "string" },
    usage: stringList,
    publicKeyPem: { type: "string" },
    uri: { type: "string" },
  },
};

/** One object; an array of them for a PKCS#12 bundle. */
export const WRITE_OBJECT_RESPONSE: Schema = {
  anyOf: [WRITTEN_OBJECT, { type: "array", items: WRITTEN_OBJECT }],
};

export interface SignBody {
  key?: string;
  id?: string;
  mechanism?: string;
  dataBase64: string;
  hash?: "sha256" | "sha384" | "sha512";
  saltLen?: number;
  format?: "der" | "raw";
}

export const SIGN_BODY: Schema = {
  type: "object",
  required: ["dataBase64"],
  additionalProperties: false,
  ...needsKey,
  properties: {
    ...keySelector,
    mechanism: str("SHA256-RSA-PKCS (RSA default), ECDSA-SHA256 (EC default), EDDSA, ...", {
      minLength: 1,
      maxLength: 64,
    }),
    dataBase64: str("the data to sign, base64", { pattern: BASE64 }),
    hash: { type: "string", enum: HASHES, description: "the digest RSA-PKCS-PSS / ECDSA input is" },
    saltLen: { type: "integer", minimum: -2, maximum: 1024, description: "PSS salt bytes" },
    format: { type: "string", enum: ["der", "raw"], description: "ECDSA: DER (default) or r‖s" },
  },
};

export const SIGN_RESPONSE: Schema = {
  type: "object",
  required: ["mechanism", "keyId", "keyLabel", "signatureBase64"],
  properties: {
    mechanism: { type: "string" },
    keyId: { type: "string" },
    keyLabel: { type: "string" },
    format: { type: "string", enum: ["der", "raw"] },
    signatureBase64: { type: "string" },
  },
};

export const HEALTH_RESPONSE: Schema = {
  type: "object",
  required: ["ok"],
  properties: { ok: { type: "boolean", const: true } },
};
