import { formatDateTime } from '../../../domain/time.js';
import type { OAuthClient } from '../../../store/store.js';

/** An API client as the Integrations page shows it; its secret never. */
export const clientJson = (c: OAuthClient) => ({
  client_id: c.clientId,
  name: c.name,
  scopes: c.scopes,
  created_at: formatDateTime(c.createdAt),
  revoked_at: c.revokedAt === null ? null : formatDateTime(c.revokedAt),
});
