import { spawnSync } from 'node:child_process';

/**
 * The end-to-end tests drive real clients: Python's `requests` and `curl`. On a
 * machine without them those tests are skipped with a notice; in CI (CI=true)
 * they are never skipped, so that a missing tool fails the run.
 */
const works = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

export const HAS_PYTHON_REQUESTS = works('python3', ['-c', 'import requests']);
export const HAS_CURL = works('curl', ['--version']);
const IN_CI = Boolean(process.env.CI);

export const CLIENT_TOOLS_READY = IN_CI || (HAS_PYTHON_REQUESTS && HAS_CURL);

export const CLIENT_TOOLS_NOTICE =
  'End-to-end client tests SKIPPED: they need python3 with requests and curl. To run them: apt-get install python3-requests curl';

/** Prometheus's own checker of the text exposition format (Debian's prometheus package). */
export const HAS_PROMTOOL = works('promtool', ['--version']);
/** In CI promtool must be there: .ci/run installs it. */
export const PROMTOOL_READY = IN_CI || HAS_PROMTOOL;
export const PROMTOOL_NOTICE = 'The promtool check of /metrics is SKIPPED: promtool is not installed. To run it: apt-get install prometheus';

/** Real speech for the audio pipeline's tests: espeak-ng speaks, sox mixes and converts (with MP3 support). */
export const HAS_SPEECH_TOOLS = works('espeak-ng', ['--version']) && works('sox', ['--version']);
/** In CI they must be there: .ci/run installs them. */
export const SPEECH_TOOLS_READY = IN_CI || HAS_SPEECH_TOOLS;
export const SPEECH_TOOLS_NOTICE =
  'The audio pipeline tests are SKIPPED: they need espeak-ng and sox. To run them: apt-get install espeak-ng sox libsox-fmt-mp3';
