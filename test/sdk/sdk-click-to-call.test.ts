import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClickToCallService } from '../../src/click-to-call/service.js';
import { SimulatedController, simulatedPhoneUri } from '../../src/click-to-call/simulated.js';
import { issueClient } from '../../src/admin.js';
import { ConflictError, NotFoundError, Sipsim, type ClickToCall } from '../../src/sdk/index.js';
import { describeEngines } from '../helpers/engines.js';
import { createHarness, type ApiHarness } from '../helpers/fixture.js';

/** The SDK's click-to-call and webhook subscriptions against a real server on a real port. */
describeEngines('the SDK for click-to-call and webhooks', (engine) => {
  let h: ApiHarness;
  let sipsim: Sipsim;
  let phone: number;

  beforeAll(async () => {
    h = await createHarness(engine, {
      clickToCall: (store) =>
        new ClickToCallService(store, new SimulatedController({ phoneAnswerMs: 40, targetRingMs: 40, talkMs: 5000, targetRingTimeoutMs: 100 }), {
          maxActivePerAccount: 5,
          phoneUri: simulatedPhoneUri,
        }),
    });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = h.app.server.address() as { port: number };
    const { client, clientSecret } = await issueClient(h.store, h.accountId, {});
    sipsim = new Sipsim({ baseUrl: `http://127.0.0.1:${port}`, clientId: client.clientId, clientSecret });
    phone = (await h.store.createPhone(h.accountId, { number: '+33198765401', name: 'Desk', internalNumber: 101 })).id;
  });
  afterAll(() => h?.close());

  it('places a call, follows it, and hangs it up', async () => {
    const placed = await sipsim.calls.create({ phone_id: phone, number: '+33612345678' });
    expect(placed).toMatchObject({ status: 'ringing_phone', failure: null, phone_id: phone, target_number: '+33612345678' });
    let call: ClickToCall = placed;
    const deadline = Date.now() + 5000;
    while (call.status !== 'connected' && Date.now() < deadline) call = await sipsim.calls.retrieveClickToCall(placed.id);
    expect(call.status).toBe('connected');
    const ended = await sipsim.calls.hangup(placed.id);
    expect(ended).toMatchObject({ id: placed.id, status: 'completed', sip_status: 'answer', answered: true });
    // The record is an ordinary call to the call methods too.
    expect(await sipsim.calls.retrieve(placed.id)).toMatchObject({ id: placed.id, call_type: 'outbound' });
    expect(await sipsim.calls.hangup(placed.id).catch((e: unknown) => e)).toBeInstanceOf(ConflictError);
    expect(await sipsim.calls.create({ phone_id: 987654, number: '+33612345678' }).catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
  });

  it('lists and picks the webhook events', async () => {
    expect((await sipsim.webhooks.available()).map((e) => e.event)).toContain('outgoing_call_end');
    expect(await sipsim.webhooks.list()).toEqual([]);
    expect(await sipsim.webhooks.enable('tags').catch((e: unknown) => e)).toBeInstanceOf(ConflictError);
    await h.store.webhooks.setUrl(h.accountId, 'https://hooks.example/sipsim', []);
    expect(await sipsim.webhooks.enable('tags')).toEqual({ url: 'https://hooks.example/sipsim', events: [{ event: 'tags' }] });
    expect(await sipsim.webhooks.list()).toEqual([{ event: 'tags' }]);
    expect((await sipsim.webhooks.disable('tags')).events).toEqual([]);
  });
});
