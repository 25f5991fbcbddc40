import js from "@eslint/js";
import tseslint from "typescript-eslint";

const PKCS11JS = { name: "pkcs11js", message: "import it through src/pkcs11/lib.ts" };
const CHALK = { name: "chalk", message: "colour is decided once, in src/output/io.ts" };

function restrictImports(files, ignores, paths) {
  return { files, ignores, rules: { "no-restricted-imports": ["error", { paths }] } };
}

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-extraneous-class": "off",
    },
  },
  // Chokepoints: pkcs11js only behind src/pkcs11/lib.ts, chalk only in src/output/io.ts.
  restrictImports(["src/**/*.ts"], ["src/pkcs11/lib.ts", "src/output/io.ts"], [PKCS11JS, CHALK]),
  restrictImports(["src/output/io.ts"], [], [PKCS11JS]),
  restrictImports(["src/pkcs11/lib.ts"], [], [CHALK]),
  {
    files: ["src/**/*.ts"],
    ignores: ["src/run.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "process", property: "exit", message: "only src/run.ts exits" },
      ],
      "no-console": "error",
    },
  },
  {
    // Scripts (build, bench, CI helpers) run on Node: its globals are theirs.
    files: ["**/*.js", "**/*.mjs", "bin/*"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { process: "readonly", console: "readonly", URL: "readonly", Buffer: "readonly" },
    },
  },
);
