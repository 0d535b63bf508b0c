import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assembleCall, eventKey, parsePbxEvent, PBX_EVENT_NAMES, type PbxEvent } from '../../src/ingest/events.js';
import { checkRecord } from '../../src/ingest/ingest.js';
import { DirectoryIndex, resolveCall } from '../../src/ingest/resolve.js';

const T = 1736935200; // 2025-01-15T10:00:00Z
const call = (pbx = 'c1'): PbxEvent[] => [
  { event: 'incoming_call_start', pbx_id: pbx, caller: '+33612345678', receiver: '+33198765432', time: T },
  { event: 'incoming_call_start_chain_member_call', pbx_id: pbx, caller: '+33612345678', receiver: '101', time: T + 1 },
  { event: 'incoming_call_start_chain_member_call', pbx_id: pbx, caller: '+33612345678', receiver: '102', time: T + 1 },
  { event: 'incoming_call_end_chain_member_call', pbx_id: pbx, caller: '+33612345678', receiver: '102', time: T + 7 },
  { event: 'incoming_call_answer', pbx_id: pbx, caller: '+33612345678', receiver: '101', time: T + 7 },
  { event: 'incoming_call_end', pbx_id: pbx, caller: '+33612345678', receiver: '+33198765432', time: T + 90, duration: 83, status: 'ANSWER' },
];

describe('assembling a call from its events', () => {
  it('gives the same call for every order and any repeats of its events', () => {
    const expected = assembleCall(call());
    expect(expected).toMatchObject({ startTime: T, answeredTime: T + 7, endTime: T + 90, answeredBy: '101', sipCode: 200, direction: 'inbound' });
    fc.assert(
      fc.property(fc.shuffledSubarray(call(), { minLength: 6, maxLength: 6 }), fc.array(fc.nat(5), { maxLength: 4 }), (events, repeats) => {
        expect(assembleCall([...events, ...repeats.map((i) => events[i]!)])).toEqual(expected);
      }),
    );
  });

  it('is not a call before an end or a voicemail', () => {
    expect(assembleCall(call().slice(0, 5))).toBeNull();
  });

  it('a voicemail without its end event is still a finished voicemail call', () => {
    const record = assembleCall([
      call()[0]!,
      { event: 'voicemail', pbx_id: 'c1', caller: '+33612345678', receiver: '+33198765432', time: T + 30, duration: 20, audio_path: 'https://rec.example/vm.mp3' },
    ]);
    expect(record).toMatchObject({ voicemail: true, answeredTime: null, endTime: T + 50, sipCode: 487, playRecordLink: 'https://rec.example/vm.mp3' });
  });

  it('keys an event by what it says, so only an exact repeat is a duplicate', () => {
    const [start] = call();
    expect(eventKey({ ...start! })).toBe(eventKey(start!));
    expect(eventKey({ ...start!, time: T + 1 })).not.toBe(eventKey(start!));
  });

  it('never throws on any value, and names the field it refuses', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const parsed = parsePbxEvent(value);
        expect(typeof parsed === 'string' || PBX_EVENT_NAMES.includes(parsed.event)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(
        fc.record({
          event: fc.constantFrom(...PBX_EVENT_NAMES),
          pbx_id: fc.string(),
          caller: fc.string(),
          receiver: fc.string(),
          time: fc.oneof(fc.integer(), fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
          duration: fc.option(fc.oneof(fc.integer(), fc.string())),
          sip_code: fc.option(fc.oneof(fc.integer(), fc.string())),
          status: fc.option(fc.string()),
        }),
        (value) => {
          const parsed = parsePbxEvent(value);
          if (typeof parsed === 'string') return;
          // Whatever was taken assembles into a record that the store's rules accept, once it ends.
          const ended = { ...parsed, event: parsed.event.startsWith('outgoing') ? 'outgoing_call_end' : 'incoming_call_end' } as PbxEvent;
          const record = assembleCall([parsed, ended]);
          expect(record).not.toBeNull();
          expect(checkRecord(record!)).toBeNull();
        },
      ),
    );
    expect(parsePbxEvent({ event: 'incoming_call_start', pbx_id: 'x', caller: 'a', receiver: 'b', time: 1e13 })).toBe('time must be between 1990 and 2100');
    expect(parsePbxEvent({ event: 'incoming_call_end', pbx_id: 'x', caller: 'a', receiver: 'b', time: T, status: 'HAPPY' })).toMatch(/^status 'HAPPY' is not a known call outcome/);
  });
});

describe('matching a record against the directory', () => {
  const directory = new DirectoryIndex([
    { id: 1, employeeId: 10, number: '+33198765401', internalNumber: 101 },
    { id: 2, employeeId: null, number: '+33198765432', internalNumber: null },
  ]);
  const base = { pbxId: 'x', startTime: T, endTime: T + 60 };

  it('finds a phone by extension or by its number however it is written, never by a short tail', () => {
    expect(directory.find('101')?.id).toBe(1);
    expect(directory.find('33198765401')?.id).toBe(1);
    expect(directory.find('+33 1 98 76 54 32')?.id).toBe(2);
    expect(directory.find('5401')).toBeNull();
    expect(directory.find('102')).toBeNull();
  });

  it('a call from the account\'s phone goes out; any other comes in', () => {
    const out = resolveCall({ ...base, callerNumber: '101', targetNumber: '+33612345678', answeredTime: T + 5 }, directory);
    expect(out).toMatchObject({ callType: 'outbound', callerNumber: '+33198765401', phoneId: 1, answeredPhoneId: 1, employeeId: 10, answeredPhoneNumber: '+33612345678' });
    const missed = resolveCall({ ...base, callerNumber: '+33612345678', targetNumber: '+33198765432' }, directory);
    expect(missed).toMatchObject({ callType: 'missed', sipStatus: 'cancel', phoneId: 2, answeredPhoneId: null, employeeId: null });
    const answered = resolveCall({ ...base, callerNumber: '+33612345678', targetNumber: '+33198765432', answeredTime: T + 9, answeredBy: '101' }, directory);
    expect(answered).toMatchObject({ callType: 'inbound', phoneId: 2, answeredPhoneId: 1, employeeId: 10, answeredPhoneNumber: '+33198765401', waitDurationSec: 9, durationSec: 51 });
  });

  it('takes explicit ids only when they are the account\'s', () => {
    const record = { ...base, callerNumber: '+33612345678', targetNumber: '+33198765432', phoneId: 99, employeeId: 10 };
    expect(resolveCall(record, directory)).toMatchObject({ phoneId: 2, employeeId: 10 });
  });
});
