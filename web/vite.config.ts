import { defineConfig } from 'vite';

// The Kontor server serves web/dist at `/` (with an index.html fallback). During
// development the Vite dev server proxies the API to a server on port 8080.
const api = 'http://127.0.0.1:8080';

export default defineConfig({
  // JSX for Preact. Vite 8 transforms TypeScript/JSX with Oxc (it has no esbuild);
  // this is the equivalent of `esbuild: { jsx: 'automatic', jsxImportSource: 'preact' }`.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    proxy: {
      '/v1': { target: api },
      '/healthz': { target: api },
      '/readyz': { target: api },
    },
  },
});
