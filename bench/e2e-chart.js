// A dependency-free SVG bar chart for the end-to-end report: one panel per
// measure, a bar per implementation, each panel scaled to its own maximum.
'use strict';

const COLORS = ['#9e9e9e', '#f2a541', '#c8553d', '#2d7dd2'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const short = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : n >= 100 ? n.toFixed(0) : n.toFixed(2));

/** @param {{title: string, series: string[], groups: {label: string, values: number[], lowerIsBetter: boolean, unit: string}[]}} chart */
function barChart({ title, series, groups }) {
  const panelW = 230;
  const panelH = 220;
  const top = 70;
  const width = groups.length * panelW + 20;
  const height = top + panelH + 70;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  series.forEach((name, i) => {
    out.push(`<rect x="${10 + i * 170}" y="32" width="12" height="12" fill="${COLORS[i]}"/>`);
    out.push(`<text x="${26 + i * 170}" y="42">${esc(name)}</text>`);
  });
  groups.forEach((g, gi) => {
    const x0 = 10 + gi * panelW;
    const max = Math.max(...g.values) || 1;
    const barW = (panelW - 40) / g.values.length;
    g.values.forEach((v, i) => {
      const h = (v / max) * (panelH - 20);
      const x = x0 + 10 + i * barW;
      const y = top + panelH - h;
      out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 6).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[i]}"/>`);
      out.push(`<text x="${(x + (barW - 6) / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle">${short(v)}</text>`);
    });
    out.push(`<line x1="${x0 + 5}" y1="${top + panelH}" x2="${x0 + panelW - 25}" y2="${top + panelH}" stroke="#333"/>`);
    const words = `${g.label}${g.lowerIsBetter ? ' (lower is better)' : ''}`.split(' ');
    let line = '';
    let row = 0;
    for (const word of words) {
      if ((line + ' ' + word).length > 34) {
        out.push(`<text x="${x0 + 10}" y="${top + panelH + 18 + row * 14}">${esc(line.trim())}</text>`);
        line = '';
        row++;
      }
      line += ' ' + word;
    }
    out.push(`<text x="${x0 + 10}" y="${top + panelH + 18 + row * 14}">${esc(line.trim())}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

module.exports = { barChart };
