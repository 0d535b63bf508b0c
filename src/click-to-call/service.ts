import type { CallResource } from '../domain/call.js';
import { sipStatusFromCode, type SipStatus } from '../domain/call.js';
import type { Phone } from '../domain/directory.js';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import { formatDateTime } from '../domain/time.js';
import { DirectoryIndex, resolveCall } from '../ingest/resolve.js';
import type { CallSnapshot, ThirdPartyCallRequest, ThirdPartyCallStatus, EndedBy } from '../sip/index.js';
import type { ClickCallChange, ClickCallRow } from '../store/click-call-store.js';
import type { Store } from '../store/store.js';
import { messageOfPbxEvent, messagesOfFinishedCall } from '../domain/webhook-messages.js';

/** A call in progress as a controller runs it: the SIP agent's, or the simulation's. */
export interface ControlledCall {
  snapshot(): CallSnapshot;
  on(event: 'state', listener: (snapshot: CallSnapshot) => void): unknown;
  hangup(endedBy?: EndedBy): Promise<CallSnapshot>;
}

export interface CallController {
  /** What the controller is, for the logs: "SIP via sip:proxy" or "simulated". */
  readonly description: string;
  placeCall(request: ThirdPartyCallRequest): ControlledCall;
  close(): Promise<void>;
}

export interface ClickToCallSettings {
  /** Calls in progress an account may have at once. */
  maxActivePerAccount: number;
  /** The SIP URI that rings the phone, or null when it cannot be rung (no extension). */
  phoneUri(phone: Phone): string | null;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** The call as it stands: the call object's fields known so far, its status and, when it failed, why. */
export type ClickToCallResource = Partial<CallResource> & {
  id: number;
  status: ThirdPartyCallStatus;
  failure: string | null;
};

const iso = (ms: number | null) => (ms === null ? null : formatDateTime(Math.floor(ms / 1000)));

/** A call id becomes the PBX id of its record and webhooks: unique, and telling where it came from. */
export const clickCallPbxId = (id: number) => `c2c_${id}`;

/**
 * Click-to-call: rings the employee's phone, then the number, and connects
 * them, through a controller (the SIP agent). Each step is written to the
 * store as it happens, with its webhook, so that GET /api/v2/calls/{id}
 * follows the call from any process; its end writes the call record under
 * the same id. The calls themselves live in this process, which holds the SIP
 * dialogs: hanging up goes through it.
 */
/**
 * Why a call cannot be hung up, given its click-to-call row (null when it has
 * none): it has ended (a conflict), it is a call that did not start through the
 * API (a conflict), or the account has no such call (not found).
 */
export async function cannotHangUp(store: Store, accountId: number, id: number, row: ClickCallRow | null): Promise<never> {
  if (row) throw new ConflictError(`Call ${id} has already ended`);
  if (await store.calls.find(accountId, id)) {
    throw new ConflictError(`Call ${id} is not in progress: only a call started with POST /api/v2/calls can be hung up, while it lasts`);
  }
  throw new NotFoundError('Call');
}

export class ClickToCallService {
  private readonly live = new Map<string, { call: ControlledCall; recorded: Promise<void> }>();

  constructor(
    private readonly store: Store,
    private readonly controller: CallController,
    private readonly settings: ClickToCallSettings,
  ) {}

  get description(): string {
    return this.controller.description;
  }

  /** Where warnings go once the app's logger exists. */
  useLog(log: NonNullable<ClickToCallSettings['log']>): void {
    this.settings.log = log;
  }

  async start(accountId: number, phoneId: number, number: string): Promise<ClickToCallResource> {
    const phone = await this.store.directory.getPhone(accountId, phoneId);
    if (phone.status !== 'active') throw new ConflictError(`Phone ${phone.id} is ${phone.status}: only an active phone can place calls`);
    const phoneUri = this.settings.phoneUri(phone);
    if (!phoneUri) throw new ConflictError(`Phone ${phone.id} has no extension to ring`);
    const limit = this.settings.maxActivePerAccount;
    if ((await this.store.clickCalls.activeCount(accountId)) >= limit) {
      throw new ConflictError(`The account already has ${limit} calls in progress, as many as it may have at once`);
    }

    const id = await this.store.clickCalls.reserveId();
    const startedAt = Date.now();
    const row: ClickCallRow = {
      accountId,
      id,
      phoneId: phone.id,
      employeeId: phone.employeeId,
      callerNumber: phone.number,
      targetNumber: number,
      status: 'ringing_phone',
      failure: null,
      sipCode: null,
      endedBy: null,
      startedAt,
      phoneAnsweredAt: null,
      answeredAt: null,
      endedAt: null,
    };
    await this.store.clickCalls.create(row, [this.event(row, 'outgoing_call_start', startedAt)]);
    let call: ControlledCall;
    try {
      call = this.controller.placeCall({
        phoneUri,
        number,
        // The employee's phone shows whom it is about to call; the number called shows the employee's line.
        phoneCallerId: { number },
        callerId: { number: phone.number, name: phone.name },
        // Both legs are marked as sipsim's own, so that a PBX reporting its calls
        // to sipsim can leave them out (examples/kamailio/kamailio.cfg does):
        // this call gets its record from here.
        phoneHeaders: [['X-Sipsim-Click-To-Call', String(id)]],
        targetHeaders: [['X-Sipsim-Click-To-Call', String(id)]],
      });
    } catch (error) {
      const failure = `the call could not be placed: ${error instanceof Error ? error.message : String(error)}`;
      await this.finish(row, { status: 'failed', failure, sipCode: 500, endedBy: 'error', endedAt: Date.now() });
      return this.resource((await this.store.clickCalls.get(accountId, id))!);
    }
    this.follow(row, call);
    return this.resource({ ...row, ...changeOf(call.snapshot(), row) });
  }

  /** The call as it stands, or null when the account has no click-to-call of that id. */
  async get(accountId: number, id: number): Promise<ClickToCallResource | null> {
    const row = await this.store.clickCalls.get(accountId, id);
    return row ? this.resource(row) : null;
  }

  /** Hangs a call up and answers with it as it ended; see cannotHangUp for why it may not. */
  async hangup(accountId: number, id: number): Promise<ClickToCallResource> {
    const entry = this.live.get(key(accountId, id));
    if (!entry) {
      const row = await this.store.clickCalls.get(accountId, id);
      if (!row || row.endedAt !== null) return cannotHangUp(this.store, accountId, id, row);
      // In progress in the store but not here: a process that died held it.
      await this.finishOrphan(row);
    } else {
      await entry.call.hangup('api').catch(() => undefined);
      await entry.recorded;
    }
    const ended = await this.get(accountId, id);
    if (!ended) throw new NotFoundError('Call');
    return ended;
  }

  /**
   * Ends the calls a previous process left in progress (it died holding their
   * SIP dialogs): each gets its record, as far as it had got.
   */
  async recover(): Promise<number> {
    const orphans = (await this.store.clickCalls.active()).filter((row) => !this.live.has(key(row.accountId, row.id)));
    for (const row of orphans) await this.finishOrphan(row);
    return orphans.length;
  }

  /** Hangs up every call in progress, records them, and closes the controller. */
  async close(): Promise<void> {
    const entries = [...this.live.values()];
    await Promise.all(entries.map(({ call }) => call.hangup('shutdown').catch(() => undefined)));
    await Promise.all(entries.map(({ recorded }) => recorded));
    await this.controller.close();
  }

  /** Records each step of a call as the controller reports it, one after the other. */
  private follow(row: ClickCallRow, call: ControlledCall): void {
    let last: string = row.status;
    let chain = Promise.resolve();
    let ended!: () => void;
    const recorded = new Promise<void>((resolve) => (ended = resolve));
    const k = key(row.accountId, row.id);
    this.live.set(k, { call, recorded });
    call.on('state', (snapshot) => {
      if (snapshot.status === last) return;
      last = snapshot.status;
      chain = chain
        .then(() => this.record(row, snapshot))
        .catch((error) => this.settings.log?.warn({ err: error, call: row.id }, 'a click-to-call step could not be recorded'))
        .then(() => {
          if (snapshot.endedAt !== null) {
            this.live.delete(k);
            ended();
          }
        });
    });
  }

  private async record(row: ClickCallRow, snapshot: CallSnapshot): Promise<void> {
    const change = changeOf(snapshot, row);
    if (snapshot.endedAt !== null) return this.finish(row, change);
    const answered = snapshot.status === 'connected' ? [this.event(row, 'outgoing_call_answer', snapshot.targetAnsweredAt ?? Date.now())] : [];
    await this.store.clickCalls.update(row.accountId, row.id, change, answered);
  }

  /** The last state, the call record and its end webhook, in one transaction. */
  private async finish(row: ClickCallRow, change: ClickCallChange): Promise<void> {
    const final = { ...row, ...change };
    const endedAt = final.endedAt ?? Date.now();
    const answeredAt = final.answeredAt;
    const directory = new DirectoryIndex(await this.store.ingest.phoneRefs(row.accountId));
    const call = resolveCall(
      {
        pbxId: clickCallPbxId(row.id),
        direction: 'outbound',
        callerNumber: row.callerNumber,
        targetNumber: row.targetNumber,
        phoneId: row.phoneId,
        employeeId: row.employeeId,
        startTime: Math.floor(row.startedAt / 1000),
        answeredTime: answeredAt === null ? null : Math.floor(answeredAt / 1000),
        endTime: Math.floor(endedAt / 1000),
        sipCode: final.sipCode ?? (answeredAt === null ? 487 : 200),
      },
      directory,
    );
    await this.store.clickCalls.finish(row.accountId, row.id, { ...change, endedAt }, call, messagesOfFinishedCall(call));
  }

  private async finishOrphan(row: ClickCallRow): Promise<void> {
    const answered = row.answeredAt !== null;
    await this.finish(row, {
      status: answered ? 'completed' : 'failed',
      failure: answered ? null : 'sipsim stopped while the call was ringing',
      sipCode: answered ? 200 : 487,
      endedBy: 'shutdown',
      endedAt: Date.now(),
    });
    this.settings.log?.info({ call: row.id, account: row.accountId }, 'ended a click-to-call left in progress by a stopped process');
  }

  private event(row: ClickCallRow, name: 'outgoing_call_start' | 'outgoing_call_answer', atMs: number) {
    return messageOfPbxEvent({ event: name, pbx_id: clickCallPbxId(row.id), caller: row.callerNumber, receiver: row.targetNumber, time: Math.floor(atMs / 1000) });
  }

  private resource(row: ClickCallRow): Promise<ClickToCallResource> {
    return clickCallResource(this.store, row);
  }
}

const key = (accountId: number, id: number) => `${accountId}:${id}`;

function changeOf(snapshot: CallSnapshot, row: ClickCallRow): ClickCallChange {
  return {
    status: snapshot.status,
    failure: snapshot.failure,
    sipCode: snapshot.sipCode,
    endedBy: snapshot.endedBy,
    phoneAnsweredAt: snapshot.phoneAnsweredAt ?? row.phoneAnsweredAt,
    answeredAt: snapshot.targetAnsweredAt ?? row.answeredAt,
    endedAt: snapshot.endedAt,
  };
}

/** The call as it stands; once it has ended, its record as /calls shows it, with how the click-to-call went. */
export async function clickCallResource(store: Store, row: ClickCallRow): Promise<ClickToCallResource> {
  const status = row.status as ThirdPartyCallStatus;
  if (row.endedAt !== null) {
    // Ended: the call record as /calls shows it, with how the click-to-call went.
    const call = await store.calls.find(row.accountId, row.id);
    if (call) return { ...call, status, failure: row.failure };
  }
  const answered = row.answeredAt !== null;
  return {
    id: row.id,
    status,
    failure: row.failure,
    call_type: 'outbound',
    direction: 'outbound',
    caller_number: row.callerNumber,
    target_number: row.targetNumber,
    receiver_number: row.targetNumber,
    answered,
    answered_phone_number: answered ? row.targetNumber : null,
    phone_id: row.phoneId,
    answered_phone_id: answered ? row.phoneId : null,
    employee_id: row.employeeId,
    start_time: iso(row.startedAt)!,
    answered_time: iso(row.answeredAt),
    ...(row.sipCode !== null ? { sip_status: sipStatusFromCode(row.sipCode) as SipStatus } : {}),
  };
}
