// Structural check of the dashboards and rules against the metric contract (Node's standard library only).
//   node validate.mjs [--grafana DIR] [--rules DIR] [--contract FILE]
// The contract is the table under "## Metrics in Prometheus" in docs/operations.md; recorded series are those of
// recording-rules.yml. Every dashboard must be valid JSON with unique panel ids, every panel a datasource, a unit and
// queries; every query (of a panel, a template variable or a rule) may name only contract or recorded series and
// contract labels; every rate() of a panel uses $__rate_interval; every alert's runbook_url is the section of the
// contract's page named after it. Exits 1 listing every problem found.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const grafanaDir = option('--grafana', join(here, 'grafana'));
const rulesDir = option('--rules', join(here, 'prometheus'));
const contractFile = option('--contract', join(here, '..', '..', 'docs', 'operations.md'));

const problems = [];
const problem = (where, what) => problems.push(`${where}: ${what}`);

// --- the contract -------------------------------------------------------------------------------------------------
function readContract(file) {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('\n## Metrics in Prometheus');
  if (start < 0) {
    throw new Error(`${file} has no "## Metrics in Prometheus" section`);
  }
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  const series = new Set();
  const labels = new Set(['job', 'instance', 'le', '__name__']);
  let rows = 0;
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`([a-zA-Z_:][\w:]*)`$/.exec(cells[1] ?? '');
    if (!name || cells.length < 6) {
      continue;
    }
    rows++;
    if (cells[2] === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) series.add(name[1] + suffix);
    } else {
      series.add(name[1]);
    }
    // Label names are the backticked words outside parentheses (those hold example values).
    for (const m of cells[4].replace(/\([^)]*\)/g, '').matchAll(/`([a-zA-Z_]\w*)`/g)) labels.add(m[1]);
  }
  if (rows === 0) {
    throw new Error(`${file}: the "Metrics in Prometheus" table has no rows`);
  }
  return { series, labels, rows };
}

// --- rules files: a small reader for the shapes used there (record/alert names, inline and block exprs) ----------
function readRules(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const rules = [];
  for (let i = 0; i < lines.length; i++) {
    const head = /^(\s*)(?:- )?(record|alert): (\S+)/.exec(lines[i]);
    if (head) {
      rules.push({ kind: head[2], name: head[3], expr: '' });
      continue;
    }
    const expr = /^(\s*)expr: ?(.*)$/.exec(lines[i]);
    if (!expr || rules.length === 0) {
      continue;
    }
    if (expr[2] !== '|' && expr[2] !== '>') {
      rules[rules.length - 1].expr = expr[2];
      continue;
    }
    const indent = expr[1].length;
    const block = [];
    while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > indent)) {
      block.push(lines[++i]);
    }
    rules[rules.length - 1].expr = block.join('\n');
  }
  return rules;
}

// --- PromQL, as far as names go -----------------------------------------------------------------------------------
const keywords = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right',
  'offset', 'bool', 'inf', 'nan', 'Inf', 'NaN']);

function names(expr) {
  const labels = new Set();
  const introduced = new Set();
  // label_replace(v, "dst", "replacement", "src", "regex"): dst is made here, src must exist.
  for (const m of expr.matchAll(/"([a-zA-Z_]\w*)"\s*,\s*"(?:[^"\\]|\\.)*"\s*,\s*"([a-zA-Z_]\w*)?"\s*,\s*"(?:[^"\\]|\\.)*"\s*\)/g)) {
    introduced.add(m[1]);
    if (m[2]) labels.add(m[2]);
  }
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  rest = rest.replace(/\{([^}]*)\}/g, (_, inner) => {
    for (const m of inner.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.add(m[1]);
    return ' ';
  });
  rest = rest.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, __, list) => {
    for (const m of list.matchAll(/[a-zA-Z_]\w*/g)) labels.add(m[0]);
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  const metrics = new Set();
  for (const m of rest.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (!m[2] && !keywords.has(m[1])) metrics.add(m[1]);
  }
  return { metrics, labels, introduced };
}

// The range of each call of fn(...) in expr.
function rangesOf(expr, fn) {
  const ranges = [];
  for (const m of expr.matchAll(new RegExp(`\\b${fn}\\s*\\(`, 'g'))) {
    let depth = 0;
    let end = m.index + m[0].length - 1;
    for (; end < expr.length; end++) {
      if (expr[end] === '(') depth++;
      if (expr[end] === ')' && --depth === 0) break;
    }
    const inner = expr.slice(m.index, end);
    const found = [...inner.matchAll(/\[([^\]]*)\]/g)];
    ranges.push(found.length ? found[found.length - 1][1] : '');
  }
  return ranges;
}

function checkExpr(where, expr, contract, recorded, extraLabels = new Set()) {
  const { metrics, labels, introduced } = names(expr);
  for (const m of metrics) {
    if (!contract.series.has(m) && !recorded.has(m)) problem(where, `series ${m} is not in the contract nor recorded`);
  }
  for (const l of labels) {
    if (!contract.labels.has(l) && !introduced.has(l) && !extraLabels.has(l)) problem(where, `label ${l} is not in the contract`);
  }
  return metrics.size;
}

// --- run ----------------------------------------------------------------------------------------------------------
const contract = readContract(contractFile);
const recordingRules = readRules(join(rulesDir, 'recording-rules.yml'));
const recorded = new Set(recordingRules.map((r) => r.name));
const alertRules = readRules(join(rulesDir, 'alerts.yml'));
let ruleExprs = 0;
for (const [file, rules] of [['recording-rules.yml', recordingRules], ['alerts.yml', alertRules]]) {
  for (const r of rules) {
    if (!r.expr.trim()) {
      problem(`${file} ${r.name}`, 'no expr');
      continue;
    }
    checkExpr(`${file} ${r.name}`, r.expr, contract, recorded);
    ruleExprs++;
  }
}

// --- runbooks: every alert's runbook_url is the section named after it on the contract's page ---------------------
const runbookPage = readFileSync(contractFile, 'utf8');
let runbooks = 0;
for (const block of readFileSync(join(rulesDir, 'alerts.yml'), 'utf8').split(/^\s*- alert: /m).slice(1)) {
  const name = block.split(/\s/, 1)[0];
  const expected = `docs/operations.md#${name.toLowerCase()}`;
  const url = /^\s*runbook_url: (\S+)\s*$/m.exec(block)?.[1];
  if (url !== expected) {
    problem(`alerts.yml ${name}`, `runbook_url ${url ?? '(none)'} instead of ${expected}`);
  } else if (!runbookPage.includes(`\n### ${name}\n`)) {
    problem(`alerts.yml ${name}`, `no "### ${name}" runbook section in ${basename(contractFile)}`);
  } else {
    runbooks++;
  }
}

const files = readdirSync(grafanaDir).filter((f) => f.endsWith('.json')).sort();
const uids = new Set();
let panelCount = 0;
let queryCount = 0;
for (const file of files) {
  let d;
  try {
    d = JSON.parse(readFileSync(join(grafanaDir, file), 'utf8'));
  } catch (e) {
    problem(file, `not valid JSON (${e.message})`);
    continue;
  }
  if (!d.uid || uids.has(d.uid)) problem(file, `missing or duplicate uid ${d.uid}`);
  uids.add(d.uid);
  if (!d.title) problem(file, 'no title');
  const variables = d.templating?.list ?? [];
  const defined = new Set(variables.map((v) => v.name));
  if (!variables.some((v) => v.type === 'datasource' && v.name === 'datasource')) problem(file, 'no datasource variable');
  for (const v of variables.filter((v) => v.type === 'query')) {
    const query = typeof v.query === 'string' ? v.query : v.query?.query ?? '';
    const inner = /^label_values\((.*),\s*([a-zA-Z_]\w*)\)$/.exec(query);
    if (!inner) {
      problem(`${file} $${v.name}`, `variable query is not label_values(series, label): ${query}`);
      continue;
    }
    checkExpr(`${file} $${v.name}`, inner[1], contract, recorded);
    if (!contract.labels.has(inner[2])) problem(`${file} $${v.name}`, `label ${inner[2]} is not in the contract`);
  }
  const panels = (d.panels ?? []).flatMap((p) => (p.type === 'row' ? p.panels ?? [] : [p]));
  const ids = new Set();
  for (const p of panels) {
    panelCount++;
    const where = `${file} panel ${p.id} "${p.title}"`;
    if (typeof p.id !== 'number' || ids.has(p.id)) problem(where, 'missing or duplicate panel id');
    ids.add(p.id);
    if (!p.title) problem(where, 'no title');
    if (!p.datasource?.uid) problem(where, 'no datasource');
    if (typeof p.fieldConfig?.defaults?.unit !== 'string' || !p.fieldConfig.defaults.unit.trim()) problem(where, 'no unit');
    if (!p.gridPos || !(p.gridPos.w > 0 && p.gridPos.h > 0)) problem(where, 'no gridPos');
    const targets = (p.targets ?? []).filter((t) => typeof t.expr === 'string' && t.expr.trim());
    if (targets.length === 0) problem(where, 'no target with an expr');
    for (const t of targets) {
      queryCount++;
      checkExpr(`${where} ${t.refId}`, t.expr, contract, recorded);
      for (const used of t.expr.matchAll(/\$\{?([a-zA-Z]\w*)/g)) {
        if (!defined.has(used[1])) problem(`${where} ${t.refId}`, `uses $${used[1]}, which is not a variable of the dashboard`);
      }
      for (const fn of ['rate', 'irate']) {
        for (const r of rangesOf(t.expr, fn)) {
          if (r !== '$__rate_interval') problem(`${where} ${t.refId}`, `${fn}() over [${r}] instead of [$__rate_interval]`);
        }
      }
      for (const r of rangesOf(t.expr, 'increase')) {
        if (r !== '$__rate_interval' && r !== '$__range') problem(`${where} ${t.refId}`, `increase() over [${r}] instead of [$__rate_interval] or [$__range]`);
      }
    }
  }
}
if (files.length === 0) problem(grafanaDir, 'no dashboards');

if (problems.length) {
  for (const p of problems) console.error(`FAIL ${p}`);
  console.error(`validate: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`validate: contract ${contract.rows} series (${basename(contractFile)}), ${recorded.size} recorded series`);
console.log(`validate: ${ruleExprs} rule expressions valid`);
console.log(`validate: ${runbooks} alerts with their runbook section`);
console.log(`validate: ${files.length} dashboards, ${panelCount} panels, ${queryCount} queries valid`);
