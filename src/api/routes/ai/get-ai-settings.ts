import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { AiSettingsResource } from '../../schemas/ai.js';
import { Data } from '../../schemas/responses.js';
import { toResource } from './ai-settings-resource.js';

/** GET /api/v2/settings/ai: summary instructions, rating criteria, automatic transcription (PATCH: update-ai-settings.ts). */
export function registerGetAiSettings(app: FastifyInstance, store: Store): void {
  app.get(
    '/api/v2/settings/ai',
    {
      config: { access: 'settings.read' },
      schema: {
        tags: ['AI'],
        operationId: 'getAiSettings',
        summary: "The account's AI settings",
        description: 'Summary instructions, rating criteria, and whether answered calls are transcribed as they arrive.',
        response: { 200: Data(AiSettingsResource, 'The settings') },
      },
    },
    async (request, reply) => sendData(request, reply, toResource(await store.aiSettings.get(request.auth!.accountId))),
  );
}
