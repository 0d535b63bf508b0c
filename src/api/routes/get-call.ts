import type { FastifyInstance } from 'fastify';
import { ApiError, invalidParameter } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { requireScope } from '../plugins/auth.js';

/** Path ids are positive integers; anything else is a 400 naming the parameter. */
export function parseId(value: string, name = 'id'): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1) {
    throw invalidParameter(`Invalid parameter '${name}': must be a positive integer`);
  }
  return Number(value);
}

export function registerGetCall(app: FastifyInstance, store: Store): void {
  app.get<{ Params: { id: string } }>('/api/v2/calls/:id', { preHandler: requireScope(store, 'calls.read') }, async (request, reply) => {
    const call = await store.getCall(request.auth!.accountId, parseId(request.params.id));
    // Another account's call is reported exactly like a missing one.
    if (!call) throw new ApiError('NOT_FOUND', 'Call');
    return sendData(request, reply, call);
  });
}
