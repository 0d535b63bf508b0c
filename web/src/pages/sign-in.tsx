import { useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { paths } from '../paths';
import type { Session } from '../session';

export function SignIn({ expired, onSignedIn }: { expired: boolean; onSignedIn(session: Session): void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      const { data } = await request<Session>('POST', paths.session, {
        body: { email: String(form.get('email') ?? ''), password: String(form.get('password') ?? '') },
        quiet401: true,
      });
      onSignedIn(data);
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? 'Wrong email or password.'
          : failure instanceof Error
            ? failure.message
            : String(failure),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title" class="card">
        <h1 id="sign-in-title">Sign in to sipsim</h1>
        {expired && !error && (
          <p class="notice" role="status">
            Your session has expired. Sign in again to come back to this page.
          </p>
        )}
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
