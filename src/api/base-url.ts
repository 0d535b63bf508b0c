import type { FastifyRequest } from 'fastify';

/** The base URL clients reached this server at, for links in answers. */
export const baseUrlOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;
