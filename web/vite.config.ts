import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The dashboard is built into dist/web beside the server's own build, with
 * content-hashed asset names so that the server can cache them for a year.
 * In development, `vite --config web/vite.config.ts` proxies the API to a
 * `sipsim serve` on SIPSIM_DEV_API (default http://127.0.0.1:3000).
 */
export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/dashboard/api', '/oauth', '/health'].map((path) => [path, process.env.SIPSIM_DEV_API ?? 'http://127.0.0.1:3000']),
    ),
  },
});
