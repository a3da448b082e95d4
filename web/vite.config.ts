import { defineConfig } from 'vite';

// The server (stepwell serve) serves dist/: /assets/* with a one-year immutable cache
// (file names carry a content hash), any other path answers index.html for deep links.
export default defineConfig({
  base: '/',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    // The CSP allows no inline script, so the module preload polyfill must not be inlined.
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
  // `npm run dev` serves the sources and sends API calls to a local `make run`.
  server: {
    proxy: { '/api': 'http://127.0.0.1:8420' },
  },
});
