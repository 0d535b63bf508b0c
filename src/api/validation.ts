import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { parseDateTime } from '../domain/time.js';

/**
 * Request validation from JSON Schemas: the same schemas that describe the API
 * in OpenAPI. Bodies are checked as sent (a number is never taken for a
 * string); query strings and path parameters arrive as text, so their numbers
 * and lists are coerced first. Every failure becomes a 400 that names the field.
 */

export type Part = 'body' | 'querystring' | 'params' | 'headers';

/** A schema keyword that words a pattern for people: "a hex colour such as #22C55E". */
export const HINT = 'x-hint';

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    verbose: true,
    strict: true,
    allowUnionTypes: true,
  });
  ajv.addKeyword({ keyword: HINT, schemaType: 'string' });
  // How OpenAPI serializes a query's lists; nothing to check in a value.
  ajv.addKeyword({ keyword: 'explode', schemaType: 'boolean' });
  // The document's date-time is the domain's: RFC 3339, any fractional digits, Z or an offset.
  ajv.addFormat('date-time', { type: 'string', validate: (text: string) => parseDateTime(text) !== null });
  return ajv;
}

const ajvs = { text: makeAjv(true), json: makeAjv(false) };

/** At most this many problems are listed in one answer. */
const MAX_MESSAGES = 10;

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  null: 'null',
};

function typeWords(type: unknown): string {
  const types = ([] as unknown[]).concat(type).map(String);
  return types.map((t) => TYPE_WORDS[t] ?? t).join(' or ');
}

/** `/forwarding_setting/forced/0` becomes `forwarding_setting.forced[0]`. */
function fieldName(instancePath: string, child?: string): string {
  const segments = instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) segments.push(child);
  return segments.reduce((name, s) => (/^\d+$/.test(s) ? `${name}[${s}]` : name ? `${name}.${s}` : s), '');
}

function problem(error: ErrorObject): string | null {
  const parent = error.parentSchema as Record<string, unknown> | undefined;
  const hint = parent?.[HINT];
  // An id is "a positive integer" whether it came as text, as 0 or as 1.5.
  if (typeof hint === 'string' && parent?.type === 'integer' && ['type', 'minimum', 'maximum'].includes(error.keyword)) {
    return `must be ${hint}`;
  }
  switch (error.keyword) {
    case 'required':
      return null; // worded by the caller, which knows the part
    case 'type':
      return `must be ${typeWords(error.params.type)}`;
    case 'maxLength':
      return `must be at most ${error.params.limit} characters`;
    case 'minLength':
      return error.params.limit === 1 ? 'must not be empty' : `must be at least ${error.params.limit} characters`;
    case 'maximum':
      return `must be at most ${error.params.limit}`;
    case 'minimum':
      return `must be at least ${error.params.limit}`;
    case 'maxItems':
      return `must have at most ${error.params.limit} items`;
    case 'minItems':
      return `must have at least ${error.params.limit} item${error.params.limit === 1 ? '' : 's'}`;
    case 'enum':
      return `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(error.params.allowedValue)}`;
    case 'pattern':
    case 'format':
      return typeof hint === 'string' ? `must be ${hint}` : 'is not in the expected format';
    case 'anyOf':
    case 'oneOf':
      return typeof hint === 'string' ? `must be ${hint}` : 'is not one of the allowed values';
    case 'minProperties':
      return typeof hint === 'string' ? hint : `must have at least ${error.params.limit} field(s)`;
    default:
      return error.message ?? 'is invalid';
  }
}

/** Words ajv's errors as the API's messages, one per field, in the order found. */
export function describeErrors(errors: ErrorObject[], part: Part): string[] {
  const isBody = part === 'body';
  const noun = isBody ? 'field' : part === 'headers' ? 'header' : 'parameter';
  const messages: string[] = [];
  const seen = new Set<string>();
  const add = (field: string, message: string) => {
    if (seen.has(field)) return;
    seen.add(field);
    messages.push(message);
  };
  // A union (a value or null, say) fails in every branch; what matters is the
  // branch whose type the value had, or else the list of types it may have.
  const unionPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath);
  const inUnion = (e: ErrorObject) => unionPaths.some((u) => e.schemaPath.startsWith(`${u}/`));
  for (const error of errors) {
    if (inUnion(error)) continue;
    if (error.keyword === 'additionalProperties') {
      const field = fieldName(error.instancePath, String(error.params.additionalProperty));
      add(field, `Unknown ${noun} '${field}'`);
      continue;
    }
    if (error.keyword === 'required') {
      const field = fieldName(error.instancePath, String(error.params.missingProperty));
      add(field, `Missing required ${noun} '${field}'`);
      continue;
    }
    let detail = problem(error);
    if (error.keyword === 'anyOf') {
      const branches = errors.filter((e) => e.schemaPath.startsWith(`${error.schemaPath}/`) && e.instancePath === error.instancePath);
      const fitting = branches.find((e) => e.keyword !== 'type');
      const options = ((error.parentSchema as { anyOf?: Array<Record<string, unknown>> }).anyOf ?? []).map((b) =>
        b.type === 'integer' && typeof b[HINT] === 'string' ? (b[HINT] as string) : b.type === undefined ? undefined : typeWords(b.type),
      );
      if (fitting) detail = problem(fitting);
      else if (options.every((o) => o !== undefined)) detail = `must be ${options.join(' or ')}`;
    }
    const field = fieldName(error.instancePath);
    if (field === '') {
      if (isBody) add('', error.keyword === 'type' ? 'The request body must be a JSON object' : `The request body ${detail}`);
      else add('', `Invalid ${part === 'params' ? 'path' : 'query string'}: ${detail}`);
      continue;
    }
    add(field, `Invalid ${noun} '${field}': ${detail}`);
  }
  return messages.slice(0, MAX_MESSAGES);
}

function toApiError(errors: ErrorObject[], part: Part): ApiError {
  return new ApiError(part === 'body' ? 'INVALID_BODY' : 'INVALID_PARAMETER', describeErrors(errors, part));
}

/**
 * Ajv turns the text `Infinity` (or `1e309`) into a number and then skips its
 * range checks, which hold for finite numbers only; no parameter of this API
 * is ever infinite, so every such value is refused here, naming the field.
 */
function nonFiniteProblems(schema: object, data: unknown): string[] {
  if (data === null || typeof data !== 'object') return [];
  const properties = ((schema as { properties?: Record<string, Record<string, unknown>> }).properties ?? {}) as Record<string, Record<string, unknown>>;
  const problems: string[] = [];
  for (const [name, value] of Object.entries(data)) {
    const values = Array.isArray(value) ? value : [value];
    if (!values.some((v) => typeof v === 'number' && !Number.isFinite(v))) continue;
    const property = Object.hasOwn(properties, name) ? properties[name]! : {};
    const items = (property.items as Record<string, unknown> | undefined) ?? property;
    const { minimum, maximum } = items;
    const wording =
      typeof items[HINT] === 'string'
        ? `must be ${items[HINT]}`
        : typeof minimum === 'number' && typeof maximum === 'number'
          ? `must be ${items.type === 'integer' ? 'an integer' : 'a number'} from ${minimum} to ${maximum}`
          : 'must be a finite number';
    problems.push(`Invalid parameter '${name}': ${wording}`);
  }
  return problems;
}

function compile(schema: object, part: Part): ValidateFunction {
  const validate = (part === 'body' ? ajvs.json : ajvs.text).compile(schema);
  if (part === 'body') return validate; // JSON has no Infinity
  const checked = ((data: unknown) => {
    if (!validate(data)) {
      checked.errors = validate.errors;
      return false;
    }
    const problems = nonFiniteProblems(schema, data);
    if (!problems.length) return true;
    checked.errors = null;
    throw new ApiError('INVALID_PARAMETER', problems);
  }) as ValidateFunction;
  return checked;
}

/** Fastify's validator compiler: ApiErrors reach the error handler as they are. */
export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const part = (httpPart ?? 'body') as Part;
  const validate = compile(schema, part);
  return (data: unknown) => {
    try {
      return validate(data) ? { value: data } : { error: toApiError(validate.errors ?? [], part) };
    } catch (error) {
      if (error instanceof ApiError) return { error };
      throw error;
    }
  };
};

const compiled = new WeakMap<object, ValidateFunction>();

/**
 * Checks a value against a schema outside a request (the CLI's flags), with
 * the API's own messages. Throws the same ApiError a request would get.
 */
export function assertValid<T>(schema: object, value: unknown, part: Part = 'body'): T {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = compile(schema, part)));
  if (!validate(value)) throw toApiError(validate.errors ?? [], part);
  return value as T;
}
