import { writeFileSync } from 'node:fs';
import { COLUMNS, COLUMN_TITLES, fmt, type Cells, type Column } from './stats.js';

const COLORS: Record<Column, string> = { limit: '#777', sdk: '#bbb', hmac: '#2a7', siv: '#6c9', tty: '#39c' };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * A grouped bar chart (SVG) of msg/s over the active span per N, one bar per column; the naive rate as a
 * dashed line; the drain's peak RSS and CPU per message under each group.
 */
export function writeChart(file: URL, cells: Cells, naivePerSec: number | undefined): void {
  const rows = [...cells.entries()];
  const cols = COLUMNS.filter((c) => rows.some(([, r]) => r[c]));
  const W = 900, H = 400, pad = 60, top = 70;
  const max = Math.max(1, ...rows.flatMap(([, r]) => cols.map((c) => r[c]?.activeRate ?? 0)));
  const y = (v: number) => H - pad - ((H - pad - top) * v) / max;
  const groupW = (W - 2 * pad) / Math.max(1, rows.length), barW = groupW / (cols.length + 1);
  const bars = rows.flatMap(([, r], g) => cols.map((c, i) => {
    const v = r[c]?.activeRate ?? 0, x = pad + g * groupW + (i + 0.5) * barW;
    return `<rect x="${x}" y="${y(v)}" width="${barW - 3}" height="${H - pad - y(v)}" fill="${COLORS[c]}"/><text x="${x + barW / 2 - 1}" y="${y(v) - 4}" font-size="9" text-anchor="middle">${fmt(v)}</text>`;
  }));
  const labels = rows.map(([n, r], g) => {
    const cx = pad + g * groupW + groupW / 2;
    return `<text x="${cx}" y="${H - pad + 16}" font-size="12" text-anchor="middle">N = ${fmt(n)}</text><text x="${cx}" y="${H - pad + 32}" font-size="10" text-anchor="middle">drain hmac: ${fmt(r.hmac?.peakRssMb)} MB peak, ${fmt(r.hmac?.cpuUsPerMsg)} µs CPU/msg</text>`;
  });
  const legend = cols.map((c, i) => `<rect x="${pad + i * 160}" y="12" width="12" height="12" fill="${COLORS[c]}"/><text x="${pad + i * 160 + 16}" y="22" font-size="11">${esc(COLUMN_TITLES[c])}</text>`);
  const naive = naivePerSec && naivePerSec > 0
    ? `<line x1="${pad}" y1="${y(naivePerSec)}" x2="${W - pad}" y2="${y(naivePerSec)}" stroke="#c44" stroke-dasharray="5,4"/><text x="${W - pad}" y="${y(naivePerSec) - 4}" font-size="10" fill="#c44" text-anchor="end">(c) naive ${fmt(naivePerSec)} msg/s</text>`
    : '';
  writeFileSync(file, `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${legend.join('')}<text x="${pad}" y="46" font-size="12">messages/s over the active span, median (higher is better)</text>${bars.join('')}${naive}${labels.join('')}<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#333"/></svg>\n`);
}
