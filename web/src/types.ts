// The API's shapes, from the project's SDK (type-only: nothing of the SDK's runtime is bundled).
export type { Call, Tag, Phone, Employee, ClickToCall, PhoneStatus } from '../../packages/sdk/src/types.js';

export interface Delivery {
  id: number;
  event: string;
  pbx_id: string | null;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  created_at: string;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  delivered_at: string | null;
  last_status: number | null;
  last_error: string | null;
  body: string;
}
