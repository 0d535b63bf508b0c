import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('the AI and recordings settings', () => {
  it('pick the engine: a recognizer URL means openai, --demo the sandbox, otherwise off', () => {
    expect(loadConfig({}, {}).ai.engine).toBe('off');
    expect(loadConfig({ demo: true }, {}).ai.engine).toBe('sandbox');
    const real = loadConfig({ demo: true }, { SIPSIM_TRANSCRIBE_URL: 'http://127.0.0.1:8080/v1/', SIPSIM_LLM_URL: 'http://127.0.0.1:11434/v1', SIPSIM_LLM_MODEL: 'llama3.1' }).ai;
    expect(real).toMatchObject({
      engine: 'openai',
      transcribe: { url: 'http://127.0.0.1:8080/v1', model: 'whisper-1', apiKey: null },
      llm: { url: 'http://127.0.0.1:11434/v1', model: 'llama3.1', apiKey: null },
    });
    expect(loadConfig({}, { SIPSIM_AI_ENGINE: 'sandbox' }).ai.engine).toBe('sandbox');
  });

  it('refuse what cannot work, naming the variable', () => {
    expect(() => loadConfig({}, { SIPSIM_AI_ENGINE: 'openai' })).toThrow(/SIPSIM_TRANSCRIBE_URL/);
    expect(() => loadConfig({}, { SIPSIM_AI_ENGINE: 'gpt' })).toThrow(/SIPSIM_AI_ENGINE must be openai, sandbox or off/);
    expect(() => loadConfig({}, { SIPSIM_TRANSCRIBE_URL: 'whisper:8080' })).toThrow(/SIPSIM_TRANSCRIBE_URL must be an http\(s\) URL/);
    expect(() => loadConfig({}, { SIPSIM_AI_CONCURRENCY: '0' })).toThrow(/SIPSIM_AI_CONCURRENCY/);
    expect(() => loadConfig({}, { SIPSIM_RECORDINGS_KEEP_DAYS: '-1' })).toThrow(/SIPSIM_RECORDINGS_KEEP_DAYS/);
    expect(loadConfig({}, { SIPSIM_RECORDINGS_MAX_MB: '5', SIPSIM_RECORDINGS_DIR: '/var/spool/asterisk/monitor' }).recordings).toMatchObject({
      maxBytes: 5 * 1024 * 1024,
      pbxDir: '/var/spool/asterisk/monitor',
      storeDir: './data/recordings',
      keepDays: 0,
    });
  });
});
