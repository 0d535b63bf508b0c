import type { FastifyInstance } from 'fastify';
import type { AiSettings } from '../../domain/ai.js';
import { ApiError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import type { AiSettingsChange } from '../../store/ai-settings-store.js';
import { sendData } from '../envelope.js';
import { requireScope } from '../plugins/auth.js';
import { AiSettingsPatch, AiSettingsResource, type AiSettingsResourceShape } from '../schemas/ai.js';
import { Data, GUARDED, WITH_BODY, errors, needs } from '../schemas/responses.js';

const toResource = (s: AiSettings): AiSettingsResourceShape => ({
  summary_instructions: s.summaryInstructions,
  rating_criteria: s.ratingCriteria,
  auto_transcription: { enabled: s.autoTranscribe, min_duration_sec: s.autoTranscribeMinSec },
});

interface Patch {
  summary_instructions?: string | null;
  rating_criteria?: Array<{ name: string; description: string }>;
  auto_transcription?: { enabled?: boolean; min_duration_sec?: number };
}

/** GET and PATCH /api/v2/settings/ai: summary instructions, rating criteria, automatic transcription. */
export function registerAiSettings(app: FastifyInstance, store: Store): void {
  app.get(
    '/api/v2/settings/ai',
    {
      preValidation: requireScope(store, 'settings.read'),
      schema: {
        tags: ['AI'],
        operationId: 'getAiSettings',
        summary: "The account's AI settings",
        description: 'Summary instructions, rating criteria, and whether answered calls are transcribed as they arrive.',
        ...needs('settings.read'),
        response: { 200: Data(AiSettingsResource, 'The settings'), ...errors(...GUARDED) },
      },
    },
    async (request, reply) => sendData(request, reply, toResource(await store.aiSettings.get(request.auth!.accountId))),
  );

  app.patch<{ Body: Patch }>(
    '/api/v2/settings/ai',
    {
      preValidation: requireScope(store, 'settings.write'),
      schema: {
        tags: ['AI'],
        operationId: 'updateAiSettings',
        summary: "Change the account's AI settings",
        description:
          'Changes the fields given. Automatic transcription, once on, applies to calls that arrive from then on; rating ' +
          'criteria names must be unique, and ratings made before a change keep the criteria they were made with.',
        ...needs('settings.write'),
        body: AiSettingsPatch,
        response: { 200: Data(AiSettingsResource, 'The settings, changed'), ...errors(...WITH_BODY, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const change: AiSettingsChange = {};
      if (body.summary_instructions !== undefined) change.summaryInstructions = body.summary_instructions?.trim() || null;
      if (body.rating_criteria !== undefined) {
        const names = body.rating_criteria.map((c) => c.name.trim());
        if (new Set(names.map((n) => n.toLowerCase())).size !== names.length || names.some((n) => !n)) {
          throw new ApiError('INVALID_BODY', "Invalid field 'rating_criteria': each criterion needs a name, and names must be unique");
        }
        change.ratingCriteria = body.rating_criteria.map((c) => ({ name: c.name.trim(), description: c.description }));
      }
      if (body.auto_transcription?.enabled !== undefined) change.autoTranscribe = body.auto_transcription.enabled;
      if (body.auto_transcription?.min_duration_sec !== undefined) change.autoTranscribeMinSec = body.auto_transcription.min_duration_sec;
      return sendData(request, reply, toResource(await store.aiSettings.update(request.auth!.accountId, change)));
    },
  );
}
