import type { RequestOptions, Sipsim } from '../client.js';
import type { PagePromise } from '../pagination.js';
import type { Employee, ListParams } from '../types.js';
import { id } from './path.js';

/** The account's employees, each with its phones (scope account.read). The API does not create them. */
export class Employees {
  constructor(private readonly client: Sipsim) {}

  /** Employees in id order. */
  list(params: ListParams = {}, options?: RequestOptions): PagePromise<Employee> {
    return this.client.requestList<Employee>('/api/v2/employees', { ...params }, options);
  }

  retrieve(employeeId: number, options?: RequestOptions): Promise<Employee> {
    return this.client.requestData({ method: 'GET', path: `/api/v2/employees/${id(employeeId)}` }, options);
  }
}
