import type { Kysely, Selectable } from 'kysely';
import { DEFAULT_PHONE_SETTINGS, mergeSettings, type Employee, type Phone, type PhoneSettingsPatch, type PhoneStatus } from '../domain/directory.js';
import { NotFoundError } from '../domain/errors.js';
import { nowSeconds } from '../domain/time.js';
import type { Engine } from './engine.js';
import type { Guarded } from './guarded.js';
import { pageOf, type DirectoryPage } from './pages.js';
import { lockRow } from './row-lock.js';
import type { Database } from './schema.js';

export interface NewPhone {
  number: string;
  name: string;
  employeeId?: number | null;
  status?: PhoneStatus;
  internalNumber?: number | null;
  groupId?: number | null;
  groupTitle?: string | null;
  settings?: PhoneSettingsPatch;
}

export interface PhoneChange {
  name?: string;
  status?: PhoneStatus;
  employeeId?: number | null;
  groupId?: number | null;
  groupTitle?: string | null;
  settings?: PhoneSettingsPatch;
}

/**
 * An account's employees and phone lines. A row asked for by id that is not
 * the account's is a NotFoundError, whichever method asks. Calls keep the ids
 * they were made with: history says which line and which person it was at
 * the time, even once the line or the person is gone.
 */
export class DirectoryStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
    private readonly guarded: Guarded,
  ) {}

  // ---- employees ----

  async createEmployee(accountId: number, input: { name: string; email?: string | null }): Promise<Employee> {
    const now = nowSeconds();
    const row = await this.guarded(() =>
      this.db
        .insertInto('employees')
        .values({ account_id: accountId, name: input.name, email: input.email ?? null, created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return { id: row.id, accountId, name: input.name, email: input.email ?? null, createdAt: now, updatedAt: now, phoneIds: [] };
  }

  /** The employee with the ids of their phones; NotFoundError when the account has none of that id. */
  async getEmployee(accountId: number, id: number): Promise<Employee> {
    const employee = await this.findEmployee(accountId, id);
    if (!employee) throw new NotFoundError('Employee', { id, accountId });
    return employee;
  }

  /** The employee, or null: for callers that word a missing one themselves. */
  async findEmployee(accountId: number, id: number): Promise<Employee | null> {
    const { items } = await this.listEmployees(accountId, 1, null, id);
    return items[0] ?? null;
  }

  /** Employees in id order, each with the ids of its phones. */
  async listEmployees(accountId: number, limit: number, afterId: number | null, onlyId?: number): Promise<DirectoryPage<Employee>> {
    return this.guarded(async () => {
      const rows = await this.db
        .selectFrom('employees')
        .selectAll()
        .where('account_id', '=', accountId)
        .$if(afterId !== null, (qb) => qb.where('id', '>', afterId!))
        .$if(onlyId !== undefined, (qb) => qb.where('id', '=', onlyId!))
        .orderBy('id')
        .limit(limit + 1)
        .execute();
      const page = pageOf(rows, limit);
      const ids = page.items.map((r) => r.id);
      const phones = ids.length
        ? await this.db
            .selectFrom('phones')
            .select(['id', 'employee_id'])
            .where('account_id', '=', accountId)
            .where('employee_id', 'in', ids)
            .orderBy('id')
            .execute()
        : [];
      const phoneIds = new Map<number, number[]>();
      for (const p of phones) phoneIds.set(p.employee_id!, [...(phoneIds.get(p.employee_id!) ?? []), p.id]);
      return {
        items: page.items.map((r) => ({
          id: r.id,
          accountId,
          name: r.name,
          email: r.email,
          createdAt: r.created_at,
          updatedAt: r.updated_at,
          phoneIds: phoneIds.get(r.id) ?? [],
        })),
        next: page.next,
      };
    });
  }

  /** Renames an employee or changes their email (null removes it). */
  async updateEmployee(accountId: number, id: number, change: { name?: string; email?: string | null }): Promise<void> {
    const set: { name?: string; email?: string | null; updated_at: number } = { updated_at: nowSeconds() };
    if (change.name !== undefined) set.name = change.name;
    if (change.email !== undefined) set.email = change.email;
    const result = await this.guarded(() =>
      this.db.updateTable('employees').set(set).where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst(),
    );
    if (Number(result.numUpdatedRows) === 0) throw new NotFoundError('Employee', { id, accountId });
  }

  /**
   * Removes an employee; their phones stay, belonging to nobody, in the same
   * transaction. Returns the ids of those phones.
   */
  async deleteEmployee(accountId: number, id: number): Promise<number[]> {
    const freed = await this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        const phones = await trx.selectFrom('phones').select('id').where('account_id', '=', accountId).where('employee_id', '=', id).orderBy('id').execute();
        const deleted = await trx.deleteFrom('employees').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
        if (Number(deleted.numDeletedRows) === 0) return null;
        if (phones.length) {
          await trx
            .updateTable('phones')
            .set({ employee_id: null, updated_at: nowSeconds() })
            .where('account_id', '=', accountId)
            .where('employee_id', '=', id)
            .execute();
        }
        return phones.map((p) => Number(p.id));
      }),
    );
    if (!freed) throw new NotFoundError('Employee', { id, accountId });
    return freed;
  }

  // ---- phones ----

  async createPhone(accountId: number, input: NewPhone): Promise<Phone> {
    const now = nowSeconds();
    const settings = mergeSettings(DEFAULT_PHONE_SETTINGS, input.settings ?? {});
    const status = input.status ?? 'active';
    const row = await this.guarded(() =>
      this.db
        .insertInto('phones')
        .values({
          account_id: accountId,
          employee_id: input.employeeId ?? null,
          name: input.name,
          status,
          internal_number: input.internalNumber ?? null,
          number: input.number,
          group_id: input.groupId ?? null,
          group_title: input.groupTitle ?? null,
          settings: JSON.stringify(settings),
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return {
      id: row.id,
      accountId,
      employeeId: input.employeeId ?? null,
      name: input.name,
      status,
      internalNumber: input.internalNumber ?? null,
      number: input.number,
      groupId: input.groupId ?? null,
      groupTitle: input.groupTitle ?? null,
      settings,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** The phone; NotFoundError when the account has none of that id. */
  async getPhone(accountId: number, id: number): Promise<Phone> {
    const row = await this.guarded(() =>
      this.db.selectFrom('phones').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst(),
    );
    if (!row) throw new NotFoundError('Phone', { id, accountId });
    return toPhone(row);
  }

  /** Phones in id order, of the given statuses when asked. */
  async listPhones(accountId: number, filter: { statuses?: PhoneStatus[] }, limit: number, afterId: number | null): Promise<DirectoryPage<Phone>> {
    const rows = await this.guarded(() =>
      this.db
        .selectFrom('phones')
        .selectAll()
        .where('account_id', '=', accountId)
        .$if(filter.statuses !== undefined, (qb) => qb.where('status', 'in', filter.statuses!))
        .$if(afterId !== null, (qb) => qb.where('id', '>', afterId!))
        .orderBy('id')
        .limit(limit + 1)
        .execute(),
    );
    const page = pageOf(rows, limit);
    return { items: page.items.map(toPhone), next: page.next };
  }

  /**
   * Changes a phone's name, status, employee, group or settings (merged, not
   * replaced). NotFoundError for a phone, or an employee to give it to, that
   * is not the account's: an employee of another account is reported exactly
   * like a missing one.
   */
  async updatePhone(accountId: number, id: number, change: PhoneChange): Promise<Phone> {
    return this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        await lockRow(trx, this.engine, 'phones', accountId, id);
        const row = await trx.selectFrom('phones').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
        if (!row) throw new NotFoundError('Phone', { id, accountId });
        if (change.employeeId != null) {
          const employee = await trx
            .selectFrom('employees')
            .select('id')
            .where('account_id', '=', accountId)
            .where('id', '=', change.employeeId)
            .executeTakeFirst();
          if (!employee) throw new NotFoundError('Employee', { id: change.employeeId, accountId });
        }
        const current = toPhone(row);
        const updated: Phone = {
          ...current,
          name: change.name ?? current.name,
          status: change.status ?? current.status,
          employeeId: change.employeeId === undefined ? current.employeeId : change.employeeId,
          groupId: change.groupId === undefined ? current.groupId : change.groupId,
          groupTitle: change.groupTitle === undefined ? current.groupTitle : change.groupTitle,
          settings: mergeSettings(current.settings, change.settings ?? {}),
          updatedAt: nowSeconds(),
        };
        await trx
          .updateTable('phones')
          .set({
            name: updated.name,
            status: updated.status,
            employee_id: updated.employeeId,
            group_id: updated.groupId,
            group_title: updated.groupTitle,
            settings: JSON.stringify(updated.settings),
            updated_at: updated.updatedAt,
          })
          .where('account_id', '=', accountId)
          .where('id', '=', id)
          .execute();
        return updated;
      }),
    );
  }

  /** Removes a phone line; past calls keep its id. */
  async deletePhone(accountId: number, id: number): Promise<void> {
    const deleted = await this.guarded(() => this.db.deleteFrom('phones').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst());
    if (Number(deleted.numDeletedRows) === 0) throw new NotFoundError('Phone', { id, accountId });
  }
}

function toPhone(row: Selectable<Database['phones']>): Phone {
  return {
    id: row.id,
    accountId: row.account_id,
    employeeId: row.employee_id,
    name: row.name,
    status: row.status as PhoneStatus,
    internalNumber: row.internal_number,
    number: row.number,
    groupId: row.group_id,
    groupTitle: row.group_title,
    settings: mergeSettings(DEFAULT_PHONE_SETTINGS, JSON.parse(row.settings) as unknown),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
