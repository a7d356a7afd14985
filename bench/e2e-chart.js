// A dependency-free SVG bar chart for the end-to-end report: one panel per
// measure, one bar per implementation. A panel with a `reference` shows each
// value as a percentage of it (the node:net ceiling = 100%); one without
// shows the values as they are (RSS in KiB per connection, lower is better),
// with an optional goal line. Every bar carries its value.
'use strict';

const COLORS = ['#2d7dd2', '#f2a541', '#c8553d', '#9e9e9e']; // wsstack, ws, ws+bufferutil, net
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f1 = (n) => n.toFixed(1);

/** 1234567 -> "1.23M", 52143 -> "52.1k", 338.2 -> "338", 6.84 -> "6.84". */
function short(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (n >= 100) return n.toFixed(0);
  return n.toFixed(2);
}

/** A round step giving about five grid lines up to `max`. */
function step(max) {
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw);
}

/**
 * @param {{title: string, series: string[], groups: {label: string, note: string, values: number[],
 *   unit: string, reference: number | null, lowerIsBetter: boolean, goal: {value: number, label: string} | null}[]}} chart
 */
function barChart({ title, series, groups }) {
  const panelW = 250;
  const plotH = 230;
  const left = 40; // room for the axis labels of each panel
  const top = 120; // title, legend, panel titles, value labels
  const width = Math.max(groups.length * panelW + 20, 1020);
  const height = top + plotH + 40;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  series.forEach((name, i) => {
    out.push(`<rect x="${10 + i * 190}" y="36" width="12" height="12" fill="${COLORS[i]}"/>`);
    out.push(`<text x="${27 + i * 190}" y="46">${esc(name)}</text>`);
  });
  out.push(
    `<text x="10" y="66" fill="#555">Throughput panels: % of the node:net echo (the ceiling), absolute value under it. RSS panel: KiB per idle connection, lower is better.</text>`,
  );

  groups.forEach((g, gi) => {
    const x0 = 10 + gi * panelW;
    const plotX = x0 + left;
    const plotW = panelW - left - 15;
    const base = top + plotH;
    const shown = g.reference ? g.values.map((v) => (100 * v) / g.reference) : g.values;
    const goal = g.goal ? g.goal.value : 0;
    const top100 = Math.max(...shown, g.reference ? 100 : 0, goal) * 1.12 || 1; // room for the labels
    const s = step(top100);
    const max = Math.ceil(top100 / s) * s;
    const y = (v) => base - (v / max) * plotH;

    out.push(`<text x="${plotX}" y="${top - 38}" font-size="12" font-weight="bold">${esc(g.label)}</text>`);
    out.push(`<text x="${plotX}" y="${top - 24}" fill="#555">${esc(g.note)}</text>`);
    for (let t = 0; t <= max + 1e-9; t += s) {
      out.push(`<line x1="${plotX}" y1="${f1(y(t))}" x2="${plotX + plotW}" y2="${f1(y(t))}" stroke="#e4e4e4"/>`);
      const tick = g.reference ? `${+t.toFixed(2)}%` : `${+t.toFixed(2)}`;
      out.push(`<text x="${plotX - 4}" y="${f1(y(t) + 4)}" text-anchor="end" fill="#555" font-size="10">${tick}</text>`);
    }
    const barW = plotW / shown.length;
    shown.forEach((v, i) => {
      const bx = plotX + i * barW + 4;
      const bw = barW - 8;
      const by = y(v);
      const cx = bx + bw / 2;
      out.push(`<rect x="${f1(bx)}" y="${f1(by)}" width="${f1(bw)}" height="${f1(base - by)}" fill="${COLORS[i]}"><title>${esc(`${series[i]}: ${short(g.values[i])} ${g.unit}`)}</title></rect>`);
      if (g.reference) {
        out.push(`<text x="${f1(cx)}" y="${f1(by - 16)}" text-anchor="middle" font-weight="bold">${Math.round(v)}%</text>`);
        out.push(`<text x="${f1(cx)}" y="${f1(by - 4)}" text-anchor="middle" fill="#555" font-size="9">${esc(short(g.values[i]))}</text>`);
      } else {
        out.push(`<text x="${f1(cx)}" y="${f1(by - 4)}" text-anchor="middle" font-weight="bold">${esc(short(v))}</text>`);
      }
    });
    if (g.goal) {
      out.push(`<line x1="${plotX}" y1="${f1(y(goal))}" x2="${plotX + plotW}" y2="${f1(y(goal))}" stroke="#2a9d4b" stroke-dasharray="5,3" stroke-width="1.5"/>`);
    }
    out.push(`<line x1="${plotX}" y1="${base}" x2="${plotX + plotW}" y2="${base}" stroke="#333"/>`);
    out.push(`<text x="${plotX + plotW / 2}" y="${base + 16}" text-anchor="middle" fill="#555" font-size="10">${esc(g.reference ? `% of node:net · small print: ${g.unit}` : `${g.unit} per connection${g.goal ? ` · dashed: ${g.goal.label}` : ''}`)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

module.exports = { barChart };
