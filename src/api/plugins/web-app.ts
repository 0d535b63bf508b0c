import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the dashboard, from src/ (tests) and dist/ (serve) alike. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

/** Paths that belong to the API and its tools: an unknown one there stays a JSON 404. */
const NOT_THE_APP = /^\/(api|oauth|dashboard\/api|docs|health|metrics)(\/|$)/;
/** Hashed build output: the name changes with the content, so it may be cached for good. */
const ASSET = /^\/assets\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
/** Files beside index.html, such as favicon.ico or robots.txt. */
const TOP_LEVEL_FILE = /^\/[A-Za-z0-9_-][A-Za-z0-9._-]*\.[A-Za-z0-9]+$/;

const IMMUTABLE = 'public, max-age=31536000, immutable';

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sipsim</title></head>
<body><h1>sipsim</h1>
<p>The dashboard has not been built. Run <code>npm run build</code>, then start <code>sipsim serve</code> again.</p>
<p>The API is at <a href="/api/v2/openapi.json">/api/v2/openapi.json</a>, its documentation at <a href="/docs">/docs</a>.</p>
</body></html>
`;

const acceptsHtml = (request: FastifyRequest) => /\btext\/html\b/i.test(String(request.headers.accept ?? ''));

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The dashboard's single-page app from `webDir` (the Vite build): hashed
 * assets cached for a year, index.html never cached and answered for every
 * page the app routes itself, so that a reload or a shared link works. It
 * adds no routes: it answers what no route matched, before the JSON 404.
 * Returns that fallback; false means "not mine".
 */
export function registerWebApp(app: FastifyInstance, webDir: string): (request: FastifyRequest, reply: FastifyReply) => Promise<boolean> {
  app.register(fastifyStatic, { root: webDir.endsWith('/') ? webDir : `${webDir}/`, serve: false });
  const built = () => existsSync(join(webDir, 'index.html'));

  return async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const path = request.url.split('?')[0]!;
    if (NOT_THE_APP.test(path)) return false;
    if (ASSET.test(path) && !path.includes('..') && isFile(join(webDir, path))) {
      reply.header('Cache-Control', IMMUTABLE);
      await reply.sendFile(path.slice(1), webDir, { cacheControl: false });
      return true;
    }
    if (TOP_LEVEL_FILE.test(path) && path !== '/index.html' && isFile(join(webDir, path))) {
      reply.header('Cache-Control', 'no-cache');
      await reply.sendFile(path.slice(1), webDir, { cacheControl: false });
      return true;
    }
    if (path !== '/' && path !== '/index.html' && !acceptsHtml(request)) return false;
    if (path.startsWith('/assets/')) return false;
    if (!built()) {
      reply.code(path === '/' ? 200 : 404).header('Cache-Control', 'no-cache').type('text/html; charset=utf-8').send(NOT_BUILT);
      return true;
    }
    reply.header('Cache-Control', 'no-cache');
    await reply.sendFile('index.html', webDir, { cacheControl: false });
    return true;
  };
}
