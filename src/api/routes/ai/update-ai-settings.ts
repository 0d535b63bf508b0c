import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import type { AiSettingsChange } from '../../../store/ai-settings-store.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { AiSettingsPatch, AiSettingsResource } from '../../schemas/ai.js';
import { BODY_ERRORS, Data, errors } from '../../schemas/responses.js';
import { toResource } from './ai-settings-resource.js';

interface Patch {
  summary_instructions?: string | null;
  rating_criteria?: Array<{ name: string; description: string }>;
  auto_transcription?: { enabled?: boolean; min_duration_sec?: number };
}

/** PATCH /api/v2/settings/ai: changes the fields given. */
export function registerUpdateAiSettings(app: FastifyInstance, store: Store): void {
  app.patch<{ Body: Patch }>(
    '/api/v2/settings/ai',
    {
      config: { access: 'settings.write' },
      schema: {
        tags: ['AI'],
        operationId: 'updateAiSettings',
        summary: "Change the account's AI settings",
        description:
          'Changes the fields given. Automatic transcription, once on, applies to calls that arrive from then on; rating ' +
          'criteria names must be unique, and ratings made before a change keep the criteria they were made with.',
        body: AiSettingsPatch,
        response: { 200: Data(AiSettingsResource, 'The settings, changed'), ...errors(...BODY_ERRORS) },
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
