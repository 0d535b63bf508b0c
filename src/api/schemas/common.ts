import Type, { type TSchema } from 'typebox';
import { HINT } from '../validation.js';

/**
 * Schema pieces shared by every route. The schemas validate requests and
 * describe them in the OpenAPI document, so each says in `description` what a
 * user reads and in `x-hint` how an error words a broken pattern.
 */

export const Id = (description = 'Identifier') =>
  Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description, [HINT]: 'a positive integer' });

export const IdParams = (what: string) => Type.Object({ id: Id(`Identifier of the ${what}`) }, { additionalProperties: false });

export const Nullable = <T extends TSchema>(schema: T, description?: string) =>
  Type.Union([schema, Type.Null()], description ? { description } : {});

export const LIST_LIMIT_MAX = 1000;

/** `limit` and `page`, as on /calls. */
export const pageProperties = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: LIST_LIMIT_MAX, default: LIST_LIMIT_MAX, description: 'Items per page' }),
  ),
  page: Type.Optional(
    Type.String({ maxLength: 512, description: 'Token for the next page, from the previous answer\'s pagination.page' }),
  ),
};

export const ListQuery = Type.Object(pageProperties, { additionalProperties: false });

export const hinted = (pattern: string, hint: string, options: Record<string, unknown> = {}) =>
  Type.String({ pattern, [HINT]: hint, ...options });
