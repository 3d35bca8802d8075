import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { api, ApiError, setCsrfToken } from "../lib/api";
import type { Me } from "../lib/types";
import { Icon } from "../components/Icon";

export function LoginPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const emailRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    document.title = "Sign in · Sextant";
    emailRef.current?.focus();
  }, []);

  const login = useMutation({
    mutationFn: async () => {
      const me = await api<Me>("/api/v1/auth/login", { method: "POST", body: { email, password } });
      setCsrfToken(me.csrf_token);
      // One request on the new session before the page fires its parallel ones: the server records the
      // session's first use here, instead of several requests racing to write it at once.
      return api<Me>("/api/v1/auth/me").catch(() => me);
    },
    onSuccess: (me) => {
      setCsrfToken(me.csrf_token);
      qc.clear();
      qc.setQueryData(["me"], me);
      const next = params.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate();
  };

  let message: string | null = null;
  if (login.error instanceof ApiError) {
    if (login.error.status === 429) message = "Too many attempts. Wait a moment and try again.";
    else if (login.error.status === 401) message = "Wrong email or password.";
    else message = login.error.message;
  } else if (login.error) message = String(login.error);

  return (
    <main className="login-page">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            <Icon name="lead" size={22} />
          </span>
          Sextant
        </div>
        <h1 id="login-title">Sign in</h1>
        {message && (
          <p className="banner banner-error" role="alert">
            {message}
          </p>
        )}
        <div className="field">
          <label className="field-label" htmlFor="login-email">
            Email
          </label>
          <input
            ref={emailRef}
            id="login-email"
            className="input"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </div>
        <div className="field">
          <label className="field-label" htmlFor="login-password">
            Password
          </label>
          <input
            id="login-password"
            className="input"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        <button type="submit" className="btn btn-primary btn-block" disabled={login.isPending}>
          {login.isPending ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
