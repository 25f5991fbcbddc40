/**
 * POST /v1/tokens/{label}/cert: cert, signed on the token. Self-signed (`subject`), or issued
 * for a request (`csr` and the token key's CA certificate `issuerCert`, both PEM); `import`
 * stores a self-signed certificate next to its key, as `cert --import` does.
 */
import { prepareCert, runCert } from "../../core/cert.js";
import { keySelectorOf } from "../../core/find-key.js";
import { prepareObject, runWriteObject } from "../../core/write-object.js";
import { TspError } from "../../errors.js";
import { parseHexId } from "../../options.js";
import { defineRoute, warnTo } from "../route.js";
import type { CertBody } from "../schemas.js";
import { CERT_BODY, CERT_RESPONSE, LABEL_PARAMS } from "../schemas.js";

const pemBytes = (text: string | undefined): Uint8Array | undefined =>
  text === undefined ? undefined : new Uint8Array(Buffer.from(text, "utf8"));

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
      if (body.import === true && body.csr !== undefined) {
        throw new TspError(
          "usage",
          "cert: import stores a self-signed certificate; an issued one belongs to the requester",
        );
      }
      // Selector, DN, SANs, the request and its signature: checked before the token is touched.
      const selector = keySelectorOf(
        body.key,
        body.id === undefined ? undefined : parseHexId(body.id),
        undefined,
      );
      const prepared = prepareCert({
        subject: body.subject,
        san: body.san,
        csr: pemBytes(body.csr),
        issuerCert: pemBytes(body.issuerCert),
        days: body.days ?? 365,
        serial: body.setSerial === undefined ? undefined : parseHexId(body.setSerial),
        ca: body.ca === true,
        hash: body.hash,
        pss: body.pss === true,
      });
      const hooks = warnTo(log);
      return tokens.withToken(
        params.label,
        pin,
        "required",
        async ({ scope }) => {
          const made = await runCert(scope, selector, prepared, hooks);
          if (body.import === true) {
            await runWriteObject(
              scope,
              prepareObject("cert", made.der),
              { force: false, private: false },
              hooks,
            );
          }
          return made.result;
        },
        { writes: body.import === true },
      );
    },
  }),
];
