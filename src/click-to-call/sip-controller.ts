import type { Phone } from '../domain/directory.js';
import { SipAgent, type SipAgentOptions } from '../sip/index.js';
import type { CallController } from './service.js';

/** Click-to-call over real SIP: the agent as the service's controller. */
export async function startSipController(options: SipAgentOptions & { outboundProxy?: string }): Promise<CallController> {
  const agent = await SipAgent.start(options);
  const { host, port } = agent.address;
  return {
    description: `SIP on ${host}:${port}${options.outboundProxy ? ` via ${options.outboundProxy}` : ''}, domain ${options.domain}`,
    placeCall: (request) => agent.placeCall(request),
    close: () => agent.close(),
  };
}

/** A phone is rung at its extension, at the registrar's domain, through the proxy. */
export const phoneUriAt = (domain: string) => (phone: Phone): string | null =>
  phone.internalNumber === null ? null : `sip:${phone.internalNumber}@${domain}`;
