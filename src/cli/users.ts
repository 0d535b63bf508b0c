import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import { formatDateTime } from '../domain/time.js';
import type { Store } from '../store/store.js';
import { USER_ROLES, type User } from '../store/user-store.js';
import { UserInputError, UserService } from '../users/service.js';
import { action, CliError, databaseOption, jsonOption, positiveInt, print, table, withStore } from './common.js';

/**
 * `sipsim users`: the people who sign in to the dashboard. Passwords never go
 * on the command line (where the shell history and `ps` would keep them): they
 * are asked for on the terminal, or read from standard input with
 * --password-stdin for scripts.
 */

const passwordStdinOption = () => new Option('--password-stdin', 'read the password from standard input (its first line) instead of asking on the terminal');

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** Asks on the terminal without echoing what is typed. */
function askHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const output = rl as unknown as { _writeToOutput(text: string): void };
    let asked = false;
    output._writeToOutput = (text: string) => {
      // The question is shown; what is typed is not.
      if (!asked) process.stderr.write(text);
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    asked = true;
    rl.on('SIGINT', () => {
      rl.close();
      reject(new CliError('cancelled'));
    });
  });
}

async function readPassword(fromStdin: boolean | undefined): Promise<string> {
  if (fromStdin) {
    const password = await readStdin();
    if (!password) throw new CliError('--password-stdin: standard input held no password');
    return password;
  }
  if (!process.stdin.isTTY) throw new CliError('No terminal to ask the password on: pipe it in with --password-stdin');
  const first = await askHidden('Password: ');
  const second = await askHidden('Password again: ');
  if (first !== second) throw new CliError('The two passwords differ; nothing was changed');
  return first;
}

const userJson = (u: User) => ({
  id: u.id,
  account_id: u.accountId,
  email: u.email,
  name: u.name,
  role: u.role,
  employee_id: u.employeeId,
  disabled_at: u.disabledAt === null ? null : formatDateTime(u.disabledAt),
  created_at: formatDateTime(u.createdAt),
});

async function requireUser(service: UserService, email: string): Promise<User> {
  const user = await service.findByEmail(email);
  if (!user) throw new CliError(`No user with email ${email}; see: sipsim users list`);
  return user;
}

async function asCliError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UserInputError) throw new CliError(error.message);
    throw error;
  }
}

export function registerUserCommands(program: Command): void {
  const users = program.command('users').description('people who sign in to the dashboard, with an email and a password');

  users
    .command('create')
    .description('add a user to an account; the password is asked for on the terminal, or read with --password-stdin')
    .addOption(new Option('--account <id>', 'account id').argParser(positiveInt('--account')).makeOptionMandatory())
    .requiredOption('--email <email>', 'what they sign in with; one account per email')
    .requiredOption('--name <name>', 'their name, as the dashboard shows it')
    .addOption(new Option('--role <role>', 'admin sees and changes everything; member sees calls, reports and tags').choices([...USER_ROLES]).default('member'))
    .option('--employee <id>', 'the employee they are, so that "call back" rings their phone', positiveInt('--employee'))
    .addOption(passwordStdinOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (opts) => {
        const password = await readPassword(opts.passwordStdin);
        const user = await withStore(opts.database, (store: Store) =>
          asCliError(() =>
            new UserService(store).createUser({
              accountId: opts.account,
              email: opts.email,
              name: opts.name,
              role: opts.role,
              employeeId: opts.employee ?? null,
              password,
            }),
          ),
        );
        print(opts.json, userJson(user), `User ${user.id} created: ${user.email} (${user.role}) in account ${user.accountId}. They sign in at the dashboard, at / of sipsim serve.`);
      }),
    );

  users
    .command('list')
    .description('the users, of one account or of all')
    .addOption(new Option('--account <id>', 'only this account').argParser(positiveInt('--account')))
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (opts) => {
        const list = await withStore(opts.database, (store) => store.users.list(opts.account));
        const text = table(
          ['ID', 'ACCOUNT', 'EMAIL', 'NAME', 'ROLE', 'EMPLOYEE', 'STATUS'],
          list.map((u) => [u.id, u.accountId, u.email, u.name, u.role, u.employeeId, u.disabledAt === null ? 'active' : 'disabled']),
        );
        print(opts.json, list.map(userJson), text || 'No users yet; add one with: sipsim users create --account ID --email E --name NAME');
      }),
    );

  users
    .command('disable')
    .description('stop a user signing in; their open sessions end at once')
    .argument('<email>', 'the user')
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (email: string, opts) => {
        const { user, changed } = await withStore(opts.database, async (store) => {
          const user = await requireUser(new UserService(store), email);
          return { user, changed: await store.users.disable(user.id) };
        });
        print(opts.json, { id: user.id, email: user.email, disabled: true }, changed ? `${user.email} can no longer sign in; their sessions have ended.` : `${user.email} was already disabled.`);
      }),
    );

  users
    .command('set-password')
    .description("change a user's password; their open sessions end")
    .argument('<email>', 'the user')
    .addOption(passwordStdinOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (email: string, opts) => {
        const password = await readPassword(opts.passwordStdin);
        const user = await withStore(opts.database, async (store) => {
          const service = new UserService(store);
          const user = await requireUser(service, email);
          await asCliError(() => service.setPassword(user.id, password));
          return user;
        });
        print(opts.json, { id: user.id, email: user.email, password_changed: true }, `Password of ${user.email} changed; their sessions have ended.`);
      }),
    );
}
