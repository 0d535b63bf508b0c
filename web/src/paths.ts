/** The dashboard's own endpoints (docs/dashboard.md); /api/v2 paths are written where they are used. */
export const DASH = '/dashboard/api';
export const paths = {
  session: `${DASH}/session`,
  reports: `${DASH}/reports`,
  changes: `${DASH}/calls/changes`,
  callWebhooks: (id: number | string) => `${DASH}/calls/${id}/webhooks`,
  webhook: `${DASH}/webhook`,
  revealSecret: `${DASH}/webhook/reveal-secret`,
  rotateSecret: `${DASH}/webhook/rotate-secret`,
  webhookTest: `${DASH}/webhook/test`,
  deliveries: `${DASH}/webhook/deliveries`,
  redeliver: `${DASH}/webhook/deliveries/redeliver`,
  clients: `${DASH}/clients`,
  client: (id: string) => `${DASH}/clients/${encodeURIComponent(id)}`,
};
