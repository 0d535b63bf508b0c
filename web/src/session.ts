import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

/** The signed-in person, their account and the token their writes carry. */
export interface Session {
  user: { id: number; email: string; name: string; role: 'admin' | 'member'; employee_id: number | null };
  account: { id: number; name: string; timezone: string };
  scopes: string[];
  csrf_token: string;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in view');
  return session;
}

export const useZone = (): string => useSession().account.timezone;
