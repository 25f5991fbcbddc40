/**
 * POST /v1/tokens/{label}/pin: change-pin. The user changes their PIN (the current one in
 * X-PKCS11-PIN, the new one in the body); with `soPin` the SO sets a new user PIN (a
 * forgotten or locked one), with `soPin` and `so` the SO changes the SO PIN. PINs are never
 * logged.
 *
 * Alone on the module, as init-token: an SO login excludes every user session's, and after a
 * change the login in force would hold the old PIN (requests with the new one refused). So
 * every login of the server ends first, and the change runs on a session of its own.
 */
import type { PinAction } from "../../core/change-pin.js";
import { runChangePin } from "../../core/change-pin.js";
import { TspError } from "../../errors.js";
import { Pin } from "../../pin.js";
import type { Pkcs11Module } from "../../pkcs11/module.js";
import { selectToken } from "../../pkcs11/select.js";
import { TokenSession } from "../../pkcs11/session.js";
import { TokenScope } from "../../pkcs11/token.js";
import { defineRoute } from "../route.js";
import type { ChangePinBody } from "../schemas.js";
import { CHANGE_PIN_BODY, CHANGE_PIN_RESPONSE, LABEL_PARAMS } from "../schemas.js";
import { tokenSelectorOf } from "../tokens.js";

function actionOf(body: ChangePinBody): PinAction {
  if (body.so === true && body.soPin === undefined) {
    throw new TspError("usage", "change-pin: so needs the current SO PIN in soPin");
  }
  if (body.soPin === undefined) return "change-user";
  return body.so === true ? "change-so" : "reset-user";
}

function changePin(
  module: Pkcs11Module,
  label: string,
  action: PinAction,
  current: Pin,
  newPin: Pin,
): ReturnType<typeof runChangePin> {
  const slot = selectToken(module, tokenSelectorOf(label));
  // C_SetPIN and C_InitPIN need a logged-in read/write session; disposing it logs out.
  using session = TokenSession.open(module.lib, slot.handle, true, module.trace);
  // The scope is not disposed: it would take the server's module along.
  const scope = new TokenScope(module, slot, session);
  const asSo = action !== "change-user";
  session.login(
    current,
    asSo ? "so" : "user",
    `log in to token "${scope.token.label}"${asSo ? " as SO" : ""}`,
  );
  return runChangePin(scope, action, current, newPin);
}

export const pinRoutes = [
  defineRoute<ChangePinBody, never, { label: string }>({
    method: "POST",
    url: "/v1/tokens/:label/pin",
    operationId: "changePin",
    summary:
      "Change the user PIN (X-PKCS11-PIN: the current one), or with soPin reset it (or with so change the SO PIN), as tsp11 change-pin --json",
    tag: "tokens",
    status: 200,
    pin: true,
    params: LABEL_PARAMS,
    body: CHANGE_PIN_BODY,
    response: CHANGE_PIN_RESPONSE,
    async handler({ body, params, pin }, { tokens }) {
      const action = actionOf(body);
      const current = action === "change-user" ? pin : new Pin(body.soPin ?? "");
      if (!current) {
        throw new TspError(
          "auth",
          "change-pin: the current user PIN is needed (send it in the X-PKCS11-PIN header)",
        );
      }
      const newPin = new Pin(body.newPin);
      return tokens.exclusive((module) => changePin(module, params.label, action, current, newPin));
    },
  }),
];
