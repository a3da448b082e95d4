// The app shell: finds the session, routes /{workspaceSlug}/... to its page, and
// shows the sign-in page when there is no session.
import { useEffect, useState } from 'preact/hooks';
import { api, setUnauthorizedHandler, type Session } from './api';
import { BillingContext, useBillingPerPage } from './billing';
import { NotificationBell } from './components/NotificationBell';
import { ReauthBanner } from './components/ReauthBanner';
import { SpendChip } from './components/SpendIndicator';
import { Toasts } from './components/Toasts';
import { navigate, onLinkClick, useLocation } from './router';
import { SessionContext, wsPath } from './session';
import { ApprovalsInbox } from './pages/approvals/ApprovalsInbox';
import { BillingPage } from './pages/billing/BillingPage';
import { ConnectionDetail } from './pages/connections/ConnectionDetail';
import { ConnectionsList } from './pages/connections/ConnectionsList';
import { SignIn } from './pages/SignIn';
import { RunsList } from './pages/RunsList';
import { RunDetail } from './pages/run/RunDetail';
import { ScheduleDetail } from './pages/schedules/ScheduleDetail';
import { SchedulesList } from './pages/schedules/SchedulesList';
import { WorkflowsList } from './pages/WorkflowsList';
import { WorkflowDetail } from './pages/WorkflowDetail';

export const SIGN_IN_PATH = '/sign-in';

type State = { kind: 'loading' } | { kind: 'signed-out' } | { kind: 'signed-in'; session: Session };

export function App() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const { path } = useLocation();

  const loadSession = async () => {
    try {
      setState({ kind: 'signed-in', session: await api.getSession() });
    } catch {
      setState({ kind: 'signed-out' });
    }
  };

  useEffect(() => {
    setUnauthorizedHandler(() => setState({ kind: 'signed-out' }));
    void loadSession();
  }, []);

  if (state.kind === 'loading') {
    return <p class="loading">Loading…</p>;
  }
  if (state.kind === 'signed-out' || path === SIGN_IN_PATH) {
    return (
      <>
        <SignIn onSignedIn={loadSession} signedIn={state.kind === 'signed-in' ? state.session : null} />
        <Toasts />
      </>
    );
  }
  return (
    <SessionContext.Provider value={state.session}>
      <Shell session={state.session} onSignOut={() => setState({ kind: 'signed-out' })} path={path} />
    </SessionContext.Provider>
  );
}

function Shell(props: { session: Session; path: string; onSignOut: () => void }) {
  const { session, path } = props;
  const runsPath = wsPath(session, 'monitoring/workflow-runs');
  const workflowsPath = wsPath(session, 'workflows');
  const schedulesPath = wsPath(session, 'schedules');
  const approvalsPath = wsPath(session, 'monitoring/approvals');
  const connectionsPath = wsPath(session, 'connections');
  const billingPath = wsPath(session, 'billing');
  // Loaded once per page shown (a navigation), never by a page's polls.
  const billing = useBillingPerPage(path);

  const signOut = async () => {
    try {
      await api.signOut();
    } finally {
      navigate(SIGN_IN_PATH);
      props.onSignOut();
    }
  };

  return (
    <BillingContext.Provider value={billing}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href={runsPath} onClick={onLinkClick}>
          <svg width="20" height="20" viewBox="0 0 32 32" aria-hidden="true">
            <rect width="32" height="32" rx="6" fill="currentColor" />
            <path d="M8 22h6v-6h6v-6h4" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" />
          </svg>
          Stepwell
        </a>
        <nav aria-label="Main" class="topnav">
          <NavLink href={runsPath} current={path.startsWith(runsPath)}>
            Runs
          </NavLink>
          <NavLink href={workflowsPath} current={path.startsWith(workflowsPath)}>
            Workflows
          </NavLink>
          <NavLink href={schedulesPath} current={path.startsWith(schedulesPath)}>
            Schedules
          </NavLink>
          <NavLink href={approvalsPath} current={path.startsWith(approvalsPath)}>
            Approvals
          </NavLink>
          <NavLink href={connectionsPath} current={path.startsWith(connectionsPath)}>
            Connections
          </NavLink>
          <NavLink href={billingPath} current={path.startsWith(billingPath)}>
            Billing
          </NavLink>
        </nav>
        <div class="topbar__user">
          <SpendChip />
          <NotificationBell />
          <span class="muted" title={`Token ${session.token_name}`}>
            {session.workspace.slug} · {session.role}
          </span>
          <button type="button" class="button button--ghost" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <ReauthBanner />
        <Route session={session} path={path} />
      </main>
      <Toasts />
    </BillingContext.Provider>
  );
}

function NavLink(props: { href: string; current: boolean; children: string }) {
  return (
    <a href={props.href} onClick={onLinkClick} aria-current={props.current ? 'page' : undefined}>
      {props.children}
    </a>
  );
}

function Route(props: { session: Session; path: string }) {
  const { session } = props;
  const parts = props.path.split('/').filter(Boolean).map(decodeURIComponent);
  const [slug, ...rest] = parts;
  const home = wsPath(session, 'monitoring/workflow-runs');
  // `/` and `/{ws}` show the runs.
  const toHome = parts.length <= 1 && (slug === undefined || slug === session.workspace.slug);

  useEffect(() => {
    if (toHome) {
      navigate(home, { replace: true });
    }
  }, [toHome, home]);

  if (slug !== undefined && slug !== session.workspace.slug) {
    return (
      <NotFound>
        This page belongs to workspace <code>{slug}</code>; you are signed in to{' '}
        <code>{session.workspace.slug}</code>.{' '}
        <a href={home} onClick={onLinkClick}>
          Go to your runs
        </a>
      </NotFound>
    );
  }
  const route = rest.join('/');
  if (route === 'monitoring/workflow-runs') {
    return <RunsList />;
  }
  if (rest.length === 3 && route.startsWith('monitoring/workflow-runs/')) {
    return <RunDetail key={rest[2]} runId={rest[2]} />;
  }
  if (route === 'monitoring/approvals') {
    return <ApprovalsInbox />;
  }
  if (route === 'connections') {
    return <ConnectionsList />;
  }
  if (rest.length === 2 && rest[0] === 'connections') {
    return <ConnectionDetail key={rest[1]} connectionId={rest[1]} />;
  }
  if (route === 'schedules') {
    return <SchedulesList />;
  }
  if (rest.length === 2 && rest[0] === 'schedules') {
    return <ScheduleDetail key={rest[1]} scheduleId={rest[1]} />;
  }
  if (route === 'billing') {
    return <BillingPage />;
  }
  if (route === 'workflows') {
    return <WorkflowsList />;
  }
  if (rest.length === 2 && rest[0] === 'workflows') {
    return <WorkflowDetail key={rest[1]} workflowId={rest[1]} />;
  }
  if (rest.length === 0) {
    return null;
  }
  return (
    <NotFound>
      <a href={home} onClick={onLinkClick}>
        Go to the runs
      </a>
    </NotFound>
  );
}

function NotFound(props: { children: preact.ComponentChildren }) {
  return (
    <section class="page">
      <h1>Page not found</h1>
      <p>{props.children}</p>
    </section>
  );
}
