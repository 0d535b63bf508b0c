/**
 * The layers of docs/architecture.md, checked by dependency-cruiser in `npm test`
 * (test/architecture/layers.test.ts) and by hand with `npx depcruise src web/src packages`.
 *
 *   domain     pure model: imports nothing of ours
 *   store      persistence: imports the domain only
 *   services   what happens: the store, the domain, and the neighbours named in SERVICES
 *   api, cli   the ways in (with src/server.ts, which wires the server): anything below them
 *   sdk        its own package: nothing of ours
 *   web        the dashboard: only types, and only from the sdk, the domain or reports
 *
 * and no cycles anywhere.
 */

/** Files of ours, wherever they live. */
const OURS = '^(src|web|packages)/';

/** Leaves any service or way in may read: the frozen settings and the package version. */
const LEAVES = 'src/(config|settings)(\\.ts$|/)|src/version\\.ts$';

/**
 * Each service, where it lives, and the other services it may import. Anything else of
 * ours beyond the store, the domain and LEAVES is a violation; api and cli never are allowed.
 * Keep these edges free of loops: then no folder can reach itself, which module-level
 * cycle checks alone would not see.
 */
const SERVICES = {
  // PBX events, CDRs and imports into calls; queues the webhooks a call's events send.
  ingest: { path: 'src/ingest/', may: ['webhooks'] },
  // The lease-and-retry loop that webhook deliveries and AI jobs share.
  queue: { path: 'src/queue/', may: [] },
  // The outbox's dispatcher and the payloads it signs.
  webhooks: { path: 'src/webhooks/', may: ['queue'] },
  // Tagging: a tag change decides which `tags` webhooks go out.
  tags: { path: 'src/tags/', may: ['webhooks'] },
  // Places calls through the SIP stack, records them as calls and sends their webhooks.
  'click-to-call': { path: 'src/click-to-call/', may: ['sip', 'ingest', 'webhooks'] },
  // The RFC 3261 stack: a library with no knowledge of calls as sipsim stores them.
  sip: { path: 'src/sip/', may: [] },
  recordings: { path: 'src/recordings/', may: [] },
  // Jobs are claimed from the queue, read recordings and send their webhooks; the sandbox
  // engine reuses the demo's conversations.
  ai: { path: 'src/ai/', may: ['queue', 'recordings', 'webhooks', 'demo'] },
  reports: { path: 'src/reports/', may: [] },
  users: { path: 'src/users/', may: [] },
  // Accounts and API clients (creating a client, its secret and scopes).
  accounts: { path: 'src/(admin\\.ts$|accounts/)', may: [] },
  // Demo data: creates its account and client, and feeds live calls through ingest.
  demo: { path: 'src/demo/', may: ['ingest', 'accounts'] },
};

const serviceRules = Object.entries(SERVICES).map(([name, { path, may }]) => {
  const allowed = ['src/(store|domain)/', LEAVES, path, ...may.map((other) => SERVICES[other].path)];
  return {
    name: `service-${name}`,
    comment: `${path} imports the store, the domain${may.length ? `, ${may.join(', ')}` : ''} and nothing else of ours`,
    severity: 'error',
    from: { path: `^${path}` },
    to: { path: OURS, pathNot: `^(${allowed.join('|')})` },
  };
});

/**
 * Imports the rules forbid but the code still has, each named with its reason. None is
 * left: an entry added here must say why, and the layers test fails once it is gone.
 */
const KNOWN_EXCEPTIONS = [];

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment:
        'A module never reaches itself through its imports. A loop closed only by `import type` ' +
        '(an SDK resource naming its client\'s type, as openai-node does) is erased by the compiler and allowed.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'domain-is-pure',
      comment: 'src/domain imports nothing of ours.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: OURS, pathNot: '^src/domain/' },
    },
    {
      name: 'store-reads-domain-only',
      comment: 'src/store imports the domain only: what happens is decided above it.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: OURS, pathNot: '^src/(store|domain)/' },
    },
    {
      name: 'settings-are-a-leaf',
      comment: 'Settings read the domain and the store\'s URL parsing, nothing that uses them.',
      severity: 'error',
      from: { path: `^(${LEAVES})` },
      to: { path: OURS, pathNot: `^(${LEAVES}|src/(domain|store)/)` },
    },
    ...serviceRules,
    {
      name: 'api-is-not-cli',
      comment: 'The API never imports the command line (the command line may reuse the API\'s schemas).',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'sdk-stands-alone',
      comment: 'The SDK is its own package: it imports nothing of ours, so installing it brings no server.',
      severity: 'error',
      from: { path: '^(src/sdk|packages/sdk)/' },
      to: { path: OURS, pathNot: '^(src/sdk|packages/sdk)/' },
    },
    {
      name: 'web-imports-types-only',
      comment: 'The dashboard takes only types from the rest: its code reaches the server over HTTP.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^(src|packages)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'web-types-from-sdk-domain-reports',
      comment: 'The dashboard\'s types come from the SDK, the domain or reports.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^(src|packages)/', pathNot: '^(src/(sdk|domain|reports)|packages/sdk)/' },
    },
    {
      name: 'server-code-never-imports-web',
      comment: 'The dashboard is served as built files, never imported.',
      severity: 'error',
      from: { path: '^(src|packages)/' },
      to: { path: '^web/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.d.ts'],
    },
    knownViolations: KNOWN_EXCEPTIONS.map(({ rule, from, to }) => ({
      type: 'dependency',
      from,
      to,
      rule: { name: rule, severity: 'error' },
    })),
  },
};
