import { describe, expect, it } from "vitest";
import { TspError } from "../../../src/errors.js";
import type { LibraryFacts, TokenFacts } from "../../../src/pkcs11/uri.js";
import {
  agreeing,
  formatPkcs11Uri,
  libraryMismatch,
  namesObject,
  namesToken,
  parsePkcs11Uri,
  tokenMatches,
} from "../../../src/pkcs11/uri.js";
import { pinSourcePath } from "../../../src/context.js";

const token = {
  label: "demo token",
  manufacturer: "SoftHSM project",
  model: "SoftHSM v2",
  serial: "9bf6c5dca8b9a6e8",
};

describe("formatPkcs11Uri", () => {
  it("prints a token's URI with percent-encoding", () => {
    expect(formatPkcs11Uri(token)).toBe(
      "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=9bf6c5dca8b9a6e8;token=demo%20token",
    );
  });

  it("adds id (always percent-encoded), object and type", () => {
    const uri = formatPkcs11Uri(token, {
      label: "key;1/é",
      id: Uint8Array.from([0x00, 0x01, 0xab]),
      type: "private",
    });
    expect(uri).toMatch(/;id=%00%01%ab;object=key%3b1%2f%c3%a9;type=private$/);
  });

  it("names an object's empty id and label, so its URI selects only that object", () => {
    const uri = formatPkcs11Uri(token, { label: "", id: new Uint8Array(0), type: "public" });
    expect(uri).toMatch(/;token=demo%20token;id=;object=;type=public$/);
    expect(parsePkcs11Uri(uri)).toMatchObject({
      object: "",
      id: new Uint8Array(0),
      type: "public",
    });
  });

  it("prints no id for a data object (data objects have no CKA_ID)", () => {
    const uri = formatPkcs11Uri(token, { label: "notes", id: new Uint8Array(0), type: "data" });
    expect(uri).toMatch(/;token=demo%20token;object=notes;type=data$/);
  });

  it("leaves out a key pair's empty fields (no type: the pair, not one object)", () => {
    expect(formatPkcs11Uri(token, { label: "", id: new Uint8Array(0) })).not.toMatch(/id=|object=/);
  });

  it("leaves out empty fields", () => {
    expect(formatPkcs11Uri({ ...token, serial: "", label: "" })).toBe(
      "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project",
    );
  });
});

describe("parsePkcs11Uri", () => {
  it("round-trips what formatPkcs11Uri prints", () => {
    const id = Uint8Array.from([0x0a, 0xff]);
    const parsed = parsePkcs11Uri(formatPkcs11Uri(token, { label: "a;b=c", id, type: "cert" }));
    expect(parsed).toMatchObject({
      token: "demo token",
      manufacturer: "SoftHSM project",
      model: "SoftHSM v2",
      serial: "9bf6c5dca8b9a6e8",
      object: "a;b=c",
      type: "cert",
    });
    expect(Buffer.from(parsed.id ?? []).toString("hex")).toBe("0aff");
  });

  it("reads query attributes and slot-id", () => {
    const parsed = parsePkcs11Uri(
      "pkcs11:token=t;slot-id=17;object=k?pin-value=1234&module-path=/usr/lib/x.so",
    );
    expect(parsed).toMatchObject({
      token: "t",
      slotId: 17,
      object: "k",
      pinValue: "1234",
      modulePath: "/usr/lib/x.so",
    });
  });

  it("takes literal id bytes and ignores unknown query attributes", () => {
    const parsed = parsePkcs11Uri("pkcs11:id=A?x-vendor=1");
    expect(Buffer.from(parsed.id ?? []).toString("hex")).toBe("41");
  });

  it("refuses an unknown path attribute: ignoring it would select more than the URI names", () => {
    expect(() => parsePkcs11Uri("pkcs11:object=k;x-vendor=1")).toThrow(
      /unknown attribute "x-vendor"/,
    );
    expect(() => parsePkcs11Uri("pkcs11:objet=k")).toThrow(/unknown attribute "objet"/);
  });

  it("reads empty id= and object= as the empty id and label (not as absent)", () => {
    const parsed = parsePkcs11Uri("pkcs11:id=;object=");
    expect(parsed.object).toBe("");
    expect(parsed.id).toEqual(new Uint8Array(0));
  });

  it("decodes literal characters outside the BMP whole", () => {
    expect(parsePkcs11Uri("pkcs11:object=k\u{1F511}").object).toBe("k\u{1F511}");
  });

  it("reads pin-source, module-name, the library attributes and the type alias", () => {
    expect(
      parsePkcs11Uri(
        "pkcs11:library-manufacturer=SoftHSM;library-description=Implementation%20of%20PKCS11;library-version=2.6;object-type=cert?pin-source=file:/run/pin&module-name=softhsm2",
      ),
    ).toEqual({
      libraryManufacturer: "SoftHSM",
      libraryDescription: "Implementation of PKCS11",
      libraryVersion: "2.6",
      type: "cert",
      pinSource: "file:/run/pin",
      moduleName: "softhsm2",
    });
  });

  it.each([
    ["token=x", /must start with "pkcs11:"/],
    ["pkcs11:token", /is not name=value/],
    ["pkcs11:id=%zz", /bad percent-encoding/],
    ["pkcs11:slot-id=x", /slot-id must be a decimal/],
    ["pkcs11:type=key", /type must be one of/],
    ["pkcs11:object=a;object=b", /object is given twice/],
    ["pkcs11:type=cert;object-type=cert", /object-type is given twice/],
    ["pkcs11:token=a?pin-value=1&pin-value=2", /pin-value is given twice/],
    [
      "pkcs11:token=a?pin-value=1&pin-source=/p",
      /pin-value and pin-source cannot be used together/,
    ],
    ["pkcs11:library-version=2.x", /library-version must be M or M.N/],
  ])("refuses %s", (input, why) => {
    expect(() => parsePkcs11Uri(input)).toThrow(TspError);
    expect(() => parsePkcs11Uri(input)).toThrow(why);
  });
});

const slot: TokenFacts = {
  slotId: 0x2a,
  slotDescription: "SoftHSM slot ID 0x2a",
  slotManufacturer: "SoftHSM project",
  token,
};

describe("tokenMatches", () => {
  it("matches when every token attribute the URI gives matches", () => {
    expect(tokenMatches(parsePkcs11Uri(formatPkcs11Uri(token)), slot)).toBe(true);
    expect(
      tokenMatches(
        parsePkcs11Uri(
          "pkcs11:slot-id=42;slot-description=SoftHSM%20slot%20ID%200x2a;slot-manufacturer=SoftHSM%20project",
        ),
        slot,
      ),
    ).toBe(true);
    expect(tokenMatches(parsePkcs11Uri("pkcs11:object=k;type=cert"), slot)).toBe(true);
  });

  it.each([
    "pkcs11:token=demo",
    "pkcs11:token=demo%20token;serial=0000",
    "pkcs11:model=SoftHSM%20v2;manufacturer=Other",
    "pkcs11:slot-id=43",
    "pkcs11:slot-description=x",
    "pkcs11:slot-manufacturer=x",
  ])("does not match when one attribute differs: %s", (text) => {
    expect(tokenMatches(parsePkcs11Uri(text), slot)).toBe(false);
  });

  it("matches no token attribute on a slot without a token", () => {
    expect(
      tokenMatches(parsePkcs11Uri("pkcs11:token=demo%20token"), { ...slot, token: undefined }),
    ).toBe(false);
    expect(tokenMatches(parsePkcs11Uri("pkcs11:slot-id=42"), { ...slot, token: undefined })).toBe(
      true,
    );
  });

  it("tells token attributes from object ones", () => {
    expect(namesToken(parsePkcs11Uri("pkcs11:slot-id=1"))).toBe(true);
    expect(namesToken(parsePkcs11Uri("pkcs11:object=a;library-version=1"))).toBe(false);
    expect(namesObject(parsePkcs11Uri("pkcs11:type=cert"))).toBe(true);
    expect(namesObject(parsePkcs11Uri("pkcs11:token=t"))).toBe(false);
  });
});

describe("libraryMismatch", () => {
  const library: LibraryFacts = {
    manufacturer: "SoftHSM",
    description: "Implementation of PKCS11",
    version: { major: 2, minor: 6 },
  };

  it("accepts the module the library attributes name", () => {
    const uri = parsePkcs11Uri(
      "pkcs11:library-manufacturer=SoftHSM;library-description=Implementation%20of%20PKCS11;library-version=2.6",
    );
    expect(libraryMismatch(uri, library)).toBeUndefined();
    expect(libraryMismatch(parsePkcs11Uri("pkcs11:token=x"), library)).toBeUndefined();
  });

  it.each([
    ["pkcs11:library-manufacturer=OpenSC", /library-manufacturer is "SoftHSM", not "OpenSC"/],
    ["pkcs11:library-description=x", /library-description/],
    ["pkcs11:library-version=2.5", /library-version is 2.6, not 2.5/],
    ["pkcs11:library-version=2", /library-version is 2.6, not 2$/],
  ])("names the attribute that differs: %s", (text, why) => {
    expect(libraryMismatch(parsePkcs11Uri(text), library)).toMatch(why);
  });

  it("reads library-version=M as M.0", () => {
    const v2 = { ...library, version: { major: 2, minor: 0 } };
    expect(libraryMismatch(parsePkcs11Uri("pkcs11:library-version=2"), v2)).toBeUndefined();
  });
});

describe("agreeing", () => {
  it("takes either alone, or both when they are the same", () => {
    expect(agreeing("--label", "a", "object", undefined)).toBe("a");
    expect(agreeing("--label", undefined, "object", "b")).toBe("b");
    expect(agreeing("--label", "a", "object", "a")).toBe("a");
    const id = Uint8Array.from([1, 2]);
    expect(agreeing("--id", id, "id", Uint8Array.from([1, 2]))).toBe(id);
  });

  it("refuses different values with exit 2, naming both", () => {
    expect(() => agreeing("--label", "a", "object", "b")).toThrow(
      /conflicting selectors: --label "a" and the URI's object="b"/,
    );
    expect(() => agreeing("--id", Uint8Array.from([1]), "id", Uint8Array.from([2]))).toThrow(
      /--id 01 and the URI's id=02/,
    );
    try {
      agreeing("--slot", 1, "slot-id", 2);
    } catch (error) {
      expect((error as TspError).kind).toBe("usage");
    }
  });
});

describe("pinSourcePath", () => {
  it.each([
    ["/run/pin", "/run/pin"],
    ["pin.txt", "pin.txt"],
    ["file:/run/pin", "/run/pin"],
    ["file:///run/pin", "/run/pin"],
    ["file://localhost/run/pin", "/run/pin"],
  ])("reads %s as the file %s", (source, path) => {
    expect(pinSourcePath(source)).toBe(path);
  });

  it.each(["|/bin/pin-helper", "https://example.com/pin"])("refuses %s", (source) => {
    expect(() => pinSourcePath(source)).toThrow(/pin-source must be a file/);
  });
});
