import Type from 'typebox';
import { CALL_FIELDS, DEFAULT_CSV_FIELDS, EXPORT_FORMATS } from '../../domain/call-export.js';
import {
  CALL_TYPE_ALIASES,
  LIMIT_DEFAULT,
  LIMIT_MAX,
  LIMIT_MIN,
  MAX_IDS,
  MAX_SEARCH_LENGTH,
  PAGE_TOKEN_MAX_LENGTH,
} from '../../domain/call-filters.js';

/**
 * The query of `GET /calls`. The domain parser (parseListCallsQuery) reads it
 * first, lists every problem in one answer, and hands the route the query in
 * the shape described here (ids as integers, lists as arrays, call types in
 * lower case), which this schema then checks. So the document says exactly
 * what a client may send: the parser also takes a few looser spellings (any
 * case, `limit=` for the default, repeated list parameters).
 */

const NO_NUL = 'Text must not contain NUL characters (\\u0000)';

const DateTime = (description: string) => Type.String({ format: 'date-time', description });

const IdList = (what: string) =>
  Type.Array(Type.Integer({ minimum: 1, maximum: 999_999_999_999_999 }), {
    maxItems: MAX_IDS,
    description: `${what} ids, comma-separated (the parameter may also be repeated); a call matches any of them`,
  });

const listFilters = {
  start_time: DateTime(
    'Start of the window on the call\'s start_time, inclusive: an RFC 3339 date-time with Z or an offset, ' +
      'any number of fractional digits, such as 2024-01-01T00:00:00Z',
  ),
  end_time: Type.Optional(DateTime('End of the window, inclusive, in the same format; defaults to now')),
  employees: Type.Optional(IdList('Employee')),
  tags: Type.Optional(IdList('Tag')),
  call_types: Type.Optional(
    Type.Array(Type.Enum(Object.keys(CALL_TYPE_ALIASES)), {
      description:
        'Call types, comma-separated: inbound (or incoming), outbound (or outgoing), missed, voicemail; any letter case. ' +
        'A call matches any of them',
    }),
  ),
  search: Type.Optional(
    Type.String({
      maxLength: MAX_SEARCH_LENGTH,
      description: `A phone number however it is written, or part of the caller's name. ${NO_NUL}`,
    }),
  ),
};

export const ListCallsQuery = Type.Object(
  {
    ...listFilters,
    limit: Type.Optional(
      Type.Integer({ minimum: LIMIT_MIN, maximum: LIMIT_MAX, default: LIMIT_DEFAULT, description: 'Calls per page' }),
    ),
    page: Type.Optional(
      Type.String({
        maxLength: PAGE_TOKEN_MAX_LENGTH,
        description: 'Token for the next page, from the previous answer\'s pagination.page',
      }),
    ),
  },
  // Lists travel as `employees=1,2`: OpenAPI's form style without explode.
  { additionalProperties: false, explode: false },
);

/** The query of `GET /calls/export`: the list's filters, no pages, a format and CSV columns. */
export const ExportCallsQuery = Type.Object(
  {
    ...listFilters,
    format: Type.Optional(
      Type.Enum([...EXPORT_FORMATS], {
          description:
            `${EXPORT_FORMATS.join(' or ')}. When absent, an Accept header naming text/csv or application/x-ndjson decides; ` +
            'otherwise csv',
      }),
    ),
    fields: Type.Optional(
      Type.Array(Type.Enum([...CALL_FIELDS]), {
        minItems: 1,
        description:
          `CSV columns, comma-separated. Default: ${DEFAULT_CSV_FIELDS.join(',')} (the columns of the ` +
          'guide\'s CSV example); tags are written as their names joined by ";". CSV only',
      }),
    ),
  },
  { additionalProperties: false, explode: false },
);
