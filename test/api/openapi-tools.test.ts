import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { OPENAPI_PATH } from '../../src/api/openapi.js';
import { openTestStore } from '../helpers/engines.js';
import { TEST_CONFIG } from '../helpers/fixture.js';

/**
 * The document the server serves, run through tools nobody here wrote:
 * Redocly's linter with its recommended rules (redocly.yaml explains every
 * rule changed), and openapi-typescript, whose generated types must agree with
 * the SDK's own. Both run offline from devDependencies.
 */

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

describe('the OpenAPI document through third-party tools', () => {
  let app: FastifyInstance;
  let closeStore: () => Promise<void>;
  let dir: string;
  let docPath: string;
  let doc: Record<string, any>;

  beforeAll(async () => {
    const opened = await openTestStore('sqlite');
    closeStore = opened.close;
    app = buildApp({ store: opened.store, config: TEST_CONFIG });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    doc = (await (await fetch(`http://127.0.0.1:${port}${OPENAPI_PATH}`)).json()) as Record<string, any>;
    dir = await mkdtemp(join(tmpdir(), 'sipsim-openapi-'));
    docPath = join(dir, 'openapi.json');
    await writeFile(docPath, JSON.stringify(doc, null, 2));
  });
  afterAll(async () => {
    await app?.close();
    await closeStore?.();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes redocly lint with the recommended rules: no error, no warning', async () => {
    const cli = join(ROOT, 'node_modules/@redocly/cli/bin/cli.js');
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true' };
    const result = await run(process.execPath, [cli, 'lint', '--config', join(ROOT, 'redocly.yaml'), '--format=json', docPath], {
      cwd: ROOT,
      env,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }));
    const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as {
      totals: { errors: number; warnings: number };
      problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }>;
    };
    const problems = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 120_000);

  it('generates types with openapi-typescript that agree with the SDK for every list and object', async () => {
    await writeFile(join(dir, 'api.ts'), astToString(await openapiTS(doc as Parameters<typeof openapiTS>[0])));
    const sdk = join(ROOT, 'packages/sdk/src/index.js');
    await writeFile(
      join(dir, 'check.ts'),
      `import type { components, operations } from './api.js';
import type * as sdk from ${JSON.stringify(sdk)};

type S = components['schemas'];
/** True when each type is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** The JSON body an operation answers with. */
type Json<Op extends keyof operations, Status extends number = 200> = operations[Op]['responses'] extends infer R
  ? Status extends keyof R
    ? R[Status] extends { content: { 'application/json': infer Body } }
      ? Body
      : never
    : never
  : never;
type Data<Op extends keyof operations, Status extends number = 200> = Json<Op, Status> extends { data: infer D } ? D : never;
const agree = <T extends true>(): T | undefined => undefined;

// Objects, both ways.
agree<Same<S['Call'], sdk.Call>>();
agree<Same<S['Tag'], sdk.Tag>>();
agree<Same<S['Phone'], sdk.Phone>>();
agree<Same<S['Employee'], sdk.Employee>>();
agree<Same<S['Account'], sdk.Account>>();
agree<Same<S['Pagination'], sdk.Pagination>>();
agree<Same<S['ClickToCall'], sdk.ClickToCall>>();
// One path serves both: a call of the history, or a click-to-call while it is under way.
agree<Same<Data<'getCall'>, sdk.Call | sdk.ClickToCall>>();
agree<Same<Data<'getTag'>, sdk.Tag>>();
agree<Same<Data<'getPhone'>, sdk.Phone>>();
agree<Same<Data<'getEmployee'>, sdk.Employee>>();
agree<Same<Data<'getAccount'>, sdk.Account>>();
agree<Same<Data<'createCall', 201>, sdk.ClickToCall>>();
agree<Same<Data<'listEnabledWebhookEvents'>, sdk.WebhookSetting['events']>>();

// Lists: each page's items and where it is.
agree<Same<Data<'listCalls'>, sdk.Call[]>>();
agree<Same<Data<'listTags'>, sdk.Tag[]>>();
agree<Same<Data<'listPhones'>, sdk.Phone[]>>();
agree<Same<Data<'listEmployees'>, sdk.Employee[]>>();
agree<Same<Json<'listCalls'> extends { pagination: infer P } ? P : never, sdk.Pagination>>();

// Requests: whatever the document lets a generated client send, the SDK takes too.
type Query<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;
type Body<Op extends keyof operations> = operations[Op] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
agree<Query<'listCalls'> extends sdk.CallListParams ? true : false>();
agree<Body<'createTag'> extends sdk.TagCreateParams ? true : false>();
agree<Body<'updateTag'> extends sdk.TagUpdateParams ? true : false>();
agree<Body<'createCall'> extends sdk.CallCreateParams ? true : false>();
agree<Body<'updatePhone'> extends sdk.PhoneUpdateParams ? true : false>();
agree<Body<'replaceCallTags'> extends sdk.CallTagsParams ? true : false>();
agree<Same<Data<'addCallTags'>, sdk.Call>>();
agree<Same<Data<'createTag', 201>, sdk.Tag>>();
agree<Same<Data<'updatePhone'>, sdk.Phone>>();
agree<Same<Data<'hangUpCall'>, sdk.ClickToCall>>();
`,
    );
    // The project's own compiler settings, on the generated types and the SDK's sources.
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.json'),
        compilerOptions: { noEmit: true, rootDir: '/', declaration: false, sourceMap: false, typeRoots: [join(ROOT, 'node_modules/@types')] },
        files: ['check.ts'],
        include: [],
      }),
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir, maxBuffer: 16 * 1024 * 1024 }).catch(
      (error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? 'tsc failed', stderr: error.stderr ?? '' }),
    );
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
  }, 180_000);
});
