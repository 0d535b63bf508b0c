import type { Call, Tag } from '../types';

export const CALL_TYPES = [
  { value: 'inbound', label: 'Inbound' },
  { value: 'outbound', label: 'Outbound' },
  { value: 'missed', label: 'Missed' },
  { value: 'voicemail', label: 'Voicemail' },
] as const;

const OUTCOMES: Record<string, string> = {
  answer: 'Answered',
  cancel: 'Cancelled',
  no_answer: 'No answer',
  busy: 'Busy',
  unavailable: 'Unavailable',
  other: 'Other',
};

export const outcomeLabel = (status: string): string => OUTCOMES[status] ?? status;

const ARROWS: Record<string, string> = { inbound: '↙', outbound: '↗', missed: '✕', voicemail: '✉' };

export function CallType({ type }: { type: string }) {
  return (
    <span class={`type type-${type}`}>
      <span aria-hidden="true">{ARROWS[type] ?? '•'}</span> {type}
    </span>
  );
}

export function TagChip({ tag, color, onRemove }: { tag: { id: number; name: string }; color?: string; onRemove?: () => void }) {
  return (
    <span class="chip" style={color ? { borderColor: color } : undefined}>
      {color && <span class="dot" style={{ background: color }} aria-hidden="true" />}
      {tag.name}
      {onRemove && (
        <button type="button" class="chip-x" aria-label={`Remove tag ${tag.name}`} onClick={onRemove}>
          ×
        </button>
      )}
    </span>
  );
}

export function tagColor(tags: Tag[] | undefined, id: number): string | undefined {
  return tags?.find((t) => t.id === id)?.color;
}

/** The caller as people read it: the name when known, the number always. */
export function Caller({ call }: { call: Pick<Call, 'caller_name' | 'caller_number'> }) {
  return (
    <span class="caller">
      {call.caller_name && <span class="name">{call.caller_name}</span>}
      <span class="number">{call.caller_number}</span>
    </span>
  );
}
