import type { FastifyInstance } from 'fastify';
import { DUPLICATE_TAG, tagResource } from '../../domain/directory.js';
import { ApiError, StoreConflictError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { sendIdPage } from '../pagination.js';
import { requireScope } from '../plugins/auth.js';
import { IdParams, ListQuery } from '../schemas/common.js';
import { TagCreate, TagPatch } from '../schemas/directory.js';
import { Data, GUARDED, List, NoContent, WITH_BODY, errors, needs } from '../schemas/responses.js';

/** A write that hits the unique name becomes the documented 409. */
async function naming<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (error instanceof StoreConflictError) throw new ApiError('CONFLICT', DUPLICATE_TAG);
    throw error;
  }
}

export function registerTags(app: FastifyInstance, store: Store): void {
  const read = requireScope(store, 'tags.read');
  const write = requireScope(store, 'tags.write');
  const tags = { tags: ['Tags'] };

  app.get<{ Querystring: { limit: number; page?: string } }>(
    '/api/v2/tags',
    {
      preValidation: read,
      schema: {
        ...tags,
        operationId: 'listTags',
        summary: 'List tags',
        ...needs('tags.read'),
        querystring: ListQuery,
        response: { 200: List('Tag', 'A page of tags, in id order'), ...errors(400, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const { limit, page } = request.query;
      const accountId = request.auth!.accountId;
      return sendIdPage(store, request, reply, { scope: ['tags'], limit, page }, (after) => store.listTags(accountId, limit, after), tagResource);
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v2/tags/:id',
    {
      preValidation: read,
      schema: {
        ...tags,
        operationId: 'getTag',
        summary: 'Retrieve a tag',
        ...needs('tags.read'),
        params: IdParams('tag'),
        response: { 200: Data('Tag', 'The tag'), ...errors(400, 404, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const tag = await store.getTag(request.auth!.accountId, request.params.id);
      if (!tag) throw new ApiError('NOT_FOUND', 'Tag');
      return sendData(request, reply, tagResource(tag));
    },
  );

  app.post<{ Body: TagCreate }>(
    '/api/v2/tags',
    {
      preValidation: write,
      schema: {
        ...tags,
        operationId: 'createTag',
        summary: 'Create a tag',
        ...needs('tags.write'),
        body: TagCreate,
        response: { 201: Data('Tag', 'The new tag', 201), ...errors(...WITH_BODY, 409, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const { name, color, description } = request.body;
      const tag = await naming(store.createTag(request.auth!.accountId, { name: name.trim(), color, description }));
      return sendData(request, reply, tagResource(tag), 201);
    },
  );

  app.patch<{ Params: { id: number }; Body: TagPatch }>(
    '/api/v2/tags/:id',
    {
      preValidation: write,
      schema: {
        ...tags,
        operationId: 'updateTag',
        summary: 'Update a tag',
        ...needs('tags.write'),
        params: IdParams('tag'),
        body: TagPatch,
        response: { 200: Data('Tag', 'The tag as it now stands'), ...errors(...WITH_BODY, 404, 409, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const { name, color, description } = request.body;
      const change = { name: name?.trim(), color, description };
      const tag = await naming(store.updateTag(request.auth!.accountId, request.params.id, change));
      if (!tag) throw new ApiError('NOT_FOUND', 'Tag');
      return sendData(request, reply, tagResource(tag));
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/api/v2/tags/:id',
    {
      preValidation: write,
      schema: {
        ...tags,
        operationId: 'deleteTag',
        summary: 'Delete a tag and take it off every call',
        ...needs('tags.write'),
        params: IdParams('tag'),
        response: { 204: NoContent('Deleted'), ...errors(400, 404, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const deleted = await store.deleteTag(request.auth!.accountId, request.params.id);
      if (!deleted) throw new ApiError('NOT_FOUND', 'Tag');
      return reply.code(204).send();
    },
  );
}
