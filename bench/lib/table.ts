/** The benchmark's one table: every figure next to its same-run baseline and their ratio. */
export const PARTS = ["synth", "fleet", "deploy", "plan", "release", "drift"] as const;
export type Part = (typeof PARTS)[number];
type Unit = "s" | "MB" | "KB" | "B" | "n" | "x";

export interface Row {
  readonly part: Part;
  readonly figure: string;
  readonly unit: Unit;
  readonly ours: number;
  readonly baseline?: number;
  readonly baselineIs?: string;
  readonly goal?: string;
  readonly met?: boolean;
  readonly samples?: readonly number[];
}

/** Progress goes to stderr, the table to stdout. */
export const log = (s: string) => process.stderr.write(`${s}\n`);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** A number, or samples (shown as their median). */
type Figure = number | readonly number[];
const value = (f: Figure) => (typeof f === "number" ? f : median(f));

/** A goal's text and the test of ours (and the baseline) against it. */
export type Goal = [string, (ours: number, baseline: number) => boolean];

export function row(part: Part, figure: string, unit: Unit, ours: Figure, base?: [Figure | undefined, string], goal?: Goal): Row {
  const o = value(ours);
  const b = base?.[0] === undefined ? undefined : value(base[0]);
  return {
    part,
    figure,
    unit,
    ours: o,
    baseline: b,
    baselineIs: b === undefined ? undefined : base?.[1],
    goal: goal?.[0],
    met: goal?.[1](o, b ?? Number.NaN),
    samples: typeof ours === "number" ? undefined : ours,
  };
}

/** A growth factor for 10x the services, against linear growth. */
export const growth = (part: Part, figure: string, from: Figure, to: Figure): Row =>
  row(part, figure, "x", value(to) / value(from), [10, "linear: 10x"], ["<= 10x", (g) => g <= 10]);

export const ratio = (r: Row) => (r.baseline === undefined || r.unit === "x" ? undefined : r.ours / r.baseline);

function fmt(v: number | undefined, unit: Unit): string {
  if (v === undefined || Number.isNaN(v)) return "-";
  if (unit === "s") return `${(v / 1000).toFixed(2)} s`;
  if (unit === "MB") return `${(v / 1024).toFixed(0)} MB`;
  if (unit === "KB") return `${(v / 1024).toFixed(1)} KB`;
  if (unit === "B") return `${Math.round(v)} B`;
  if (unit === "x") return `${v.toFixed(2)}x`;
  return String(Math.round(v * 10) / 10);
}

export function renderTable(rows: readonly Row[]): string {
  const header = ["part", "figure", "ours", "baseline", "baseline is", "ratio", "goal", "met"];
  const body = rows.map((r) => {
    const q = ratio(r);
    const shown = q === undefined || !Number.isFinite(q) ? (r.baseline === 0 && r.ours === 0 ? "=" : "") : `${q.toFixed(2)}x`;
    const met = r.met === undefined ? "" : r.met ? "yes" : "NO";
    return [r.part, r.figure, fmt(r.ours, r.unit), fmt(r.baseline, r.unit), r.baselineIs ?? "", shown, r.goal ?? "", met];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 || i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}
