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
      alwaysAuthenticate: { type: "boolean" },
      allowedMechanisms: stringList,
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

const USAGE_WORDS = [
  "sign",
  "verify",
  "encrypt",
  "decrypt",
  "derive",
  "wrap",
  "unwrap",
  "sign-recover",
];

export interface KeygenBody {
  keyType: string;
  label: string;
  id?: string;
  usage?: string | string[];
  extractable?: boolean;
  force?: boolean;
  sensitive?: boolean;
  alwaysAuthenticate?: boolean;
  allowedMechanisms?: string | string[];
  destroyable?: boolean;
  modifiable?: boolean;
}

export const KEYGEN_BODY: Schema = {
  type: "object",
  required: ["keyType", "label"],
  additionalProperties: false,
  properties: {
    keyType: str(
      "rsa:<1024..8192>, ec:<curve> (prime256v1, secp384r1, secp521r1, secp256k1, brainpoolP256r1|P384r1|P512r1), ed25519, ed448, x25519, x448, aes:128|192|256, generic:<bits>, hmac:<bits>, des3",
      { minLength: 1, maxLength: 64 },
    ),
    label: str("CKA_LABEL of the new key", { minLength: 1, maxLength: 1024 }),
    id: hexId,
    usage: {
      description:
        "sign, verify, encrypt, decrypt, derive, wrap, unwrap, sign-recover (default: sign; encrypt,decrypt for aes and des3; sign,verify for generic and hmac; derive for x25519/x448)",
      anyOf: [
        { type: "array", items: { type: "string", enum: USAGE_WORDS }, minItems: 1 },
        { type: "string", minLength: 1, maxLength: 256 },
      ],
    },
    extractable: bool("let the private or secret key be exported"),
    force: bool("replace keys with the same label or id"),
    sensitive: bool("false: the private or secret key is not sensitive (CKA_SENSITIVE)"),
    alwaysAuthenticate: bool(
      "the PIN is needed again before each use (CKA_ALWAYS_AUTHENTICATE); serve logs in for the key with the request's PIN",
    ),
    allowedMechanisms: {
      description:
        "the only mechanisms the key may be used with (CKA_ALLOWED_MECHANISMS), by list-mechanisms' names",
      anyOf: [
        {
          type: "array",
          items: { type: "string", minLength: 1, maxLength: 64 },
          minItems: 1,
          maxItems: 64,
        },
        { type: "string", minLength: 1, maxLength: 2048 },
      ],
    },
    destroyable: bool("false: the keys cannot be deleted (CKA_DESTROYABLE)"),
    modifiable: bool(
      "false: the keys' attributes cannot change (CKA_MODIFIABLE); needs id for a pair",
    ),
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

// ---- read, delete and edit objects; verify; cert; change-pin (the CLI's other commands) ----

const OBJECT_TYPE_WORDS = ["cert", "privkey", "pubkey", "secret", "data"];

const pkcs11Uri = str("an RFC 7512 URI: selects exactly what its attributes name", {
  minLength: 7,
  maxLength: 2048,
  pattern: "^pkcs11:",
});

export interface ObjectPathParams {
  label: string;
  object: string;
}

export const OBJECT_PATH_PARAMS: Schema = {
  type: "object",
  required: ["label", "object"],
  additionalProperties: false,
  properties: {
    label: (LABEL_PARAMS.properties as Record<string, Schema>).label,
    object: str(
      "a percent-encoded pkcs11: URI (a segment starting with pkcs11: is a URI), else the object's CKA_ID in hex",
      { minLength: 1, maxLength: 2048 },
    ),
  },
};

export interface ReadObjectQuery {
  type?: "cert" | "privkey" | "pubkey" | "secret" | "data";
  format?: "pem" | "der";
}

export const READ_OBJECT_QUERY: Schema = {
  type: "object",
  additionalProperties: false,
  properties: {
    type: {
      type: "string",
      enum: OBJECT_TYPE_WORDS,
      description: "what to read; needed with an id, implied by a URI's type=",
    },
    format: {
      type: "string",
      enum: ["pem", "der"],
      description: "pem (default): the pem field; der: the DER in valueBase64",
    },
  },
};

export const READ_OBJECT_RESPONSE: Schema = {
  type: "object",
  description: "as tsp11 read-object --json: pem for certificates and keys, else valueBase64",
  required: ["class", "id", "label", "uri"],
  properties: {
    class: objectClass,
    id: { type: "string" },
    label: { type: "string" },
    uri: { type: "string" },
    pem: { type: "string" },
    valueBase64: { type: "string" },
  },
};

/** The objects DELETE and PATCH act on: delete-object's and edit-object's selectors. */
export interface ObjectSelectorQuery {
  uri?: string;
  type?: "cert" | "privkey" | "pubkey" | "secret" | "data";
  id?: string;
  label?: string;
}

export const OBJECT_SELECTOR_QUERY: Schema = {
  type: "object",
  additionalProperties: false,
  properties: {
    uri: pkcs11Uri,
    type: { type: "string", enum: OBJECT_TYPE_WORDS, description: "only objects of this type" },
    id: hexId,
    label: str("objects with this CKA_LABEL", { maxLength: 1024 }),
  },
};

export interface EditObjectBody {
  setLabel?: string;
  setId?: string;
  setUsage?: string | string[];
  force?: boolean;
}

export const EDIT_OBJECT_BODY: Schema = {
  type: "object",
  additionalProperties: false,
  anyOf: [{ required: ["setLabel"] }, { required: ["setId"] }, { required: ["setUsage"] }],
  properties: {
    setLabel: str("the new CKA_LABEL", { maxLength: 1024 }),
    setId: { ...hexId, description: "the new CKA_ID (objects sharing the old id follow)" },
    setUsage: {
      description: "the new usage: sign, verify, encrypt, decrypt, derive, wrap, unwrap",
      anyOf: [
        { type: "array", items: { type: "string" }, minItems: 1 },
        { type: "string", minLength: 1, maxLength: 256 },
      ],
    },
    force: bool("allow an id or label that another object of the same class has"),
  },
};

export interface VerifyBody {
  key?: string;
  id?: string;
  mechanism?: string;
  dataBase64: string;
  signatureBase64: string;
  hash?: "sha256" | "sha384" | "sha512";
  saltLen?: number;
  format?: "der" | "raw";
}

export const VERIFY_BODY: Schema = {
  type: "object",
  required: ["dataBase64", "signatureBase64"],
  additionalProperties: false,
  ...needsKey,
  properties: {
    ...(SIGN_BODY.properties as Record<string, Schema>),
    key: str("the key's CKA_LABEL (a private key's public key serves)", {
      minLength: 1,
      maxLength: 1024,
    }),
    signatureBase64: str("the signature, base64 (ECDSA: DER, or r‖s with format raw)", {
      minLength: 1,
      pattern: BASE64,
    }),
    format: {
      type: "string",
      enum: ["der", "raw"],
      description: "ECDSA: DER (default; r‖s of the right length is taken too) or raw r‖s",
    },
  },
};

export const VERIFY_RESPONSE: Schema = {
  type: "object",
  description: "as tsp11 verify --json; a signature that does not match is valid: false",
  required: ["valid", "mechanism"],
  properties: { valid: { type: "boolean" }, mechanism: { type: "string" } },
};

export interface CertBody {
  key?: string;
  id?: string;
  subject?: string;
  san?: string | string[];
  csr?: string;
  issuerCert?: string;
  days?: number;
  setSerial?: string;
  ca?: boolean;
  hash?: "sha256" | "sha384" | "sha512";
  pss?: boolean;
  import?: boolean;
}

export const CERT_BODY: Schema = {
  type: "object",
  additionalProperties: false,
  ...needsKey,
  properties: {
    ...keySelector,
    subject: str("self-signed: the subject, /CN=a (OpenSSL) or CN=a (RFC 4514)", {
      minLength: 1,
      maxLength: 4096,
    }),
    san: (CSR_BODY.properties as Record<string, Schema>).san,
    csr: str("issue a certificate for this request (PEM), signed by the token key", {
      minLength: 1,
      maxLength: 262144,
    }),
    issuerCert: str("with csr: the token key's CA certificate (PEM)", {
      minLength: 1,
      maxLength: 262144,
    }),
    days: { type: "integer", minimum: 1, maximum: 36500, description: "validity (365)" },
    setSerial: { ...hexId, description: "serial number, hex (default: 16 random bytes)" },
    ca: bool("a CA certificate (basicConstraints CA, keyCertSign, cRLSign)"),
    hash: { type: "string", enum: HASHES, description: "digest of the signature (sha256)" },
    pss: bool("RSA-PSS instead of PKCS#1 v1.5"),
    import: bool("self-signed: also store the certificate on the token next to its key"),
  },
};

export const CERT_RESPONSE: Schema = {
  type: "object",
  description: "as tsp11 cert --json",
  required: ["pem", "subject", "issuer", "serial", "notBefore", "notAfter", "keyId"],
  properties: {
    pem: { type: "string" },
    subject: { type: "string" },
    issuer: { type: "string" },
    serial: { type: "string" },
    notBefore: { type: "string" },
    notAfter: { type: "string" },
    keyId: { type: "string" },
  },
};

export interface ChangePinBody {
  newPin: string;
  soPin?: string;
  so?: boolean;
}

export const CHANGE_PIN_BODY: Schema = {
  type: "object",
  required: ["newPin"],
  additionalProperties: false,
  properties: {
    newPin: { ...pin, minLength: 1, description: "the new PIN (never logged)" },
    soPin: {
      ...pin,
      description:
        "the SO PIN (never logged): alone, the SO sets a new user PIN (a forgotten or locked one); with so, the SO PIN changes",
    },
    so: bool("change the SO PIN (needs soPin) instead of the user PIN"),
  },
};

export const CHANGE_PIN_RESPONSE: Schema = {
  type: "object",
  description: "as tsp11 change-pin --json",
  required: ["label", "pin", "action", "uri"],
  properties: {
    label: { type: "string" },
    pin: { type: "string", enum: ["user", "so"] },
    action: { type: "string", enum: ["changed", "reset"] },
    uri: { type: "string" },
  },
};

const CIPHERS = [
  "RSA-PKCS-OAEP",
  "RSA-PKCS",
  "AES-GCM",
  "AES-CBC-PAD",
  "AES-CBC",
  "AES-CTR",
  "AES-ECB",
];
const OAEP_HASHES = ["sha1", "sha256", "sha384", "sha512"];
const hexBytes = (description: string): Schema =>
  str(description, { maxLength: 1024, pattern: "^(0[xX])?([0-9a-fA-F]{2}:?)*$" });

export interface CipherBody {
  key?: string;
  id?: string;
  mechanism?: string;
  hash?: "sha1" | "sha256" | "sha384" | "sha512";
  mgf?: "sha1" | "sha256" | "sha384" | "sha512";
  oaepLabel?: string;
  iv?: string;
  ivPrefix?: boolean;
  aadBase64?: string;
  tagBits?: number;
  dataBase64: string;
}

/** encrypt and decrypt take the CLI's options; the data and the AAD base64. */
function cipherBody(data: string): Schema {
  return {
    type: "object",
    required: ["dataBase64"],
    additionalProperties: false,
    ...needsKey,
    properties: {
      key: str("the key's CKA_LABEL", { minLength: 1, maxLength: 1024 }),
      id: hexId,
      mechanism: {
        type: "string",
        enum: CIPHERS,
        description: "default: RSA-PKCS-OAEP for RSA keys, AES-GCM for AES keys",
      },
      hash: { type: "string", enum: OAEP_HASHES, description: "RSA-PKCS-OAEP hash (sha256)" },
      mgf: { type: "string", enum: OAEP_HASHES, description: "RSA-PKCS-OAEP MGF1 hash" },
      oaepLabel: hexBytes("RSA-PKCS-OAEP label, hex"),
      iv: hexBytes("AES IV / GCM nonce, hex (encrypt default: random)"),
      ivPrefix: bool("the IV is the first bytes of the ciphertext (default true)"),
      aadBase64: str("AES-GCM additional authenticated data, base64", { pattern: BASE64 }),
      tagBits: { type: "integer", enum: [96, 104, 112, 120, 128], description: "GCM tag" },
      dataBase64: str(data, { pattern: BASE64 }),
    },
  };
}

export const ENCRYPT_BODY: Schema = cipherBody("the plaintext, base64");
export const DECRYPT_BODY: Schema = cipherBody("the ciphertext (IV first unless ivPrefix false)");

const KEY_OF_ANSWER = {
  mechanism: { type: "string" },
  keyId: { type: "string" },
  keyLabel: { type: "string" },
  length: { type: "integer" },
};

export const ENCRYPT_RESPONSE: Schema = {
  type: "object",
  required: ["mechanism", "keyId", "keyLabel", "path", "length", "ciphertextBase64"],
  properties: {
    ...KEY_OF_ANSWER,
    path: { type: "string", enum: ["token", "host"] },
    ivHex: { type: "string" },
    tagBits: { type: "integer" },
    ciphertextBase64: { type: "string" },
  },
};

export const DECRYPT_RESPONSE: Schema = {
  type: "object",
  required: ["mechanism", "keyId", "keyLabel", "length", "plaintextBase64"],
  properties: { ...KEY_OF_ANSWER, plaintextBase64: { type: "string" } },
};

const WRAP_MECHANISMS = [
  "AES-KEY-WRAP",
  "AES-KEY-WRAP-PAD",
  "RSA-PKCS-OAEP",
  "AES-CBC-PAD",
  "RSA-PKCS",
];
const wrappingKey = {
  wrappingKey: str("the wrapping key's CKA_LABEL", { minLength: 1, maxLength: 1024 }),
  wrappingId: hexId,
};
const needsWrappingKey = {
  anyOf: [{ required: ["wrappingKey"] }, { required: ["wrappingId"] }],
};

export interface WrapBody {
  wrappingKey?: string;
  wrappingId?: string;
  key?: string;
  id?: string;
  mechanism?: string;
  hash?: "sha1" | "sha256" | "sha384" | "sha512";
}

export const WRAP_BODY: Schema = {
  type: "object",
  additionalProperties: false,
  allOf: [needsWrappingKey, needsKey],
  properties: {
    ...wrappingKey,
    key: str("the CKA_LABEL of the key to export", { minLength: 1, maxLength: 1024 }),
    id: hexId,
    mechanism: { type: "string", enum: WRAP_MECHANISMS, description: "default by key type" },
    hash: { type: "string", enum: OAEP_HASHES, description: "RSA-PKCS-OAEP hash (sha256)" },
  },
};

export const WRAP_RESPONSE: Schema = {
  type: "object",
  required: ["mechanism", "wrappingKeyId", "keyId", "keyClass", "keyType", "wrappedBase64"],
  properties: {
    mechanism: { type: "string" },
    wrappingKeyId: { type: "string" },
    wrappingKeyLabel: { type: "string" },
    keyId: { type: "string" },
    keyLabel: { type: "string" },
    keyClass: { type: "string" },
    keyType: { type: "string" },
    wrappedBase64: { type: "string" },
  },
};

export interface UnwrapBody {
  wrappingKey?: string;
  wrappingId?: string;
  wrappedBase64: string;
  keyType: string;
  label: string;
  id?: string;
  usage?: string | string[];
  extractable?: boolean;
  mechanism?: string;
  hash?: "sha1" | "sha256" | "sha384" | "sha512";
  publicKeyPem?: string;
}

const usageList = (description: string): Schema => ({
  description,
  anyOf: [
    { type: "array", items: { type: "string", enum: USAGE_WORDS }, minItems: 1 },
    { type: "string", minLength: 1, maxLength: 256 },
  ],
});

export const UNWRAP_BODY: Schema = {
  type: "object",
  required: ["wrappedBase64", "keyType", "label"],
  additionalProperties: false,
  ...needsWrappingKey,
  properties: {
    ...wrappingKey,
    wrappedBase64: str("the wrapped key, base64", { pattern: BASE64, minLength: 4 }),
    keyType: str("aes, generic, rsa, ec, ed25519", { minLength: 1, maxLength: 64 }),
    label: str("CKA_LABEL of the new key", { minLength: 1, maxLength: 1024 }),
    id: hexId,
    usage: usageList("default: sign; encrypt,decrypt for secret keys"),
    extractable: bool("the new key may be wrapped again"),
    mechanism: { type: "string", enum: WRAP_MECHANISMS, description: "default by key type" },
    hash: { type: "string", enum: OAEP_HASHES, description: "RSA-PKCS-OAEP hash (sha256)" },
    publicKeyPem: str("a private key's public half (PEM), stored beside it", {
      minLength: 1,
      maxLength: 65536,
    }),
  },
};

export const UNWRAP_RESPONSE: Schema = {
  type: "object",
  required: ["mechanism", "label", "id", "keyClass", "keyType", "publicKey"],
  properties: {
    mechanism: { type: "string" },
    label: { type: "string" },
    id: { type: "string" },
    keyClass: { type: "string" },
    keyType: { type: "string" },
    publicKey: { type: "boolean" },
  },
};

export interface DeriveBody {
  key?: string;
  keyId?: string;
  peerPem: string;
  keyType: string;
  label: string;
  id?: string;
  usage?: string | string[];
  mechanism?: "ECDH1-DERIVE" | "ECDH1-COFACTOR-DERIVE";
  kdf?: "null" | "sha1" | "sha256" | "sha384" | "sha512";
  extractable?: boolean;
  sensitive?: boolean;
}

export const DERIVE_BODY: Schema = {
  type: "object",
  required: ["peerPem", "keyType", "label"],
  additionalProperties: false,
  anyOf: [{ required: ["key"] }, { required: ["keyId"] }],
  properties: {
    key: str("the EC private key's CKA_LABEL", { minLength: 1, maxLength: 1024 }),
    keyId: hexId,
    peerPem: str("the peer's public key (PEM)", { minLength: 1, maxLength: 65536 }),
    keyType: str("aes:128|192|256 or generic:<bits>", { minLength: 1, maxLength: 64 }),
    label: str("CKA_LABEL of the new key", { minLength: 1, maxLength: 1024 }),
    id: hexId,
    usage: usageList("default: encrypt,decrypt"),
    mechanism: {
      type: "string",
      enum: ["ECDH1-DERIVE", "ECDH1-COFACTOR-DERIVE"],
      description: "default: ECDH1-DERIVE",
    },
    kdf: {
      type: "string",
      enum: ["null", "sha1", "sha256", "sha384", "sha512"],
      description: "default: null (the raw shared secret)",
    },
    extractable: bool("the new key may be exported"),
    sensitive: bool("CKA_SENSITIVE (default true)"),
  },
};
