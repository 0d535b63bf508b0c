import Type from 'typebox';
import {
  DESCRIPTION_MAX,
  E164,
  EXTENSION_MAX,
  EXTENSION_MIN,
  HEX_COLOR,
  PERSON_NAME_MAX,
  PHONE_NAME_MAX,
  PHONE_STATUSES,
  TAG_NAME_MAX,
} from '../../domain/directory.js';
import { Id, Nullable, hinted, pageProperties } from './common.js';

const closed = { additionalProperties: false } as const;

/**
 * A name: not blank, not overlong. Blank means no visible character: white
 * space, control characters (U+001F) and format characters (zero-width space)
 * do not make a name.
 */
export const VISIBLE_CHARACTER = '[^\\s\\p{Cc}\\p{Cf}]';
const Name = (max: number, description: string) =>
  hinted(VISIBLE_CHARACTER, 'a name that is not blank', { minLength: 1, maxLength: max, description });

const Color = hinted(HEX_COLOR, 'a hex colour such as #22C55E', { description: 'Hex colour, #RRGGBB' });
const Phone164 = (description: string) => hinted(E164, 'a number in E.164 format such as +33612345678', { description });
const FileId = (description: string) => Nullable(Id(), description);

// ---- tags ----

export const TagCreate = Type.Object(
  {
    name: Name(TAG_NAME_MAX, 'Tag name, unique within the account whatever its case'),
    color: Type.Optional(Color),
    description: Type.Optional(Nullable(Type.String({ maxLength: DESCRIPTION_MAX }), 'What the tag is for')),
  },
  closed,
);
export type TagCreate = Type.Static<typeof TagCreate>;

export const TagPatch = Type.Object(
  {
    name: Type.Optional(Name(TAG_NAME_MAX, 'New name')),
    color: Type.Optional(Color),
    description: Type.Optional(Nullable(Type.String({ maxLength: DESCRIPTION_MAX }), 'New description, or null to clear it')),
  },
  closed,
);
export type TagPatch = Type.Static<typeof TagPatch>;

export const TAGS_PER_REQUEST_MAX = 100;

const TagIdList = (minItems: number) =>
  Type.Array(Id(), { minItems, maxItems: TAGS_PER_REQUEST_MAX, description: 'Tag ids of the account' });

export const CallTagsAdd = Type.Object({ tag_ids: TagIdList(1) }, closed);
export const CallTagsReplace = Type.Object({ tag_ids: TagIdList(0) }, closed);
export type CallTagsBody = { tag_ids: number[] };

export const CallTagParams = Type.Object(
  { id: Id('Identifier of the call'), tag_id: Id('Identifier of the tag') },
  closed,
);

// ---- phones ----

const STATUS_LIST = `^(${PHONE_STATUSES.join('|')})(,(${PHONE_STATUSES.join('|')}))*$`;

export const PhonesQuery = Type.Object(
  {
    ...pageProperties,
    status: Type.Optional(
      hinted(STATUS_LIST, `one or more of ${PHONE_STATUSES.join(', ')}, separated by commas`, {
        description: 'Only phones with these statuses (comma-separated)',
      }),
    ),
  },
  closed,
);
export type PhonesQuery = Type.Static<typeof PhonesQuery>;

const Status = Type.Enum([...PHONE_STATUSES], { type: 'string', description: 'not_activated, active or inactive' });

export const PhonePatch = Type.Object(
  {
    name: Type.Optional(Name(PHONE_NAME_MAX, 'Name or label of the phone')),
    status: Type.Optional(Status),
    employee_id: Type.Optional(Nullable(Id(), 'The employee the phone belongs to, or null')),
    group: Type.Optional(
      Nullable(
        Type.Object(
          { group_id: Id('Group identifier'), group_title: Type.Optional(Nullable(Type.String({ maxLength: PHONE_NAME_MAX }))) },
          closed,
        ),
        'The group the phone is in, or null',
      ),
    ),
    outbound_setting: Type.Optional(
      Type.Object(
        {
          outbound_number: Type.Optional(Nullable(Phone164('Caller id shown on outbound calls'))),
          use_different_outbound_number: Type.Optional(Type.Boolean()),
          outbound_number_phone_id: Type.Optional(Nullable(Id())),
        },
        closed,
      ),
    ),
    record_setting: Type.Optional(
      Type.Object(
        { record_inbound_call: Type.Optional(Type.Boolean()), record_outbound_call: Type.Optional(Type.Boolean()) },
        closed,
      ),
    ),
    voicemail_setting: Type.Optional(
      Type.Object(
        { allow_voicemail: Type.Optional(Type.Boolean()), voicemail_file_id: Type.Optional(FileId('Greeting file')) },
        closed,
      ),
    ),
    forwarding_setting: Type.Optional(
      Type.Object(
        {
          forced: Type.Optional(
            Type.Object(
              { enabled: Type.Optional(Type.Boolean()), forward_number: Type.Optional(Nullable(Phone164('Forward every call here'))) },
              closed,
            ),
          ),
          conditional: Type.Optional(
            Type.Object(
              {
                enabled: Type.Optional(Type.Boolean()),
                timeout_seconds: Type.Optional(Type.Integer({ minimum: 5, maximum: 300, description: 'Ring this long before forwarding' })),
                forward_number: Type.Optional(Nullable(Phone164('Forward unanswered calls here'))),
              },
              closed,
            ),
          ),
        },
        closed,
      ),
    ),
    audio_setting: Type.Optional(
      Type.Object(
        {
          inbound_call_preroll_id: Type.Optional(FileId('Played to callers before ringing')),
          outbound_call_preroll_id: Type.Optional(FileId('Played before an outbound call connects')),
          no_answer_file_id: Type.Optional(FileId('Played when nobody answers')),
          wait_preroll_dial: Type.Optional(Type.Integer({ minimum: 0, maximum: 60, description: 'Seconds before dialling' })),
        },
        closed,
      ),
    ),
  },
  closed,
);
export type PhonePatch = Type.Static<typeof PhonePatch>;

/** What `sipsim phones create` takes; the API does not create phones. */
export const PhoneCreate = Type.Object(
  {
    number: Phone164('The phone\'s public number'),
    name: Name(PHONE_NAME_MAX, 'Name or label of the phone'),
    internal_number: Type.Optional(
      Nullable(Type.Integer({ minimum: EXTENSION_MIN, maximum: EXTENSION_MAX, description: `Extension, ${EXTENSION_MIN} to ${EXTENSION_MAX}` })),
    ),
    employee_id: Type.Optional(Nullable(Id())),
    status: Type.Optional(Status),
  },
  closed,
);
export type PhoneCreate = Type.Static<typeof PhoneCreate>;

// ---- employees ----

export const EmployeeCreate = Type.Object(
  {
    name: Name(PERSON_NAME_MAX, 'Full name'),
    email: Type.Optional(Nullable(hinted('^[^\\s@]+@[^\\s@]+$', 'an email address', { maxLength: 254 }))),
  },
  closed,
);
export type EmployeeCreate = Type.Static<typeof EmployeeCreate>;
