// ESLint (flat config) for the web UI: TypeScript's recommended rules with type
// information, and the React hooks rules (Preact's hooks follow the same rules):
// rules-of-hooks and exhaustive-deps are errors, so `npm run lint` (and `make test`,
// through the CTest entry ui_lint) fails on a hook called conditionally or an effect
// that reads a value it does not list.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig([
  globalIgnores(['dist/', 'node_modules/', 'src/openapi.d.ts']),
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked, reactHooks.configs.flat.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      // useResource takes its loader and the values the loader reads, like useEffect.
      'react-hooks/exhaustive-deps': ['error', { additionalHooks: '^useResource$' }],
    },
  },
]);
