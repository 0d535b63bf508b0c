/**
 * Where webhooks may go. HTTPS always; plain HTTP only to the loopback (a
 * receiver on the same machine, as in development) and to hosts the operator
 * names in SIPSIM_WEBHOOK_ALLOW_HTTP, such as a service on a private network.
 */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.has(hostname.toLowerCase()) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname.toLowerCase().endsWith('.localhost');
}

/** Null when the URL may be used; otherwise what is wrong with it. */
export function webhookUrlProblem(text: string, allowedHttpHosts: readonly string[] = []): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `'${text}' is not a URL`;
  }
  if (url.username || url.password) return 'the URL must not hold credentials: the signature authenticates each delivery';
  if (url.hash) return 'the URL must not have a #fragment';
  if (url.protocol === 'https:') return null;
  if (url.protocol !== 'http:') return `the URL must be https:// (got ${url.protocol}//)`;
  const host = url.hostname.toLowerCase();
  if (isLoopbackHost(host) || allowedHttpHosts.map((h) => h.toLowerCase()).includes(host)) return null;
  return `the URL must be https://; plain http:// is allowed only to the loopback and to hosts listed in SIPSIM_WEBHOOK_ALLOW_HTTP (not ${host})`;
}
