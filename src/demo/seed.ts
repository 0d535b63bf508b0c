import { issueClient, type IssuedClient } from '../admin.js';
import { nowSeconds } from '../domain/time.js';
import type { Store } from '../store/store.js';
import { FIRST_NAMES, LAST_NAMES, generateCalls, randomNumber, randomSource, type DemoDirectory, type DemoPhone } from './generate.js';

export const DEMO_ACCOUNT_NAME = 'Demo Company';

export interface DemoOptions {
  seed?: number;
  calls?: number;
  /** The newest start time of the history (Unix seconds); defaults to now. */
  until?: number;
  onProgress?: (inserted: number, total: number) => void;
  /** Told the account's id as soon as it exists, so that an interrupted run can say what it left. */
  onAccount?: (accountId: number) => void;
}

export interface DemoResult extends IssuedClient {
  accountId: number;
  calls: number;
}

const EMPLOYEES = 12;

/** Creates the demo account: employees with phones, department lines, tags, calls and an API client. */
export async function createDemo(store: Store, options: DemoOptions = {}): Promise<DemoResult> {
  const seed = options.seed ?? 42;
  const count = options.calls ?? 20000;
  const until = options.until ?? nowSeconds();
  const random = randomSource(seed ^ 0x5eed);

  const account = await store.accounts.create({ name: DEMO_ACCOUNT_NAME, email: 'admin@demo-company.example', timezone: 'Europe/Paris' });
  options.onAccount?.(account.id);
  const phones: DemoPhone[] = [];
  const usedNames = new Set<string>();
  for (let i = 0; i < EMPLOYEES; i++) {
    let name: string;
    do name = `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`;
    while (usedNames.has(name));
    usedNames.add(name);
    const email = `${name.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^a-z]+/g, '.')}@demo-company.example`;
    const employee = await store.directory.createEmployee(account.id, { name, email });
    const group = i < 5 ? 'sales' : i < 10 ? 'support' : null;
    const phone = await store.directory.createPhone(account.id, {
      number: `+3319${String(4000000 + i * 1731 + random.int(0, 999)).padStart(7, '0')}`,
      name: `${name} (${group === 'sales' ? 'Sales' : group === 'support' ? 'Support' : 'Office'})`,
      employeeId: employee.id,
      internalNumber: 101 + i,
      groupId: group === 'sales' ? 1 : group === 'support' ? 2 : null,
      groupTitle: group === 'sales' ? 'Sales Team' : group === 'support' ? 'Support Team' : null,
    });
    phones.push({ id: phone.id, number: phone.number, employeeId: employee.id, employeeName: name, group });
  }
  for (const [title, group, internal] of [['Sales line', 'sales', 200], ['Support line', 'support', 300]] as const) {
    const phone = await store.directory.createPhone(account.id, {
      number: `+3318${String(7000000 + internal + random.int(0, 999)).padStart(7, '0')}`,
      name: title,
      internalNumber: internal,
      groupId: group === 'sales' ? 1 : 2,
      groupTitle: group === 'sales' ? 'Sales Team' : 'Support Team',
      settings: {
        forwarding_setting: {
          forced: { enabled: false, forward_number: null },
          conditional: { enabled: true, timeout_seconds: 25, forward_number: randomNumber(random) },
        },
      },
    });
    phones.push({ id: phone.id, number: phone.number, employeeId: null, employeeName: null, group });
  }
  // Lines that exist but take no calls, so that the status filter has something to show.
  await store.directory.createPhone(account.id, { number: randomNumber(random), name: 'Former reception', status: 'inactive', internalNumber: 400 });
  await store.directory.createPhone(account.id, { number: randomNumber(random), name: 'New hire', status: 'not_activated', internalNumber: 401 });

  const tag = (name: string, color: string, description: string) => store.tags.create(account.id, { name, color, description });
  const tagIds: DemoDirectory['tagIds'] = {
    important: (await tag('Important', '#EF4444', 'High priority calls')).id,
    followUp: (await tag('Follow-up', '#F59E0B', 'Requires a callback')).id,
    salesLead: (await tag('Sales Lead', '#22C55E', 'Potential sales opportunity')).id,
    support: (await tag('Support', '#3B82F6', 'Customer support request')).id,
    complaint: (await tag('Complaint', '#DC2626', 'Unhappy customer')).id,
    vip: (await tag('VIP', '#8B5CF6', 'Key account')).id,
    spam: (await tag('Spam', '#6B7280', 'Unwanted call')).id,
  };

  let inserted = 0;
  for (const batch of generateCalls({ accountId: account.id, phones, tagIds }, { seed, count, until })) {
    await store.ingest.insertCalls(account.id, batch);
    inserted += batch.length;
    options.onProgress?.(inserted, count);
    // SQLite's inserts never leave the event loop; a turn of it between batches lets Ctrl-C and the server in.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await store.analyze();

  const issued = await issueClient(store, account.id, { name: 'Demo client' });
  return { accountId: account.id, calls: inserted, ...issued };
}
