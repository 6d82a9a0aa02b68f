// Draws the cold-start curve of bench/run.sh's cold profile as an SVG: requests per second in each 5 s from the
// process's start, one line per run (its "ready N ms" and "throughput per 5 s from ready" lines), a dot at ready.
//   node bench/cold-chart.mjs out.svg "label=run1.log" "label=run2.log" ...   (the last "=" ends the label)
import { readFileSync, writeFileSync } from 'node:fs';

const [out, ...runs] = process.argv.slice(2);
if (!out || runs.length === 0) {
  console.error('usage: node bench/cold-chart.mjs out.svg "label=file" ...');
  process.exit(2);
}

const series = runs.map((arg) => {
  const at = arg.lastIndexOf('=');
  const [label, file] = [arg.slice(0, at), arg.slice(at + 1)];
  const text = readFileSync(file, 'utf8');
  const ready = Number(/^ready (\d+) ms/m.exec(text)?.[1]);
  const line = /^throughput per 5 s from ready: (.*)$/m.exec(text)?.[1];
  if (!Number.isFinite(ready) || !line) throw new Error(`${file}: no "ready" or "throughput per 5 s" line`);
  const points = [...line.matchAll(/(\d+)-(\d+) s: (\d+) req\/s/g)].map((m) => ({ t: ready / 1000 + Number(m[2]), y: Number(m[3]) }));
  return { label, ready: ready / 1000, points: [{ t: ready / 1000, y: 0 }, ...points] };
});

const [w, h, left, right, top, bottom] = [900, 360, 60, 300, 20, 40];
const maxT = Math.max(...series.flatMap((s) => s.points.map((p) => p.t)));
const maxY = Math.ceil(Math.max(...series.flatMap((s) => s.points.map((p) => p.y))) / 1000) * 1000;
const x = (t) => left + ((w - left - right) * t) / maxT;
const y = (v) => h - bottom - ((h - top - bottom) * v) / maxY;
const colours = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];
const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`,
  `<rect width="${w}" height="${h}" fill="white"/>`];
for (let v = 0; v <= maxY; v += 1000) {
  parts.push(`<line x1="${left}" x2="${w - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
    `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
}
for (let t = 0; t <= maxT; t += 30) {
  parts.push(`<text x="${x(t)}" y="${h - bottom + 16}" text-anchor="middle">${t}</text>`);
}
parts.push(`<text x="${(left + w - right) / 2}" y="${h - 6}" text-anchor="middle">seconds from the process's start</text>`,
  `<text x="14" y="${(top + h - bottom) / 2}" transform="rotate(-90 14 ${(top + h - bottom) / 2})" text-anchor="middle">requests per second (5 s)</text>`);
series.forEach((s, i) => {
  const c = colours[i % colours.length];
  parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ')}"/>`,
    `<circle cx="${x(s.ready).toFixed(1)}" cy="${y(0).toFixed(1)}" r="4" fill="${c}"/>`,
    `<line x1="${w - right + 12}" x2="${w - right + 32}" y1="${top + 10 + i * 20}" y2="${top + 10 + i * 20}" stroke="${c}" stroke-width="2"/>`,
    `<text x="${w - right + 38}" y="${top + 14 + i * 20}">${s.label.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`);
});
parts.push('</svg>');
writeFileSync(out, parts.join('\n') + '\n');
console.log(`${out}: ${series.length} runs, ${maxT.toFixed(0)} s`);
