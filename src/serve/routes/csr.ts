/** POST /v1/tokens/{label}/csr: req (the signature is made on the token). */
import { reqOperation } from "../../batch/operations.js";
import { defineRoute, warnTo } from "../route.js";
import type { CsrBody } from "../schemas.js";
import { CSR_BODY, CSR_RESPONSE, LABEL_PARAMS } from "../schemas.js";

export const csrRoutes = [
  defineRoute<CsrBody, never, { label: string }>({
    method: "POST",
    url: "/v1/tokens/:label/csr",
    operationId: "createCsr",
    summary: "A PKCS#10 request signed by a token key, as tsp11 req --json",
    tag: "keys",
    status: 200,
    pin: true,
    params: LABEL_PARAMS,
    body: CSR_BODY,
    response: CSR_RESPONSE,
    async handler({ body, params, pin, log }, { tokens }) {
      // Key selector, DN and SANs are checked before the token is touched (400).
      const run = await reqOperation.prepare(body);
      return tokens.withToken(params.label, pin, "required", ({ scope }) =>
        run({ scope, authenticated: true, warn: warnTo(log).warn }),
      );
    },
  }),
];
