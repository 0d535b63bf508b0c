import Type from 'typebox';
import { CALL_FIELDS, DEFAULT_CSV_FIELDS, EXPORT_FORMATS } from '../../domain/call-export.js';
import { LIMIT_DEFAULT, LIMIT_MAX, LIMIT_MIN } from '../../domain/call-filters.js';

/**
 * The query of `GET /calls`. The domain parser (parseListCallsQuery) checks it
 * first and words every refusal; this schema accepts whatever the parser
 * accepts, so it describes the parameters without a second set of messages.
 * Hence the plain strings: `limit=` means the default, a date-time may carry a
 * space where an unencoded `+` was sent, call types take any case.
 */

const CommaList = (description: string) =>
  Type.Array(Type.String(), {
    description: `${description}. Comma-separated, or the parameter repeated; a call matches any of them`,
  });

export const ListCallsQuery = Type.Object({
  start_time: Type.String({
    description:
      'Start of the window on the call\'s start_time, inclusive: an ISO 8601 date-time with Z or an offset, ' +
      'any number of fractional digits, such as 2024-01-01T00:00:00Z',
  }),
  end_time: Type.Optional(Type.String({ description: 'End of the window, inclusive, in the same format; defaults to now' })),
  employees: Type.Optional(CommaList('Employee ids')),
  tags: Type.Optional(CommaList('Tag ids')),
  call_types: Type.Optional(CommaList('Call types: inbound (or incoming), outbound (or outgoing), missed, voicemail')),
  search: Type.Optional(
    Type.String({ maxLength: 200, description: 'A phone number however it is written, or part of the caller\'s name' }),
  ),
  limit: Type.Optional(
    Type.String({ description: `Calls per page, an integer from ${LIMIT_MIN} to ${LIMIT_MAX}; ${LIMIT_DEFAULT} when absent` }),
  ),
  page: Type.Optional(Type.String({ description: 'Token for the next page, from the previous answer\'s pagination.page' })),
});

/** The query of `GET /calls/export`: the list's filters, no pages, a format and CSV columns. */
export const ExportCallsQuery = Type.Object({
  ...Type.Omit(ListCallsQuery, ['limit', 'page']).properties,
  format: Type.Optional(
    Type.String({
      description:
        `${EXPORT_FORMATS.join(' or ')}. When absent, an Accept header naming text/csv or application/x-ndjson decides; ` +
        'otherwise csv',
    }),
  ),
  fields: Type.Optional(
    CommaList(
      `CSV columns, from: ${CALL_FIELDS.join(', ')}. Default: ${DEFAULT_CSV_FIELDS.join(',')} (the columns of the ` +
        'guide\'s CSV example); tags are written as their names joined by ";". CSV only',
    ),
  ),
});
