import { describe, it, expect } from "vitest";
import {
  Name,
  RelativeDistinguishedName,
  AttributeTypeAndValue,
  AttributeValue,
} from "@peculiar/asn1-x509";
import { formatDn, formatDnOpenssl, nameToDer, parseDn } from "../../../src/asn1/dn.js";
import { fromHex, toHex } from "../../../src/asn1/bytes.js";
import { TspError } from "../../../src/errors.js";

const derHex = (text: string): string => toHex(nameToDer(parseDn(text)));

/**
 * Golden subjects. Each hex was produced once by OpenSSL 3.0 and frozen:
 *   openssl req -new -key k.pem -utf8 -subj '<openssl form>' -outform DER
 * with the subject Name cut out of the CertificationRequestInfo (default openssl.cnf,
 * string_mask = utf8only). The RFC 4514 column is the same name written most specific first.
 */
const GOLDEN: [openssl: string, rfc4514: string, hex: string][] = [
  [
    "/C=US/O=b+OU=c/CN=a",
    "CN=a,O=b+OU=c,C=US",
    "302f310b300906035504061302555331143008060355040a0c01623008060355040b0c0163310a300806035504030c0161",
  ],
  // OpenSSL sorts the members of a multi-valued RDN (DER SET OF order).
  ["/OU=c+O=b", "OU=c+O=b", "301631143008060355040a0c01623008060355040b0c0163"],
  ["/CN=Zoë", "CN=Zoë", "300f310d300b06035504030c045a6fc3ab"],
  [
    "/CN=Zoë\\/Ünïcødé 😀",
    "CN=Zoë/Ünïcødé 😀",
    "3020311e301c06035504030c155a6fc3ab2fc39c6ec3af63c3b864c3a920f09f9880",
  ],
  [
    "/emailAddress=a@b.c/CN=x",
    "CN=x,emailAddress=a@b.c",
    "30223114301206092a864886f70d01090116056140622e63310a300806035504030c0178",
  ],
  [
    "/DC=com/DC=example/CN=www",
    "CN=www,DC=example,DC=com",
    "303c31133011060a0992268993f22c6401191603636f6d31173015060a0992268993f22c64011916076578616d706c65310c300a06035504030c03777777",
  ],
  [
    "/O=a\\/b\\+c\\,d/CN=x\\\\y",
    "CN=x\\\\y,O=a/b\\+c\\,d",
    "30203110300e060355040a0c07612f622b632c64310c300a06035504030c03785c79",
  ],
  [
    '/title=a\\,b;c<d>e"f#g',
    'title=a\\,b\\;c\\<d\\>e\\"f#g',
    "301831163014060355040c0c0d612c623b633c643e6522662367",
  ],
  ["/2.5.4.3=oid", "2.5.4.3=oid", "300e310c300a06035504030c036f6964"],
  [
    "/2.5.4.6=US/2.5.4.5=12/1.2.840.113549.1.9.1=a@b",
    "emailAddress=a@b,serialNumber=12,C=US",
    "302e310b3009060355040613025553310b30090603550405130231323112301006092a864886f70d0109011603614062",
  ],
  // OpenSSL keeps spaces in -subj values; RFC 4514 needs them escaped.
  ["/CN= a /O=b", "O=b,CN=\\ a\\ ", "301a310c300a06035504030c03206120310a3008060355040a0c0162"],
  ["/CN=a=b", "CN=a=b", "300e310c300a06035504030c03613d62"],
  [
    "/UID=u+CN=c+O=o",
    "UID=u+O=o+CN=c",
    "30273125300806035504030c01633008060355040a0c016f300f060a0992268993f22c6401010c0175",
  ],
  [
    "/C=DE/ST=Bayern/L=München/street=Hauptstr. 1/postalCode=80331/O=Beispiel GmbH/OU=IT/title=Dr/GN=Zoë/SN=Müller/initials=ZM/pseudonym=zm/generationQualifier=Jr/dnQualifier=q1/serialNumber=12345/name=nm/description=desc/businessCategory=bc/UID=zoe/emailAddress=z@x.de/CN=Zoë Müller",
    "CN=Zoë Müller,emailAddress=z@x.de,UID=zoe,businessCategory=bc,description=desc,name=nm,serialNumber=12345,dnQualifier=q1,generationQualifier=Jr,pseudonym=zm,initials=ZM,SN=Müller,GN=Zoë,title=Dr,OU=IT,O=Beispiel GmbH,postalCode=80331,STREET=Hauptstr. 1,L=München,ST=Bayern,C=DE",
    "3082015a310b3009060355040613024445310f300d06035504080c0642617965726e3111300f06035504070c084dc3bc6e6368656e3114301206035504090c0b48617570747374722e2031310e300c06035504110c05383033333131163014060355040a0c0d426569737069656c20476d6248310b3009060355040b0c024954310b3009060355040c0c024472310d300b060355042a0c045a6fc3ab3110300e06035504040c074dc3bc6c6c6572310b3009060355042b0c025a4d310b300906035504410c027a6d310b3009060355042c0c024a72310b3009060355042e13027131310e300c060355040513053132333435310b300906035504290c026e6d310d300b060355040d0c0464657363310b3009060355040f0c02626331133011060a0992268993f22c6401010c037a6f653115301306092a864886f70d01090116067a40782e64653115301306035504030c0c5a6fc3ab204dc3bc6c6c6572",
  ],
  [
    "/telephoneNumber=1/role=r/organizationIdentifier=o/postOfficeBox=p/jurisdictionC=US/jurisdictionST=x/jurisdictionL=y/unstructuredName=u/mail=m@x/surname=x/givenName=g/streetAddress=s/commonName=c/countryName=US/stateOrProvinceName=s/localityName=l/organizationName=o/organizationalUnitName=u/userId=u/domainComponent=d",
    "DC=d,UID=u,OU=u,O=o,L=l,ST=s,C=US,CN=c,STREET=s,GN=g,SN=x,mail=m@x,unstructuredName=u,jurisdictionL=y,jurisdictionST=x,jurisdictionC=US,postOfficeBox=p,organizationIdentifier=o,role=r,telephoneNumber=1",
    "30820127310a300806035504140c0131310a300806035504480c0172310a300806035504610c016f310a300806035504120c017031133011060b2b0601040182373c0201031302555331123010060b2b0601040182373c0201020c017831123010060b2b0601040182373c0201010c01793110300e06092a864886f70d0109020c017531133011060a0992268993f22c64010316036d4078310a300806035504040c0178310a3008060355042a0c0167310a300806035504090c0173310a300806035504030c0163310b3009060355040613025553310a300806035504080c0173310a300806035504070c016c310a3008060355040a0c016f310a3008060355040b0c01753111300f060a0992268993f22c6401010c01753111300f060a0992268993f22c640119160164",
  ],
];

describe("parseDn golden DER (checked against openssl req -subj)", () => {
  it.each(GOLDEN)("%s", (openssl, rfc4514, hex) => {
    expect(derHex(openssl)).toBe(hex);
    expect(derHex(rfc4514)).toBe(hex);
  });
});

describe("parseDn beyond what openssl -subj takes", () => {
  it("encodes an unknown dotted OID as UTF8String", () => {
    // OpenSSL's -subj drops 1.2.3.4 ("Skipping unknown attribute"); this is
    // SEQ { SET { SEQ { OID 1.2.3.4, UTF8String "custom" } } }, checked with openssl asn1parse.
    expect(derHex("/1.2.3.4=custom")).toBe("3011310f300d06032a03040c06637573746f6d");
    expect(derHex("1.2.3.4=custom")).toBe("3011310f300d06032a03040c06637573746f6d");
  });

  it("reads attribute names case-insensitively (OpenSSL itself would skip 'cn')", () => {
    expect(derHex("/cn=x/EMAILADDRESS=a@b")).toBe(derHex("/CN=x/emailAddress=a@b"));
    expect(derHex("street=s,c=us")).toBe(derHex("/C=us/street=s"));
  });

  it("decodes \\XX hex escapes as UTF-8 bytes in both syntaxes", () => {
    expect(derHex("/CN=a\\2Cb")).toBe(derHex("/CN=a\\,b"));
    expect(derHex("CN=Zo\\C3\\AB")).toBe(derHex("/CN=Zoë"));
    expect(derHex("CN=\\23x")).toBe(derHex("/CN=#x"));
  });

  it("trims unescaped spaces around RFC 4514 types and values, keeps inner ones", () => {
    expect(derHex(" CN = a b , O = x ")).toBe(derHex("/O=x/CN=a b"));
  });

  it("accepts a trailing slash in OpenSSL form, as openssl does", () => {
    expect(derHex("/CN=a/")).toBe(derHex("/CN=a"));
  });

  it("keeps a literal '#' that is not leading in RFC 4514", () => {
    expect(derHex("CN=a#b")).toBe(derHex("/CN=a#b"));
  });
});

const ERRORS: [input: string, position: number, why: string][] = [
  ["", 1, "empty DN"],
  ["   ", 1, "empty DN"],
  ["/", 1, "empty DN"],
  ["/CN", 2, "missing '=' after 'CN'"],
  ["CN=a,O", 6, "missing '=' after 'O'"],
  ["/CN=a+b", 7, "missing '=' after 'b'"],
  ["/=x", 2, "empty attribute type"],
  ["CN=a, =b", 7, "empty attribute type"],
  ["/CN=a/XX=b", 7, "unknown attribute type 'XX'"],
  ["CN=a, bogus=b", 7, "unknown attribute type 'bogus'"],
  ["/CN=a\\", 6, "trailing backslash"],
  ["/CN=a\\2G", 6, "bad hex escape '\\2G'"],
  ["CN=a\\4", 5, "bad hex escape '\\4'"],
  ["CN=a\\x", 5, "invalid escape '\\x'"],
  ["/CN=\\C3", 5, "hex escapes are not valid UTF-8"],
  ["/C=USA", 4, "C must be a two-letter country code, not 'USA'"],
  ["C=U1", 3, "C must be a two-letter country code"],
  ["/CN=a//O=b", 7, "expected an attribute type=value"],
  ["CN=a,", 6, "expected an attribute type=value"],
  ["/CN=a+", 7, "expected an attribute type=value"],
  ["CN=#0403", 4, "#hex (BER) values are not supported"],
  ['CN=a"b', 5, "'\"' must be escaped"],
  ["CN=a;O=b", 5, "';' must be escaped"],
  ["/CN=", 5, "empty value for CN"],
  ["O=x, CN=  ", 9, "empty value for CN"],
  ["/serialNumber=a_b", 15, "serialNumber allows only A-Z a-z 0-9"],
  ["/emailAddress=zoë@x", 15, "emailAddress must be ASCII (IA5String)"],
];

describe("parseDn errors", () => {
  it.each(ERRORS)("%j -> position %i", (input, position, why) => {
    let caught: unknown;
    try {
      parseDn(input);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TspError);
    const err = caught as TspError;
    expect(err.kind).toBe("usage");
    expect(err.message).toContain(`invalid DN at position ${position}: ${why}`);
    expect(err.message).not.toContain("\n");
  });
});

describe("formatDn (RFC 4514)", () => {
  // Expected strings are `openssl req -noout -subject -nameopt RFC2253,-esc_msb` output for
  // the same -subj, except that OpenSSL prints streetAddress as "street" (RFC 4514: STREET).
  const PRINTED: [openssl: string, printed: string][] = [
    ["/C=US/O=b+OU=c/CN=a", "CN=a,OU=c+O=b,C=US"],
    ["/UID=u+CN=c+O=o", "UID=u+O=o+CN=c"],
    ['/O=a\\/b\\+c\\,d/CN=x\\\\y;<>"#', 'CN=x\\\\y\\;\\<\\>\\"#,O=a/b\\+c\\,d'],
    [
      "/CN= lead#/CN=#x/emailAddress=a@b/DC=x/serialNumber=5/2.5.4.46=q/street=s/GN=g/SN=s/title=t/initials=i/pseudonym=p/postalCode=1/businessCategory=b/name=n/description=d/generationQualifier=g/ST=st/L=l",
      "L=l,ST=st,generationQualifier=g,description=d,name=n,businessCategory=b,postalCode=1,pseudonym=p,initials=i,title=t,SN=s,GN=g,STREET=s,dnQualifier=q,serialNumber=5,DC=x,emailAddress=a@b,CN=\\#x,CN=\\ lead#",
    ],
    ["/CN=Zoë", "CN=Zoë"],
    ["/CN=a\\0Ab", "CN=a\\0Ab"],
    ["/1.2.3.4=x", "1.2.3.4=x"],
  ];

  it.each(PRINTED)("%s", (openssl, printed) => {
    expect(formatDn(parseDn(openssl))).toBe(printed);
    expect(formatDn(nameToDer(parseDn(openssl)))).toBe(printed);
  });

  it("prints a value that is not a string as #hex of its DER", () => {
    const numeric = fromHex("1203313233"); // NumericString "123"
    const name = new Name([
      new RelativeDistinguishedName([
        new AttributeTypeAndValue({
          type: "1.2.3.4",
          value: new AttributeValue({ anyValue: numeric.slice().buffer }),
        }),
      ]),
    ]);
    expect(formatDn(nameToDer(name))).toBe("1.2.3.4=#1203313233");
  });

  it("rejects DER that is not a Name", () => {
    expect(() => formatDn(fromHex("0403010203"))).toThrow(TspError);
  });
});

describe("round trips", () => {
  const NAMES = [...GOLDEN.map((g) => g[0]), "/CN=a\\0Ab/O=\\ x", "/CN=#lead/O=trail "];

  it.each(NAMES)("%s", (text) => {
    const der = derHex(text);
    expect(derHex(formatDn(parseDn(text)))).toBe(der);
    expect(derHex(formatDnOpenssl(parseDn(text)))).toBe(der);
  });

  it("formatDnOpenssl writes encoding order (RDN members in DER SET OF order)", () => {
    // The OU member encodes shorter than the O member, so DER puts it first.
    expect(formatDnOpenssl(parseDn("CN=a,O=Example+OU=x/y,C=US"))).toBe(
      "/C=US/OU=x\\/y+O=Example/CN=a",
    );
  });
});
