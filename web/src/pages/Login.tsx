import { useEffect, useState } from 'preact/hooks';
import { ApiError, errorMessage, post } from '../api';
import type { User } from '../types';

interface LoginResponse {
  user: User;
  csrf_token: string;
}

export function LoginPage(props: { notice?: string; onLoggedIn: (csrf: string) => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [lockedUntil, setLockedUntil] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (lockedUntil === null) return undefined;
    const t = window.setInterval(() => {
      const n = Date.now();
      setNow(n);
      if (n >= lockedUntil) {
        setLockedUntil(null);
        setError(null);
      }
    }, 1000);
    return () => window.clearInterval(t);
  }, [lockedUntil]);

  const remaining = lockedUntil === null ? 0 : Math.max(0, Math.ceil((lockedUntil - now) / 1000));

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setAttempt((n) => n + 1);
    try {
      const res = await post<LoginResponse>('/v1/auth/login', { email: email.trim(), password });
      await props.onLoggedIn(res.csrf_token);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401) {
        setError(err.problem.detail || 'Wrong email or password.');
      } else if (err instanceof ApiError && err.status === 429) {
        const secs = err.retryAfter ?? 60;
        setNow(Date.now());
        setLockedUntil(Date.now() + secs * 1000);
        setError(null);
      } else if (err instanceof ApiError && err.status === 422) {
        const fields = err.fieldErrors();
        setError(
          Object.keys(fields).length
            ? Object.entries(fields)
                .map(([f, m]) => `${f}: ${m}`)
                .join('; ')
            : errorMessage(err),
        );
      } else {
        setError(errorMessage(err));
      }
    }
  };

  return (
    <div class="login-page d-flex align-items-center justify-content-center min-vh-100 px-3">
      <div class="card shadow-sm login-card" data-testid="login">
        <div class="card-body p-4 p-md-5">
          <div class="d-flex align-items-center gap-2 mb-4">
            <span class="kontor-logo kontor-logo-lg" aria-hidden="true">
              K
            </span>
            <div>
              <h1 class="h4 mb-0">Kontor</h1>
              <div class="text-body-secondary small">Staff sign-in</div>
            </div>
          </div>
          {props.notice && !error && lockedUntil === null && (
            <div class="alert alert-info py-2" data-testid="login-notice">
              {props.notice}
            </div>
          )}
          {error && (
            <div class="alert alert-danger py-2" role="alert" data-testid="login-error" data-attempt={attempt}>
              {error}
            </div>
          )}
          {lockedUntil !== null && (
            <div class="alert alert-warning py-2" role="alert" data-testid="login-locked" data-attempt={attempt}>
              Too many failed sign-in attempts: locked out, retry in <strong>{remaining}</strong> s.
            </div>
          )}
          <form onSubmit={submit} noValidate>
            <div class="mb-3">
              <label for="login-email" class="form-label">
                Email
              </label>
              <input
                id="login-email"
                name="email"
                type="email"
                class="form-control"
                autocomplete="username"
                required
                autofocus
                value={email}
                onInput={(e) => setEmail(e.currentTarget.value)}
                data-testid="login-email"
              />
            </div>
            <div class="mb-4">
              <label for="login-password" class="form-label">
                Password
              </label>
              <input
                id="login-password"
                name="password"
                type="password"
                class="form-control"
                autocomplete="current-password"
                required
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
                data-testid="login-password"
              />
            </div>
            <button
              type="submit"
              class="btn btn-primary w-100"
              disabled={busy || lockedUntil !== null || !email || !password}
              data-testid="login-submit"
            >
              {busy && <span class="spinner-border spinner-border-sm me-2" aria-hidden="true" />}
              Sign in
            </button>
          </form>
        </div>
      </div>
    </div>
  );
}
