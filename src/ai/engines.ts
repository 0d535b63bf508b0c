import type { Config } from '../config.js';
import type { AiEngine } from './engine.js';
import { SandboxEngine } from './sandbox.js';
import { OpenAiEngine } from './openai.js';
import type { RecordingService } from '../recordings/service.js';

/** The engine the config asks for, or null when the AI features are off. */
export function createAiEngine(config: Pick<Config, 'ai'>, recordings: RecordingService): AiEngine | null {
  const a = config.ai;
  if (a.engine === 'sandbox') return new SandboxEngine(a.sandboxDelayMs);
  if (a.engine === 'off') return null;
  return new OpenAiEngine(a.transcribe!, a.llm, recordings);
}
