import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { OPENAPI_PATH } from '../../src/api/openapi.js';
import { HINT } from '../../src/api/validation.js';

/** Documents and bodies are read loosely: their shapes are what the checks are about. */
type Json = Record<string, any>;

export interface SeenResponse {
  method: string;
  /** The path, with or without its query string. */
  url: string;
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** `/api/v2/calls/{id}` as a pattern that matches `/api/v2/calls/12`. */
const templatePattern = (template: string) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}/?$`);

/**
 * Checks answers against the OpenAPI document: the status is one the
 * operation lists, each documented header fits its schema (and a required one
 * is there), and the body has a documented media type and fits its schema.
 * Each schema is compiled once by ajv in strict mode, with the components
 * where `#/components/schemas/` points.
 */
export class OpenApiChecker {
  private readonly ajv = new Ajv2020({ strict: true, allErrors: true });
  private readonly compiled = new Map<object, ValidateFunction>();
  private readonly templates: Array<[string, RegExp]>;

  constructor(readonly doc: Json) {
    formats.default(this.ajv);
    this.ajv.addKeyword({ keyword: HINT, schemaType: 'string' });
    this.ajv.addSchema({ $id: 'components', $defs: this.localised(doc.components.schemas) });
    // Fixed paths first, so that /calls/import is not taken for /calls/{id}.
    this.templates = Object.keys(doc.paths)
      .sort((a, b) => a.split('{').length - b.split('{').length)
      .map((t) => [t, templatePattern(t)]);
  }

  private localised(schema: unknown): Json {
    return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"components#/$defs/'));
  }

  compile(schema: object): ValidateFunction {
    let validate = this.compiled.get(schema);
    if (!validate) this.compiled.set(schema, (validate = this.ajv.compile(this.localised(schema))));
    return validate;
  }

  templateOf(path: string): string | undefined {
    return this.templates.find(([, pattern]) => pattern.test(path))?.[0];
  }

  /**
   * The problems with one answer, empty when the document describes it.
   * Answers to what the document has no operation for (an unknown path, a
   * method a path lacks, HEAD, the docs' own assets) have nothing to be
   * checked against and are left alone.
   */
  problems(seen: SeenResponse): string[] {
    // The path the server saw: dot segments resolved, as the client resolves them
    // before sending (`/calls/0/tags/.` is `/calls/0/tags/`).
    const path = new URL(seen.url, 'http://localhost').pathname;
    const template = this.templateOf(path);
    if (!template) return [];
    const operation = this.doc.paths[template][seen.method.toLowerCase()];
    if (!operation) return [];
    const where = `${seen.method} ${template} ${seen.status}`;
    const documented = operation.responses[String(seen.status)] ?? operation.responses[`${String(seen.status)[0]}XX`];
    if (!documented) return [`${where}: status not documented (${seen.body.slice(0, 200)})`];
    const problems: string[] = [];
    const header = (name: string) => {
      const value = seen.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value === undefined ? undefined : String(value);
    };
    for (const [name, spec] of Object.entries((documented.headers ?? {}) as Json)) {
      const value = header(name);
      if (value === undefined) {
        if (spec.required) problems.push(`${where}: header ${name} is required`);
        continue;
      }
      if (spec.schema) {
        const validate = this.compile(spec.schema);
        const typed = spec.schema.type === 'integer' || spec.schema.type === 'number' ? Number(value) : value;
        if (!validate(typed)) problems.push(`${where}: header ${name}: ${value}: ${JSON.stringify(validate.errors?.slice(0, 2))}`);
      }
    }
    const type = header('content-type')?.split(';')[0]?.trim() ?? '';
    const content = documented.content as Json | undefined;
    if (!content) {
      if (seen.body !== '') problems.push(`${where}: a body where none is documented`);
      return problems;
    }
    const media = content[type];
    if (!media) return [...problems, `${where}: content type ${type || '(none)'} is not one of ${Object.keys(content).join(', ')}`];
    if (type === 'application/json') {
      let body: unknown;
      try {
        body = JSON.parse(seen.body);
      } catch {
        return [...problems, `${where}: the body is not JSON`];
      }
      const validate = this.compile(media.schema);
      if (!validate(body)) problems.push(`${where}: ${JSON.stringify(validate.errors?.slice(0, 3))}\n${seen.body.slice(0, 300)}`);
    } else if (type === 'application/x-ndjson') {
      const validate = this.compile({ $ref: '#/components/schemas/Call' });
      for (const line of seen.body.split('\n').filter(Boolean)) {
        if (!validate(JSON.parse(line))) {
          problems.push(`${where}: NDJSON line: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
          break;
        }
      }
    }
    return problems;
  }
}

const checkers = new Map<string, OpenApiChecker>();

/** The checker for this app's document; the same document is compiled once per test file. */
export async function checkerFor(app: FastifyInstance): Promise<OpenApiChecker> {
  const text = (await app.inject({ url: OPENAPI_PATH })).body;
  const doc = JSON.parse(text) as Json;
  // The servers entry names whoever asked; the rest is what identifies the document.
  const key = JSON.stringify({ ...doc, servers: undefined });
  let checker = checkers.get(key);
  if (!checker) checkers.set(key, (checker = new OpenApiChecker(doc)));
  return checker;
}

/**
 * Checks every answer `app.inject` gives against the document, so that every
 * API test also tests the document: an answer it does not describe fails the
 * request that got it.
 */
export async function checkEveryAnswer(app: FastifyInstance): Promise<void> {
  const checker = await checkerFor(app);
  const inject = app.inject.bind(app) as (options: unknown) => Promise<{ statusCode: number; headers: SeenResponse['headers']; body: string }>;
  const checked = async (options: unknown) => {
    const response = await inject(options);
    const request = (typeof options === 'string' ? { url: options } : options) as { method?: string; url?: string | { pathname?: string }; path?: string };
    const url = typeof request.url === 'string' ? request.url : (request.url?.pathname ?? request.path ?? '/');
    const problems = checker.problems({
      method: (request.method ?? 'GET').toUpperCase(),
      url,
      status: response.statusCode,
      headers: response.headers,
      body: response.body,
    });
    if (problems.length) throw new Error(`The answer does not match the OpenAPI document:\n${problems.join('\n')}`);
    return response;
  };
  // Only the promise form is wrapped: the callback and chained forms are not used by the tests.
  (app as { inject: unknown }).inject = (options?: unknown, callback?: unknown) => {
    if (options === undefined || callback !== undefined) return (inject as (...args: unknown[]) => unknown)(options, callback);
    return checked(options);
  };
}
