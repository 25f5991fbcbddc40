/**
 * POST /v1/tokens/{label}/cert: cert, signed on the token, through batch's operation.
 * Self-signed (`subject`), or issued for a request (`csr` and the token key's CA certificate
 * `issuerCert`, both PEM); `import` stores a self-signed certificate next to its key, as
 * `cert --import` does.
 */
import { writesOf } from "../../batch/operation.js";
import { certOperation } from "../../batch/operations/keys.js";
import { defineRoute, warnTo } from "../route.js";
import type { CertBody } from "../schemas.js";
import { CERT_BODY, CERT_RESPONSE, LABEL_PARAMS } from "../schemas.js";

export const certRoutes = [
  defineRoute<CertBody, never, { label: string }>({
    method: "POST",
    url: "/v1/tokens/:label/cert",
    operationId: "createCertificate",
    summary:
      "An X.509 certificate signed by a token key (self-signed, or issued for a CSR), as tsp11 cert --json",
    tag: "keys",
    status: 200,
    pin: true,
    params: LABEL_PARAMS,
    body: CERT_BODY,
    response: CERT_RESPONSE,
    async handler({ body, params, pin, log }, { tokens }) {
      // Selector, DN, SANs, the request and its signature: checked before the token is touched.
      const run = await certOperation.prepare(body);
      return tokens.withToken(
        params.label,
        pin,
        "required",
        ({ scope, authenticated }) => run({ scope, authenticated, warn: warnTo(log).warn }),
        { writes: writesOf(certOperation, body) },
      );
    },
  }),
];
