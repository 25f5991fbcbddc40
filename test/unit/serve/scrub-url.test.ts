/** A pin-value in a URL (a PKCS#11 URI in a path or query) never reaches serve's log. */
import { describe, expect, it } from "vitest";
import { scrubUrl } from "../../../src/serve/server.js";

describe("scrubUrl", () => {
  it.each([
    ["/v1/tokens/t/objects/pkcs11:object=a?pin-value=s3cret", "s3cret"],
    ["/v1/tokens/t/objects/pkcs11%3Aobject%3Da%3Fpin-value%3Ds3cret%3Bx", "s3cret"],
    ["/v1/tokens/t/objects?uri=pkcs11%253Aa%253Fpin-value%253Ds%2525cret", "s%2525cret"],
    ["/v1/tokens/t/objects?uri=pkcs11:a?PIN-VALUE=s3cret&type=cert", "s3cret"],
  ])("scrubs %s", (url, secret) => {
    const scrubbed = scrubUrl(url);
    expect(scrubbed).not.toContain(secret);
    expect(scrubbed).toContain("***");
  });

  it("keeps what follows the value and URLs without a PIN", () => {
    expect(scrubUrl("/x?uri=pkcs11:a?pin-value=1234&type=cert")).toBe(
      "/x?uri=pkcs11:a?pin-value=***&type=cert",
    );
    expect(scrubUrl("/v1/tokens/t/objects?label=pin")).toBe("/v1/tokens/t/objects?label=pin");
  });
});
