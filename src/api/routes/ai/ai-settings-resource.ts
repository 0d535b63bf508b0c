import type { AiSettings } from '../../../domain/ai.js';
import type { AiSettingsResourceShape } from '../../schemas/ai.js';

/** The account's AI settings as GET and PATCH /api/v2/settings/ai answer them. */
export const toResource = (s: AiSettings): AiSettingsResourceShape => ({
  summary_instructions: s.summaryInstructions,
  rating_criteria: s.ratingCriteria,
  auto_transcription: { enabled: s.autoTranscribe, min_duration_sec: s.autoTranscribeMinSec },
});
