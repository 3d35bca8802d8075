/**
 * Hand-written SVG charts (bar, line, pie, funnel) in the report engine's chart shape: `categories` along the
 * x axis, one `datasets[i].values` per series. Each chart is an <svg role="img"> with a title and a
 * description, and the numbers are also in a visually hidden table for screen readers.
 */
import { useId, useRef, type ReactNode } from "react";

export interface ChartCategory {
  key: unknown;
  name: string | null;
}

export interface ChartDataset {
  key: string;
  name: string;
  values: (number | null)[];
}

export interface ChartSpec {
  type?: string;
  stacked?: boolean;
  categories?: ChartCategory[];
  datasets?: ChartDataset[];
}

export const PALETTE = ["#1f5fbf", "#f2b233", "#1f7a45", "#b42318", "#6b4fbb", "#0e7c86", "#8a5a00", "#5b6675"];
const W = 560;
const H = 260;
const PAD = { top: 16, right: 12, bottom: 48, left: 64 };

function label(c: ChartCategory): string {
  return c.name ?? String(c.key ?? "—");
}

function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

function short(s: string, n = 14): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

type Fmt = (n: number) => string;

function Frame({ title, desc, children, svgRef }: { title: string; desc: string; children: ReactNode; svgRef: React.Ref<SVGSVGElement> }) {
  const id = useId();
  return (
    <svg
      ref={svgRef}
      className="chart-svg"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-labelledby={`${id}-t ${id}-d`}
      xmlns="http://www.w3.org/2000/svg"
      fontFamily="system-ui, sans-serif"
      fontSize="11"
    >
      <title id={`${id}-t`}>{title}</title>
      <desc id={`${id}-d`}>{desc}</desc>
      <rect x="0" y="0" width={W} height={H} fill="#ffffff" />
      {children}
    </svg>
  );
}

function Axis({ max, fmt }: { max: number; fmt: Fmt }) {
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const ih = H - PAD.top - PAD.bottom;
  return (
    <g aria-hidden="true">
      {ticks.map((t) => {
        const y = PAD.top + ih * (1 - t);
        return (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} stroke="#d9dde3" />
            <text x={PAD.left - 6} y={y + 4} textAnchor="end" fill="#5b6675">
              {fmt(max * t)}
            </text>
          </g>
        );
      })}
    </g>
  );
}

function describe(spec: ChartSpec, fmt: Fmt): string {
  const cats = spec.categories ?? [];
  return (spec.datasets ?? [])
    .map((d) => `${d.name}: ${cats.map((c, i) => `${label(c)} ${fmt(d.values[i] ?? 0)}`).join(", ")}`)
    .join("; ");
}

export function BarChart({ spec, title, fmt, svgRef }: { spec: ChartSpec; title: string; fmt: Fmt; svgRef: React.Ref<SVGSVGElement> }) {
  const cats = spec.categories ?? [];
  const sets = spec.datasets ?? [];
  const stacked = !!spec.stacked;
  const totals = cats.map((_, i) =>
    stacked ? sets.reduce((s, d) => s + (d.values[i] ?? 0), 0) : Math.max(0, ...sets.map((d) => d.values[i] ?? 0)),
  );
  const max = niceMax(Math.max(0, ...totals));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const slot = cats.length ? iw / cats.length : iw;
  const groupW = slot * 0.7;
  const barW = stacked || !sets.length ? groupW : groupW / sets.length;
  return (
    <Frame title={title} desc={describe(spec, fmt)} svgRef={svgRef}>
      <Axis max={max} fmt={fmt} />
      {cats.map((c, i) => {
        const x0 = PAD.left + slot * i + (slot - groupW) / 2;
        let acc = 0;
        return (
          <g key={i}>
            {sets.map((d, j) => {
              const v = d.values[i] ?? 0;
              const h = (v / max) * ih;
              const x = stacked ? x0 : x0 + barW * j;
              const y = PAD.top + ih - h - (stacked ? (acc / max) * ih : 0);
              if (stacked) acc += v;
              return (
                <rect key={d.key} x={x} y={y} width={Math.max(1, barW - 2)} height={Math.max(0, h)} fill={PALETTE[j % PALETTE.length]}>
                  <title>{`${label(c)} · ${d.name}: ${fmt(v)}`}</title>
                </rect>
              );
            })}
            <text x={x0 + groupW / 2} y={H - PAD.bottom + 16} textAnchor="middle" fill="#1b2430">
              {short(label(c))}
            </text>
          </g>
        );
      })}
      <Legend sets={sets} />
    </Frame>
  );
}

function Legend({ sets }: { sets: { name: string }[] }) {
  if (sets.length < 2) return null;
  return (
    <g aria-hidden="true">
      {sets.map((d, j) => (
        <g key={j} transform={`translate(${PAD.left + j * 110}, ${H - 14})`}>
          <rect width="10" height="10" y="-9" fill={PALETTE[j % PALETTE.length]} />
          <text x="14" fill="#1b2430">
            {short(d.name, 14)}
          </text>
        </g>
      ))}
    </g>
  );
}

export function LineChart({ spec, title, fmt, svgRef }: { spec: ChartSpec; title: string; fmt: Fmt; svgRef: React.Ref<SVGSVGElement> }) {
  const cats = spec.categories ?? [];
  const sets = spec.datasets ?? [];
  const max = niceMax(Math.max(0, ...sets.flatMap((d) => d.values.map((v) => v ?? 0))));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const step = cats.length > 1 ? iw / (cats.length - 1) : 0;
  const px = (i: number) => PAD.left + (cats.length > 1 ? step * i : iw / 2);
  const py = (v: number) => PAD.top + ih - (v / max) * ih;
  return (
    <Frame title={title} desc={describe(spec, fmt)} svgRef={svgRef}>
      <Axis max={max} fmt={fmt} />
      {sets.map((d, j) => (
        <g key={d.key}>
          <polyline
            fill="none"
            stroke={PALETTE[j % PALETTE.length]}
            strokeWidth="2"
            points={d.values.map((v, i) => `${px(i)},${py(v ?? 0)}`).join(" ")}
          />
          {d.values.map((v, i) => (
            <circle key={i} cx={px(i)} cy={py(v ?? 0)} r="3" fill={PALETTE[j % PALETTE.length]}>
              <title>{`${label(cats[i] ?? { key: i, name: null })} · ${d.name}: ${fmt(v ?? 0)}`}</title>
            </circle>
          ))}
        </g>
      ))}
      {cats.map((c, i) => (
        <text key={i} x={px(i)} y={H - PAD.bottom + 16} textAnchor="middle" fill="#1b2430">
          {short(label(c), 10)}
        </text>
      ))}
      <Legend sets={sets} />
    </Frame>
  );
}

export function PieChart({ spec, title, fmt, svgRef }: { spec: ChartSpec; title: string; fmt: Fmt; svgRef: React.Ref<SVGSVGElement> }) {
  const cats = spec.categories ?? [];
  const values = (spec.datasets?.[0]?.values ?? []).map((v) => Math.max(0, v ?? 0));
  const total = values.reduce((a, b) => a + b, 0);
  const cx = 130;
  const cy = H / 2;
  const r = 100;
  let angle = -Math.PI / 2;
  return (
    <Frame title={title} desc={describe(spec, fmt)} svgRef={svgRef}>
      {total > 0 &&
        values.map((v, i) => {
          const a = (v / total) * Math.PI * 2;
          const x1 = cx + r * Math.cos(angle);
          const y1 = cy + r * Math.sin(angle);
          angle += a;
          const x2 = cx + r * Math.cos(angle);
          const y2 = cy + r * Math.sin(angle);
          const d =
            v === total
              ? `M ${cx - r} ${cy} a ${r} ${r} 0 1 0 ${2 * r} 0 a ${r} ${r} 0 1 0 ${-2 * r} 0`
              : `M ${cx} ${cy} L ${x1} ${y1} A ${r} ${r} 0 ${a > Math.PI ? 1 : 0} 1 ${x2} ${y2} Z`;
          return (
            <path key={i} d={d} fill={PALETTE[i % PALETTE.length]} stroke="#fff">
              <title>{`${label(cats[i] ?? { key: i, name: null })}: ${fmt(v)}`}</title>
            </path>
          );
        })}
      {cats.map((c, i) => (
        <g key={i} transform={`translate(260, ${24 + i * 20})`}>
          <rect width="12" height="12" y="-10" fill={PALETTE[i % PALETTE.length]} />
          <text x="18" fill="#1b2430">{`${short(label(c), 22)} — ${fmt(values[i] ?? 0)}`}</text>
        </g>
      ))}
    </Frame>
  );
}

export function FunnelChart({ spec, title, fmt, svgRef }: { spec: ChartSpec; title: string; fmt: Fmt; svgRef: React.Ref<SVGSVGElement> }) {
  const cats = spec.categories ?? [];
  const values = (spec.datasets?.[0]?.values ?? []).map((v) => Math.max(0, v ?? 0));
  const max = Math.max(1, ...values);
  const rowH = cats.length ? Math.min(44, (H - 16) / cats.length) : 44;
  const mid = W / 2 + 60;
  const full = W - 200;
  return (
    <Frame title={title} desc={describe(spec, fmt)} svgRef={svgRef}>
      {cats.map((c, i) => {
        const w = Math.max(4, (values[i]! / max) * full);
        const y = 8 + i * rowH;
        return (
          <g key={i}>
            <rect x={mid - w / 2} y={y} width={w} height={rowH - 6} rx="3" fill={PALETTE[i % PALETTE.length]}>
              <title>{`${label(c)}: ${fmt(values[i]!)}`}</title>
            </rect>
            <text x="8" y={y + rowH / 2} fill="#1b2430">
              {short(label(c), 16)}
            </text>
            <text x={mid} y={y + rowH / 2} textAnchor="middle" fill="#1b2430" fontWeight="600" stroke="#fff" strokeWidth="3" paintOrder="stroke">
              {fmt(values[i]!)}
            </text>
          </g>
        );
      })}
    </Frame>
  );
}

/** Draws the SVG on a canvas (twice its size) and downloads it as a PNG. */
export async function downloadPng(svg: SVGSVGElement, filename: string): Promise<void> {
  const xml = new XMLSerializer().serializeToString(svg);
  const url = URL.createObjectURL(new Blob([xml], { type: "image/svg+xml;charset=utf-8" }));
  try {
    const img = new Image();
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error("The chart could not be drawn."));
      img.src = url;
    });
    const scale = 2;
    const canvas = document.createElement("canvas");
    canvas.width = W * scale;
    canvas.height = H * scale;
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("This browser cannot draw the chart.");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/png"));
    if (!blob) throw new Error("The PNG could not be made.");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The chart for a spec, with a "Download PNG" button and the numbers as a hidden table. */
export function Chart({ spec, title, fmt, filename }: { spec: ChartSpec; title: string; fmt: Fmt; filename: string }) {
  const ref = useRef<SVGSVGElement>(null);
  const cats = spec.categories ?? [];
  const sets = spec.datasets ?? [];
  const type = spec.type ?? "bar";
  const Comp = type === "line" ? LineChart : type === "pie" ? PieChart : type === "funnel" ? FunnelChart : BarChart;
  if (!cats.length) return <p className="empty">No data in this range.</p>;
  return (
    <figure className="chart">
      <Comp spec={spec} title={title} fmt={fmt} svgRef={ref} />
      <table className="sr-only">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Category</th>
            {sets.map((d) => (
              <th key={d.key} scope="col">
                {d.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {cats.map((c, i) => (
            <tr key={i}>
              <th scope="row">{label(c)}</th>
              {sets.map((d) => (
                <td key={d.key}>{fmt(d.values[i] ?? 0)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <button
        type="button"
        className="btn btn-small chart-download"
        aria-label={`Download PNG: ${title}`}
        onClick={() => {
          if (ref.current) void downloadPng(ref.current, filename).catch((e) => window.alert((e as Error).message));
        }}
      >
        Download PNG
      </button>
    </figure>
  );
}
