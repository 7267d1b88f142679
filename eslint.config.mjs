// The pages' JavaScript (edge_agent/web): ESLint's recommended rules for browser ES modules, and
// no innerHTML: the DOM is built with elements and textContent (docs/architecture.md, "Pages").
import js from "@eslint/js";
import globals from "globals";

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
