// Sign-in: the operator pastes an API token; the server turns it into an HttpOnly
// session cookie (the token itself is not kept by the page).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type Session } from '../api';
import { navigate } from '../router';

export function SignIn(props: { signedIn: Session | null; onSignedIn: () => Promise<void> }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (props.signedIn) {
      navigate(`/${props.signedIn.workspace.slug}/monitoring/workflow-runs`, { replace: true });
    }
  }, [props.signedIn]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.signIn(token.trim());
      const session = await api.getSession();
      if (location.pathname === '/sign-in' || location.pathname === '/') {
        navigate(`/${session.workspace.slug}/monitoring/workflow-runs`, { replace: true });
      }
      await props.onSignedIn();
    } catch (err) {
      const message = err instanceof ApiError ? err.message : 'Sign-in failed';
      setError(
        err instanceof ApiError && err.status === 401 ? 'That token is not valid. Check it and try again.' : message,
      );
      setBusy(false);
      input.current?.focus();
    }
  };

  return (
    <main id="main" class="signin">
      <form class="card signin__card" onSubmit={(e) => void submit(e)} aria-describedby="signin-help">
        <h1>Sign in to Stepwell</h1>
        <p id="signin-help" class="muted">
          Paste an API token of your workspace. Its role decides what you can do: viewers watch runs,
          operators also pause, resume and cancel them.
        </p>
        <label for="token">API token</label>
        <input
          id="token"
          ref={input}
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={token}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'signin-error' : undefined}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        {error && (
          <p id="signin-error" class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="button button--primary" disabled={busy || !token.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
