import { PG_ADMIN_URL, PG_SKIP_NOTICE } from './engines.js';
import { REDIS_SKIP_NOTICE, redisAvailable } from './redis.js';
import { SIP_LAB_NOTICE, SIP_LAB_READY } from './sip-lab.js';
import { CLIENT_TOOLS_NOTICE, CLIENT_TOOLS_READY, PROMTOOL_NOTICE, PROMTOOL_READY, SPEECH_TOOLS_NOTICE, SPEECH_TOOLS_READY } from './tools.js';

/** Says plainly, before and after the run, what was skipped and how to run it. */
export default async function setup(): Promise<() => void> {
  const notices = [
    ...(!PG_ADMIN_URL && !process.env.CI ? [PG_SKIP_NOTICE] : []),
    ...(!CLIENT_TOOLS_READY ? [CLIENT_TOOLS_NOTICE] : []),
    ...(!(await redisAvailable()) ? [REDIS_SKIP_NOTICE] : []),
    ...(!SIP_LAB_READY ? [SIP_LAB_NOTICE] : []),
    ...(!PROMTOOL_READY ? [PROMTOOL_NOTICE] : []),
    ...(!SPEECH_TOOLS_READY ? [SPEECH_TOOLS_NOTICE] : []),
  ];
  const say = () => {
    for (const notice of notices) process.stderr.write(`\n${notice}\n`);
  };
  say();
  return say;
}
