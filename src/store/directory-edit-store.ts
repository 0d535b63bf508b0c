import type { Kysely } from 'kysely';
import type { Engine } from './engine.js';
import type { Database } from './schema.js';

/**
 * Changing and removing employees and phones (the operator's side; the API
 * changes phones through Store.updatePhone). Calls keep the ids they were
 * made with: history says which line and which person it was at the time.
 */
export class DirectoryEditStore {
  constructor(
    private readonly db: Kysely<Database>,
    readonly engine: Engine,
    private readonly guard: <T>(operation: () => Promise<T>) => Promise<T>,
  ) {}

  /** Renames an employee or changes their email (null removes it). False when there is no such employee. */
  async updateEmployee(accountId: number, id: number, change: { name?: string; email?: string | null }): Promise<boolean> {
    const set: { name?: string; email?: string | null; updated_at: number } = { updated_at: Math.floor(Date.now() / 1000) };
    if (change.name !== undefined) set.name = change.name;
    if (change.email !== undefined) set.email = change.email;
    return this.guard(async () => {
      const result = await this.db.updateTable('employees').set(set).where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  /**
   * Removes an employee; their phones stay, belonging to nobody, in the same
   * transaction. Returns the ids of those phones, or null when there was no
   * such employee.
   */
  async deleteEmployee(accountId: number, id: number): Promise<number[] | null> {
    return this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        const phones = await trx.selectFrom('phones').select('id').where('account_id', '=', accountId).where('employee_id', '=', id).orderBy('id').execute();
        const deleted = await trx.deleteFrom('employees').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
        if (Number(deleted.numDeletedRows) === 0) return null;
        if (phones.length) {
          await trx
            .updateTable('phones')
            .set({ employee_id: null, updated_at: Math.floor(Date.now() / 1000) })
            .where('account_id', '=', accountId)
            .where('employee_id', '=', id)
            .execute();
        }
        return phones.map((p) => Number(p.id));
      }),
    );
  }

  /** Removes a phone line. False when there was no such phone. */
  async deletePhone(accountId: number, id: number): Promise<boolean> {
    return this.guard(async () => {
      const deleted = await this.db.deleteFrom('phones').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
      return Number(deleted.numDeletedRows) > 0;
    });
  }
}
