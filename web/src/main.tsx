import { render } from 'preact';
import { ErrorBoundary, LocationProvider, Route, Router, lazy, useLocation } from 'preact-iso';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, onSessionExpired, request, setCsrfToken } from './api';
import { Failure, Loading } from './components/states';
import { paths } from './paths';
import { CallsPage } from './pages/calls';
import { SignIn } from './pages/sign-in';
import { SessionContext, type Session } from './session';
import { zoneLabel } from './time';
import './styles.css';

// Pages other than the call log load on first visit, keeping the first paint small.
const CallPage = lazy(() => import('./pages/call').then((m) => m.CallPage));
const ReportsPage = lazy(() => import('./pages/reports').then((m) => m.ReportsPage));
const TagsPage = lazy(() => import('./pages/tags').then((m) => m.TagsPage));
const DirectoryPage = lazy(() => import('./pages/directory').then((m) => m.DirectoryPage));
const IntegrationsPage = lazy(() => import('./pages/integrations').then((m) => m.IntegrationsPage));

type State = { kind: 'checking' } | { kind: 'out'; expired: boolean } | { kind: 'in'; session: Session } | { kind: 'down'; error: unknown };

function App() {
  const [state, setState] = useState<State>({ kind: 'checking' });
  const check = () => {
    setState({ kind: 'checking' });
    request<Session>('GET', paths.session, { quiet401: true }).then(
      ({ data }) => signedIn(data),
      (error) => setState(error instanceof ApiError && error.status === 401 ? { kind: 'out', expired: false } : { kind: 'down', error }),
    );
  };
  const signedIn = (session: Session) => {
    setCsrfToken(session.csrf_token);
    setState({ kind: 'in', session });
  };
  useEffect(() => {
    check();
    onSessionExpired(() => setState({ kind: 'out', expired: true }));
    return () => onSessionExpired(null);
  }, []);

  if (state.kind === 'checking') return <main id="main" class="centered"><Loading label="Opening the dashboard…" /></main>;
  if (state.kind === 'down') return <main id="main" class="centered"><h1>sipsim</h1><Failure error={state.error} retry={check} /></main>;
  // Signing in happens in place: the address stays, so the same view (filters included) comes back.
  if (state.kind === 'out') return <SignIn expired={state.expired} onSignedIn={signedIn} />;
  return (
    <SessionContext.Provider value={state.session}>
      <Shell session={state.session} onSignedOut={() => setState({ kind: 'out', expired: false })} />
    </SessionContext.Provider>
  );
}

const NAV = [
  { href: '/calls', label: 'Calls' },
  { href: '/reports', label: 'Reports' },
  { href: '/tags', label: 'Tags' },
  { href: '/directory', label: 'Directory' },
  { href: '/integrations', label: 'Integrations', admin: true },
];

function Shell({ session, onSignedOut }: { session: Session; onSignedOut(): void }) {
  const { path } = useLocation();
  const signOut = async () => {
    await del(paths.session).catch(() => undefined);
    setCsrfToken('');
    onSignedOut();
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/calls">
          sipsim
        </a>
        <nav aria-label="Dashboard">
          {NAV.filter((item) => !item.admin || session.user.role === 'admin').map((item) => (
            <a href={item.href} aria-current={path === item.href || path.startsWith(`${item.href}/`) ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <div class="who">
          <span class="zone" title="Every time on these pages is in this zone">
            {zoneLabel(session.account.timezone)}
          </span>
          <span class="user">{session.user.name}</span>
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorBoundary>
          <Router>
            <Route path="/" component={CallsPage} />
            <Route path="/sign-in" component={CallsPage} />
            <Route path="/calls" component={CallsPage} />
            <Route path="/calls/:id" component={CallPage} />
            <Route path="/reports" component={ReportsPage} />
            <Route path="/tags" component={TagsPage} />
            <Route path="/directory" component={DirectoryPage} />
            <Route path="/integrations" component={IntegrationsPage} />
            <Route default component={NotFound} />
          </Router>
        </ErrorBoundary>
      </main>
    </>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <a href="/calls">Go to the calls</a>
      </p>
    </section>
  );
}

render(
  <LocationProvider>
    <App />
  </LocationProvider>,
  document.getElementById('app')!,
);
