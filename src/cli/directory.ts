import { Option, type Command } from 'commander';
import { assertValid } from '../api/validation.js';
import { EmployeeCreate, PhoneCreate, TagCreate } from '../api/schemas/directory.js';
import {
  DUPLICATE_TAG,
  employeeResource,
  phoneResource,
  PHONE_NAME_MAX,
  PHONE_STATUSES,
  tagResource,
  type PhoneStatus,
} from '../domain/directory.js';
import { ApiError, ConflictError, StoreConflictError } from '../domain/errors.js';
import type { DirectoryPage } from '../store/pages.js';
import type { Store } from '../store/store.js';
import { accountOption, action, CliError, databaseOption, jsonOption, positiveInt, print, requireAccount, table, withStore } from './common.js';

/**
 * `sipsim employees|phones|tags create|list`, and update|delete for employees and phones: the directory of an account, for
 * a team that feeds sipsim from its own PBX. Input is checked with the API's
 * own schemas, so the CLI accepts exactly what the API would.
 */

/** Flags named after their API field where the two differ. */
const FLAGS: Record<string, string> = { internal_number: '--extension', employee_id: '--employee' };

/** Checks a command's input against an API schema, wording errors by flag. */
function checked<T>(schema: object, value: Record<string, unknown>): T {
  const input = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
  try {
    return assertValid<T>(schema, input);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const messages = error.messages.map((m) =>
      m
        .replace(/^Invalid field '(\w+)'/, (_, f: string) => `Invalid ${FLAGS[f] ?? `--${f.replace(/_/g, '-')}`}`)
        .replace(/^Missing required field '(\w+)'/, (_, f: string) => `Missing ${FLAGS[f] ?? `--${f.replace(/_/g, '-')}`}`),
    );
    throw new CliError(messages.join('\n'));
  }
}

async function requireEmployee(store: Store, accountId: number, employeeId: number | null | undefined): Promise<void> {
  if (employeeId != null) await store.directory.getEmployee(accountId, employeeId);
}

/** Reads every page of a directory list. */
async function all<T>(read: (afterId: number | null) => Promise<DirectoryPage<T>>): Promise<T[]> {
  const items: T[] = [];
  let after: number | null = null;
  do {
    const page = await read(after);
    items.push(...page.items);
    after = page.next;
  } while (after !== null);
  return items;
}

/** `<things> list`: every item of the account, as a table or as the API's JSON. */
function listCommand<T>(
  parent: Command,
  spec: {
    description: string;
    options?: Option[];
    read: (store: Store, accountId: number, afterId: number | null, opts: Record<string, any>) => Promise<DirectoryPage<T>>;
    resource: (item: T) => unknown;
    columns: string[];
    row: (item: T) => Array<string | number | null>;
    none: string;
  },
): void {
  const command = parent.command('list').description(spec.description).addOption(accountOption());
  for (const option of spec.options ?? []) command.addOption(option);
  command
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (opts) => {
        const list = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          return all((after) => spec.read(store, opts.account, after, opts));
        });
        print(opts.json, list.map(spec.resource), table(spec.columns, list.map(spec.row)) || spec.none);
      }),
    );
}

export function registerDirectoryCommands(program: Command): void {
  // ---- employees ----
  const employees = program.command('employees').description("manage an account's employees");
  employees
    .command('create')
    .description('add an employee')
    .addOption(accountOption())
    .requiredOption('--name <name>', 'full name')
    .option('--email <email>', 'email address')
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (opts) => {
        const input = checked<EmployeeCreate>(EmployeeCreate, { name: opts.name, email: opts.email });
        const employee = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          return store.directory.createEmployee(opts.account, { name: input.name.trim(), email: input.email ?? null });
        });
        print(opts.json, employeeResource(employee), `Employee ${employee.id} created: ${employee.name}`);
      }),
    );
  employees
    .command('update')
    .description("change an employee's name or email")
    .argument('<id>', 'employee id', positiveInt('id'))
    .addOption(accountOption())
    .option('--name <name>', 'full name')
    .option('--email <email>', 'email address')
    .option('--no-email', 'remove the email address')
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (id: number, opts) => {
        if (opts.name === undefined && opts.email === undefined) throw new CliError('Nothing to change: give --name, --email or --no-email');
        const employee = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          const current = await store.directory.getEmployee(opts.account, id);
          // Commander gives --no-email as email: false.
          const email = opts.email === false ? null : opts.email === undefined ? current.email : opts.email;
          const input = checked<EmployeeCreate>(EmployeeCreate, { name: opts.name ?? current.name, email });
          await store.directory.updateEmployee(opts.account, id, { name: input.name.trim(), email: input.email ?? null });
          return store.directory.getEmployee(opts.account, id);
        });
        print(opts.json, employeeResource(employee), `Employee ${employee.id} updated: ${employee.name}${employee.email ? ` <${employee.email}>` : ''}`);
      }),
    );
  employees
    .command('delete')
    .description('remove an employee; their phones stay, belonging to nobody, and past calls keep their employee id')
    .argument('<id>', 'employee id', positiveInt('id'))
    .addOption(accountOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (id: number, opts) => {
        const freed = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          return store.directory.deleteEmployee(opts.account, id);
        });
        const phones = freed.length ? `; phone${freed.length === 1 ? '' : 's'} ${freed.join(', ')} now belong${freed.length === 1 ? 's' : ''} to nobody` : '';
        print(opts.json, { deleted: id, unassigned_phone_ids: freed }, `Employee ${id} deleted${phones}`);
      }),
    );
  listCommand(employees, {
    description: 'list employees with the ids of their phones',
    read: (store, accountId, after) => store.directory.listEmployees(accountId, 1000, after),
    resource: employeeResource,
    columns: ['ID', 'NAME', 'EMAIL', 'PHONES'],
    row: (e) => [e.id, e.name, e.email, e.phoneIds.join(',') || null],
    none: 'No employees',
  });

  // ---- phones ----
  const phones = program.command('phones').description("manage an account's phone lines");
  phones
    .command('create')
    .description('add a phone line: its public number, extension and employee')
    .addOption(accountOption())
    .requiredOption('--number <e164>', 'public number in E.164 format, such as +33612345678')
    .option('--extension <n>', 'internal extension, 100 to 999')
    .option('--employee <id>', 'the employee it belongs to')
    .option('--name <name>', 'a label (default: the extension or the number)')
    .addOption(new Option('--status <status>', 'line status').choices([...PHONE_STATUSES]).default('active'))
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (opts) => {
        const asNumber = (v: string | undefined) => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : v);
        const input = checked<PhoneCreate>(PhoneCreate, {
          number: opts.number,
          name: opts.name ?? (opts.extension ? `Extension ${opts.extension}` : opts.number),
          internal_number: asNumber(opts.extension),
          employee_id: asNumber(opts.employee),
          status: opts.status,
        });
        const phone = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          await requireEmployee(store, opts.account, input.employee_id);
          try {
            return await store.directory.createPhone(opts.account, {
              number: input.number,
              name: input.name.trim(),
              internalNumber: input.internal_number ?? null,
              employeeId: input.employee_id ?? null,
              status: input.status as PhoneStatus | undefined,
            });
          } catch (error) {
            if (!(error instanceof StoreConflictError)) throw error;
            throw new CliError(
              error.target === 'phones.internal_number'
                ? `Extension ${input.internal_number} is already taken in account ${opts.account}`
                : `Number ${input.number} already belongs to a phone of account ${opts.account}`,
            );
          }
        });
        print(opts.json, phoneResource(phone), `Phone ${phone.id} created: ${phone.number}${phone.internalNumber ? ` (extension ${phone.internalNumber})` : ''}`);
      }),
    );
  phones
    .command('update')
    .description("change a phone line's name, status or employee")
    .argument('<id>', 'phone id', positiveInt('id'))
    .addOption(accountOption())
    .option('--name <name>', 'a label')
    .addOption(new Option('--status <status>', 'line status').choices([...PHONE_STATUSES]))
    .option('--employee <id>', 'the employee it belongs to, or none')
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (id: number, opts) => {
        if (opts.name === undefined && opts.status === undefined && opts.employee === undefined) {
          throw new CliError('Nothing to change: give --name, --status or --employee');
        }
        let employeeId: number | null | undefined;
        if (opts.employee !== undefined) {
          if (opts.employee === 'none') employeeId = null;
          else if (/^\d+$/.test(opts.employee) && Number(opts.employee) > 0) employeeId = Number(opts.employee);
          else throw new CliError('Invalid --employee: an employee id, or none');
        }
        if (opts.name !== undefined && (!opts.name.trim() || opts.name.trim().length > PHONE_NAME_MAX)) throw new CliError(`Invalid --name: 1 to ${PHONE_NAME_MAX} characters`);
        const phone = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          return store.directory.updatePhone(opts.account, id, {
            ...(opts.name === undefined ? {} : { name: opts.name.trim() }),
            ...(opts.status === undefined ? {} : { status: opts.status as PhoneStatus }),
            ...(employeeId === undefined ? {} : { employeeId }),
          });
        });
        print(opts.json, phoneResource(phone), `Phone ${phone.id} updated: ${phone.name}, ${phone.status}, employee ${phone.employeeId ?? 'none'}`);
      }),
    );
  phones
    .command('delete')
    .description('remove a phone line; past calls keep its id')
    .argument('<id>', 'phone id', positiveInt('id'))
    .addOption(accountOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (id: number, opts) => {
        await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          await store.directory.deletePhone(opts.account, id);
        });
        print(opts.json, { deleted: id }, `Phone ${id} deleted`);
      }),
    );
  listCommand(phones, {
    description: 'list phone lines',
    options: [new Option('--status <status>', 'only lines with this status').choices([...PHONE_STATUSES])],
    read: (store, accountId, after, opts) =>
      store.directory.listPhones(accountId, { statuses: opts.status ? [opts.status as PhoneStatus] : undefined }, 1000, after),
    resource: phoneResource,
    columns: ['ID', 'NUMBER', 'EXT', 'STATUS', 'EMPLOYEE', 'NAME'],
    row: (p) => [p.id, p.number, p.internalNumber, p.status, p.employeeId, p.name],
    none: 'No phones',
  });

  // ---- tags ----
  const tags = program.command('tags').description("manage an account's tags");
  tags
    .command('create')
    .description('create a tag')
    .addOption(accountOption())
    .requiredOption('--name <name>', 'tag name, unique within the account whatever its case')
    .option('--color <hex>', 'hex colour such as #22C55E (default #6B7280)')
    .option('--description <text>', 'what the tag is for')
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (opts) => {
        const input = checked<TagCreate>(TagCreate, { name: opts.name, color: opts.color, description: opts.description });
        const tag = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          try {
            return await store.tags.create(opts.account, { ...input, name: input.name.trim() });
          } catch (error) {
            if (error instanceof ConflictError) throw new CliError(`${DUPLICATE_TAG}: ${input.name.trim()}`);
            throw error;
          }
        });
        print(opts.json, tagResource(tag), `Tag ${tag.id} created: ${tag.name} (${tag.color})`);
      }),
    );
  listCommand(tags, {
    description: 'list tags',
    read: (store, accountId, after) => store.tags.list(accountId, 1000, after),
    resource: tagResource,
    columns: ['ID', 'NAME', 'COLOR', 'DESCRIPTION'],
    row: (t) => [t.id, t.name, t.color, t.description],
    none: 'No tags',
  });
}
