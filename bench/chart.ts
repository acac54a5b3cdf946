import { writeFileSync } from 'node:fs';

interface Row { n: number; rawPerSec: number; drainPerSec: number; naivePerSec: number; peakRssMb: number }

/** A grouped bar chart (SVG) of msg/s per N: raw limit, login-etl drain, naive; peak RSS as labels. */
export function writeChart(file: URL, rows: readonly Row[]): void {
  const W = 760, H = 360, pad = 60, max = Math.max(...rows.flatMap((r) => [r.rawPerSec, r.drainPerSec, r.naivePerSec]), 1);
  const series = [['rawPerSec', '#888', '(a) raw SQS limit'], ['drainPerSec', '#2a7', '(b) login-etl drain'], ['naivePerSec', '#c44', '(c) naive']] as const;
  const groupW = (W - 2 * pad) / rows.length, barW = groupW / 4;
  const bars = rows.flatMap((r, g) => series.map(([k, color], i) => {
    const v = r[k], h = ((H - 2 * pad) * v) / max, x = pad + g * groupW + (i + 0.5) * barW, y = H - pad - h;
    return `<rect x="${x}" y="${y}" width="${barW - 4}" height="${h}" fill="${color}"/><text x="${x + barW / 2 - 2}" y="${y - 4}" font-size="10" text-anchor="middle">${v}</text>`;
  }));
  const labels = rows.map((r, g) => `<text x="${pad + g * groupW + groupW / 2}" y="${H - pad + 18}" font-size="12" text-anchor="middle">N=${r.n.toLocaleString('en-US')} · RSS ${r.peakRssMb} MB</text>`);
  const legend = series.map(([, color, name], i) => `<rect x="${pad + i * 180}" y="12" width="12" height="12" fill="${color}"/><text x="${pad + i * 180 + 16}" y="22" font-size="12">${name}</text>`);
  writeFileSync(file, `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${legend.join('')}<text x="${pad}" y="44" font-size="12">messages/s (higher is better)</text>${bars.join('')}${labels.join('')}<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#333"/></svg>\n`);
}
