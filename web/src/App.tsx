import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router";
import { ApiError, setCsrfToken, setUnauthorizedHandler } from "./lib/api";
import { meQuery } from "./lib/meta";
import { Shell } from "./components/Shell";
import { Spinner } from "./components/ui";
import { LoginPage } from "./pages/Login";
import { MyDayPage } from "./pages/MyDay";
import { ListPage } from "./pages/ListPage";
import { RecordPage } from "./pages/RecordPage";
import { BoardPage } from "./pages/Board";
import { NotFound } from "./pages/NotFound";

function Authenticated() {
  return (
    <Shell>
      <Routes>
        <Route path="/" element={<MyDayPage />} />
        <Route path="/board" element={<BoardPage />} />
        <Route path="/o/:object" element={<ListPage />} />
        <Route path="/o/:object/:id" element={<RecordPage />} />
        <Route path="/login" element={<Navigate to="/" replace />} />
        <Route path="*" element={<NotFound />} />
      </Routes>
    </Shell>
  );
}

export function App() {
  const qc = useQueryClient();
  const location = useLocation();
  const me = useQuery({ ...meQuery, retry: false });

  useEffect(() => {
    // Any 401 (session expired, signed out elsewhere): back to the sign-in page.
    setUnauthorizedHandler(() => qc.setQueryData(["me"], null));
  }, [qc]);
  useEffect(() => {
    if (me.data) setCsrfToken(me.data.csrf_token);
  }, [me.data]);

  if (me.isLoading) return <Spinner label="Starting Sextant" />;
  const signedOut = !me.data && (me.data === null || (me.error instanceof ApiError && me.error.status === 401));
  if (signedOut || (!me.data && me.isError)) {
    if (location.pathname === "/login") return <LoginPage />;
    const next = location.pathname + location.search;
    return <Navigate to={next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <Authenticated />;
}
