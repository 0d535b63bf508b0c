import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { Engine } from '../engine.js';
import * as initial from './001-initial.js';
import * as directory from './002-directory.js';
import * as ingest from './003-ingest.js';
import * as webhooks from './004-webhooks.js';
import * as clickToCall from './005-click-to-call.js';
import * as dashboard from './006-dashboard.js';
import * as recordingsAi from './007-recordings-ai.js';
import * as sms from './008-sms.js';

/** Numbered migrations, applied in order; never edit one that has shipped. */
const migrations: Record<string, { up(db: Kysely<any>, engine: Engine): Promise<void> }> = {
  '001-initial': initial,
  '002-directory': directory,
  '003-ingest': ingest,
  '004-webhooks': webhooks,
  '005-click-to-call': clickToCall,
  '006-dashboard': dashboard,
  '007-recordings-ai': recordingsAi,
  '008-sms': sms,
};

export function migrationProvider(engine: Engine): MigrationProvider {
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(migrations)) {
        out[name] = { up: (db) => m.up(db, engine) };
      }
      return out;
    },
  };
}
