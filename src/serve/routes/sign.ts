/**
 * POST /v1/tokens/{label}/sign: sign, through the core's plan and signBytes (RSA's C_Sign on
 * the thread pool; ECDSA and EdDSA, quicker than the trip there, on the event loop).
 */
import { prepareSign, signWith } from "../../batch/operations.js";
import type { TokenKey } from "../../core/find-key.js";
import { findSigningKey } from "../../core/find-key.js";
import { TspError } from "../../errors.js";
import { defineRoute, hex } from "../route.js";
import type { SignBody } from "../schemas.js";
import { LABEL_PARAMS, SIGN_BODY, SIGN_RESPONSE } from "../schemas.js";

export type { SignResult } from "../../batch/operations.js";

const STALE_HANDLE = ["CKR_OBJECT_HANDLE_INVALID", "CKR_KEY_HANDLE_INVALID"];

function isCkrOf(error: unknown, names: string[]): boolean {
  return error instanceof TspError && error.ckr !== undefined && names.includes(error.ckr);
}

export const signRoutes = [
  defineRoute<SignBody, never, { label: string }>({
    method: "POST",
    url: "/v1/tokens/:label/sign",
    operationId: "sign",
    summary: "Sign data with a token key, as tsp11 sign --json",
    tag: "keys",
    status: 200,
    pin: true,
    params: LABEL_PARAMS,
    body: SIGN_BODY,
    response: SIGN_RESPONSE,
    async handler({ body, params, pin }, { tokens }) {
      const prepared = prepareSign(body);
      const { label, id } = prepared.selector;
      const known = `${label ?? ""}\u0000${id ? hex(id) : ""}`;
      return tokens.withToken(params.label, pin, "required", async ({ scope, keys }) => {
        const { session } = scope;
        const find = (): TokenKey => {
          const key = findSigningKey(session, prepared.selector);
          keys.set(known, key);
          return key;
        };
        // Keys found earlier on this token are reused (a search costs SoftHSM a pass).
        const cached = keys.get(known);
        try {
          return await signWith(session, cached ?? find(), prepared);
        } catch (error) {
          // A key found earlier and destroyed since (by another program): look again, once.
          if (!cached || !isCkrOf(error, STALE_HANDLE)) throw error;
          keys.delete(known);
          return await signWith(session, find(), prepared);
        }
      });
    },
  }),
];
