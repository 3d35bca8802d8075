/** Win probability (deals) or lead score (leads) with a "why" popover of the top contributing factors. */
import { useQuery } from "@tanstack/react-query";
import { useCallback, useId, useRef, useState } from "react";
import { api } from "../lib/api";
import { formatNumber } from "../lib/format";
import { useDismiss } from "./ui";

interface Factor {
  feature: string;
  label?: string;
  value?: unknown;
  contribution?: number;
  points?: number;
}

interface Score {
  score: number | null;
  scored: boolean;
  reason?: string;
  unit?: string;
  factors: Factor[];
  model?: { algorithm?: string };
}

function factorName(f: Factor): string {
  const name = f.label || f.feature.replace(/_/g, " ");
  const v = f.value;
  return v === null || v === undefined || v === "" ? name : `${name}: ${String(v)}`;
}

export function ScoreBadge({ object, id }: { object: string; id: number }) {
  const [open, setOpen] = useState(false);
  const pop = useRef<HTMLDivElement>(null);
  const btn = useRef<HTMLButtonElement>(null);
  const close = useCallback(() => setOpen(false), []);
  useDismiss(open, close, pop, btn);
  const popId = useId();
  const q = useQuery({
    queryKey: ["score", object, id],
    queryFn: () => api<Score>(`/api/v1/analytics/scores/${object}/${id}`),
    enabled: object === "deals" || object === "leads",
    retry: false,
    staleTime: 30_000,
  });
  // No score, no right to see it, or no scorer: nothing to show.
  if (!q.data || q.data.score === null || q.data.score === undefined) return null;
  const s = q.data;
  const label = object === "deals" ? "Win probability" : "Lead score";
  const value = object === "deals" ? `${formatNumber(Math.round(s.score!))}%` : formatNumber(Math.round(s.score!));
  const unit = s.unit === "points" ? "points" : "log-odds";
  return (
    <div className="popover-anchor score-anchor">
      <button
        ref={btn}
        type="button"
        className="score-badge"
        aria-haspopup="dialog"
        aria-expanded={open}
        aria-controls={open ? popId : undefined}
        aria-label={`${label} ${value}: why?`}
        onClick={() => setOpen((o) => !o)}
      >
        <span className="score-label">{label}</span> <strong>{value}</strong> <span className="score-why">why?</span>
      </button>
      {open && (
        <div ref={pop} id={popId} className="popover score-popover" role="dialog" aria-label={`Why ${label.toLowerCase()} is ${value}`}>
          <p className="popover-head">
            <strong>
              {label} {value}
            </strong>
          </p>
          {s.factors.length ? (
            <>
              <p className="muted">Top factors ({s.model?.algorithm === "rules" ? "rule-based" : "model"}, {unit}):</p>
              <ul className="score-factors">
                {s.factors.map((f, i) => {
                  const c = typeof f.contribution === "number" ? f.contribution : (f.points ?? 0);
                  return (
                    <li key={i}>
                      <span>{factorName(f)}</span>
                      <span className={c >= 0 ? "factor-up" : "factor-down"}>
                        {c >= 0 ? "+" : "−"}
                        {formatNumber(Math.abs(Math.round(c * 100) / 100))}
                      </span>
                    </li>
                  );
                })}
              </ul>
            </>
          ) : (
            <p className="muted">{s.reason || "No factors recorded."}</p>
          )}
        </div>
      )}
    </div>
  );
}
