import Type, { type Static } from 'typebox';
import { SCORE_MAX, SCORE_MIN, SPEECH_STATES } from '../../domain/ai.js';

/** The AI features' resources, as the API answers them. */

const closed = { additionalProperties: false } as const;
const Score = (description: string) => Type.Integer({ minimum: SCORE_MIN, maximum: SCORE_MAX, description });
const JobStatus = Type.Enum(['pending', 'done', 'failed'], { type: 'string', description: 'pending while queued or running; done; failed (see error)' });
const ErrorText = Type.Optional(Type.String({ description: 'Why it failed; only when it did' }));

export const TranscriptSegment = Type.Object(
  {
    channel: Type.Integer({ enum: [0, 1], description: '0 the caller (left channel), 1 the receiver (right channel)' }),
    start: Type.Number({ minimum: 0, description: 'Start, in seconds from the start of the recording' }),
    end: Type.Number({ minimum: 0, description: 'End, in seconds from the start of the recording' }),
    text: Type.String({ description: 'What was said' }),
  },
  closed,
);

export const Transcription = Type.Object(
  {
    speech_state: Type.Enum([...SPEECH_STATES], { type: 'string', description: 'speech_sent_to_recognition while in progress, then speech_recognized or speech_recognition_failed' }),
    payload: Type.Array(TranscriptSegment, { description: 'The segments, by start time; empty until recognized' }),
    error: ErrorText,
  },
  { ...closed, description: "A call's transcript" },
);

export const Summary = Type.Object(
  {
    id: Type.Optional(Type.Integer({ minimum: 1, description: 'Summary record identifier, as in the summary webhook; absent while the transcript it waits for is made' })),
    call_id: Type.Integer({ minimum: 1, description: 'The call' }),
    status: JobStatus,
    summary: Type.Union([Type.String(), Type.Null()], { description: 'The summary; null until done' }),
    error: ErrorText,
  },
  { ...closed, description: "A call's summary" },
);

export const CriterionScore = Type.Object(
  { name: Type.String({ description: 'The criterion' }), score: Score('Its score'), feedback: Type.String({ description: 'Why' }) },
  closed,
);

export const RatingResource = Type.Object(
  {
    call_id: Type.Integer({ minimum: 1, description: 'The call' }),
    status: JobStatus,
    overall_score: Type.Union([Score('Overall quality'), Type.Null()], { description: 'Overall quality from 1 to 10; null until done' }),
    criteria_scores: Type.Array(CriterionScore, { description: 'One per criterion of the account\'s settings' }),
    highlights: Type.Array(Type.String(), { description: 'What went well' }),
    improvements: Type.Array(Type.String(), { description: 'What to do better' }),
    error: ErrorText,
  },
  { ...closed, description: "A call's quality rating" },
);

const Criterion = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'Name, as scores report it' }),
    description: Type.String({ maxLength: 1000, description: 'What the criterion judges, for the language model' }),
  },
  closed,
);

export const AiSettingsResource = Type.Object(
  {
    summary_instructions: Type.Union([Type.String({ maxLength: 4000 }), Type.Null()], { description: 'What summaries should bring out; null for the default' }),
    rating_criteria: Type.Array(Criterion, { minItems: 1, maxItems: 20, description: 'What ratings score, each from 1 to 10' }),
    auto_transcription: Type.Object(
      {
        enabled: Type.Boolean({ description: 'Transcribe answered calls as they arrive (summary and rating follow)' }),
        min_duration_sec: Type.Integer({ minimum: 0, maximum: 86400, description: 'Only calls that lasted longer than this, in seconds' }),
      },
      closed,
    ),
  },
  { ...closed, description: "The account's AI settings" },
);
export type AiSettingsResourceShape = Static<typeof AiSettingsResource>;

export const AiSettingsPatch = Type.Object(
  {
    summary_instructions: Type.Optional(AiSettingsResource.properties.summary_instructions),
    rating_criteria: Type.Optional(AiSettingsResource.properties.rating_criteria),
    auto_transcription: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(AiSettingsResource.properties.auto_transcription.properties.enabled),
          min_duration_sec: Type.Optional(AiSettingsResource.properties.auto_transcription.properties.min_duration_sec),
        },
        closed,
      ),
    ),
  },
  { ...closed, minProperties: 1, description: 'The settings to change; the others stay as they are' },
);
