/** POST /v1/tokens/{label}/csr: req (the signature is made on the token). */
import { keySelectorOf } from "../../core/find-key.js";
import { prepareReq, runReq } from "../../core/req.js";
import { parseHexId } from "../../options.js";
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
      const selector = keySelectorOf(
        body.key,
        body.id === undefined ? undefined : parseHexId(body.id),
        undefined,
      );
      const prepared = prepareReq({
        subject: body.subject,
        san: body.san,
        hash: body.hash,
        pss: body.pss === true,
      });
      return tokens.withToken(params.label, pin, "required", async ({ scope }) => {
        const outcome = await runReq(scope, selector, prepared, warnTo(log));
        return outcome.result;
      });
    },
  }),
];
