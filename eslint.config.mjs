// The pages' JavaScript (edge_agent/web): ESLint's recommended rules for browser ES modules, and
// no innerHTML: the DOM is built with elements and textContent (docs/architecture.md, "Pages").
// The tools live in the venv (scripts/setup.sh), not beside this file: NODE_TOOLS says where.
import { createRequire } from "node:module";
import { resolve } from "node:path";

const require = createRequire(resolve(process.env.NODE_TOOLS ?? ".venv/node", "node_modules") + "/");
const js = require("@eslint/js");
const globals = require("globals");

export default [
  js.configs.recommended,
  {
    files: ["edge_agent/web/**/*.js"],
    languageOptions: {
      ecmaVersion: 2025,
      sourceType: "module",
      globals: globals.browser,
    },
    rules: {
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: "build elements (h() in dom.js) or set textContent" },
        { property: "outerHTML", message: "build elements (h() in dom.js) or set textContent" },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "CallExpression[callee.property.name='insertAdjacentHTML']", message: "build elements instead" },
      ],
      "prefer-const": "error",
      "no-var": "error",
      eqeqeq: "error",
      "max-statements-per-line": ["error", { max: 1 }],
    },
  },
];
