// The Grafana dashboards, as code: `node dashboards.mjs` writes grafana/*.json, `node dashboards.mjs --check` fails
// when a JSON file differs from what this script writes (check.sh runs it). Edit here, not in the JSON.
// Every query uses only the series of the contract in docs/operations.md ("Metrics in Prometheus") and the recorded
// series of prometheus/recording-rules.yml; validate.mjs holds them to that.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ds = { type: 'prometheus', uid: '${datasource}' };
const api = 'http_route=~"/v1/.+|/auth/.+"';
const llmRoutes = 'http_route=~"/v1/chat/completions|/v1/prompts/.+/run"';
const coreRoutes = `${api}, http_route!~"/v1/chat/completions|/v1/prompts/.+/run|/v1/jobs/.+/events|/v1/traces/export"`;
const model = 'gen_ai_request_model=~"$model"';
const tenant = 'tenant=~"$tenant"';
const rate = (selector) => `rate(${selector}[$__rate_interval])`;

// /v1/chat/completions -> chat, /auth/passkeys/login -> auth: the first segment after /v1.
const routeGroup = (inner) => `label_replace(${inner}, "route_group", "$2", "http_route", "/(v1/)?([^/]+).*")`;
const quantileByGroup = (q) =>
  `histogram_quantile(${q}, sum by (route_group, le) (${routeGroup(`sum by (http_route, le) (${rate(`http_server_request_duration_seconds_bucket{${api}}`)})`)}))`;

const variables = {
  datasource: {
    name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus',
    current: {}, hide: 0, includeAll: false, multi: false, options: [], refresh: 1, regex: '',
  },
  model: queryVariable('model', 'Model', 'label_values(gen_ai_client_operation_duration_seconds_count, gen_ai_request_model)'),
  tenant: queryVariable('tenant', 'Tenant', 'label_values(app_usage_cost_USD_total, tenant)'),
};

function queryVariable(name, label, query) {
  return {
    name, label, type: 'query', datasource: ds, definition: query,
    query: { query, refId: `${name}-values`, qryType: 1 },
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: 0, includeAll: true, allValue: '.*', multi: true, options: [], refresh: 2, regex: '', sort: 1,
  };
}

// A panel: targets are [expr, legend] pairs; options.type picks the visualization (timeseries by default).
function panel(title, unit, targets, options = {}) {
  const { type = 'timeseries', description, min, max, thresholds, mappings, w = 12, h = 8, stack } = options;
  const defaults = { unit, mappings: mappings ?? [] };
  if (min !== undefined) defaults.min = min;
  if (max !== undefined) defaults.max = max;
  defaults.thresholds = {
    mode: 'absolute',
    steps: thresholds
      ? [{ color: 'green', value: null }, ...thresholds.map(([value, color]) => ({ color, value }))]
      : [{ color: 'green', value: null }],
  };
  if (type === 'timeseries') {
    defaults.custom = {
      drawStyle: 'line', lineWidth: 1, fillOpacity: stack ? 30 : 10, showPoints: 'never', spanNulls: false,
      stacking: { mode: stack ? 'normal' : 'none', group: 'A' },
      thresholdsStyle: { mode: thresholds ? 'line' : 'off' },
    };
  }
  const result = {
    type, title, datasource: ds, w, h,
    fieldConfig: { defaults, overrides: [] },
    options: type === 'timeseries'
      ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } }
      : type === 'stat'
        ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', textMode: 'auto' }
        : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, showValue: 'auto', rowHeight: 0.9 },
    targets: targets.map(([expr, legendFormat], i) => ({
      datasource: ds, refId: String.fromCharCode(65 + i), expr, legendFormat: legendFormat ?? '__auto', range: true,
    })),
  };
  if (description) result.description = description;
  return result;
}

const burnTargets = (sli, budget) =>
  ['1h', '6h', '1d', '3d'].map((w) => [`slo:${sli}:ratio_rate${w} / ${budget}`, w]);

const circuitStates = [{
  type: 'value',
  options: {
    0: { text: 'closed', color: 'green', index: 0 },
    1: { text: 'open', color: 'red', index: 1 },
    2: { text: 'half-open', color: 'orange', index: 2 },
    3: { text: 'isolated', color: 'blue', index: 3 },
  },
}];

const dashboards = {
  'service-overview': {
    title: 'App: service overview',
    description: 'Requests, errors and latency per route group; saturation of each instance.',
    variables: ['datasource'],
    panels: [
      panel('Request rate by route group', 'reqps', [[`sum by (route_group) (${routeGroup(`sum by (http_route) (${rate(`http_server_request_duration_seconds_count{${api}}`)})`)})`, '{{route_group}}']], { stack: true }),
      panel('5xx ratio by route group', 'percentunit', [[
        `(sum by (route_group) (${routeGroup(`sum by (http_route) (${rate(`http_server_request_duration_seconds_count{${api}, http_response_status_code=~"5.."}`)})`)})
  or 0 * sum by (route_group) (${routeGroup(`sum by (http_route) (${rate(`http_server_request_duration_seconds_count{${api}}`)})`)}))
  / sum by (route_group) (${routeGroup(`sum by (http_route) (${rate(`http_server_request_duration_seconds_count{${api}}`)})`)})`, '{{route_group}}']],
      { min: 0, thresholds: [[0.005, 'red']], description: 'The availability objective allows 0.5 % of API requests to answer 5xx. A group with no 5xx reads 0.' }),
      panel('Responses by status code', 'reqps', [[`sum by (http_response_status_code) (${rate(`http_server_request_duration_seconds_count{${api}}`)})`, '{{http_response_status_code}}']], { stack: true }),
      panel('p50 latency by route group', 's', [[quantileByGroup(0.5), '{{route_group}}']]),
      panel('p95 latency by route group', 's', [[quantileByGroup(0.95), '{{route_group}}']],
        { thresholds: [[0.3, 'orange'], [1.5, 'red']], description: 'Budgets: p95 <= 300 ms for the core routes, <= 1.5 s for chat completions and prompt runs.' }),
      panel('p99 latency by route group', 's', [[quantileByGroup(0.99), '{{route_group}}']]),
      panel('Gateway overhead p95 by route group', 's', [[`histogram_quantile(0.95, sum by (app_route_group, le) (${rate('app_gateway_overhead_seconds_bucket')}))`, '{{app_route_group}}']],
        { description: 'The gateway\'s own time per call, without the upstream (Server-Timing gw).' }),
      panel('Upstream duration p95 by route group', 's', [[`histogram_quantile(0.95, sum by (app_route_group, le) (${rate('app_gateway_upstream_duration_seconds_bucket')}))`, '{{app_route_group}}']]),
      panel('In-flight requests', 'short', [['sum by (instance) (http_server_active_requests)', '{{instance}}']]),
      panel('Thread pool', 'short', [
        ['sum by (instance) (dotnet_thread_pool_thread_count_total)', 'threads {{instance}}'],
        ['sum by (instance) (dotnet_thread_pool_queue_length_total)', 'queued work items {{instance}}'],
      ]),
      panel('CPU used (share of the instance\'s CPUs)', 'percentunit', [[
        `sum by (instance) (${rate('dotnet_process_cpu_time_seconds_total')}) / sum by (instance) (dotnet_process_cpu_count)`, '{{instance}}']], { min: 0 }),
      panel('Memory (working set)', 'bytes', [['sum by (instance) (dotnet_process_memory_working_set_bytes)', '{{instance}}']]),
      panel('GC pause time (share of wall time)', 'percentunit', [[`sum by (instance) (${rate('dotnet_gc_pause_time_seconds_total')})`, '{{instance}}']]),
      panel('Calls waiting for a concurrency slot', 'short', [['sum by (app_deployment) (app_gateway_deployment_queued)', '{{app_deployment}}']]),
      panel('Trace writer queue', 'short', [['sum by (instance) (app_traces_queued)', '{{instance}}']]),
      panel('Traces written and dropped', 'ops', [
        [`sum(${rate('app_traces_written_total')})`, 'written'],
        [`sum by (app_traces_reason) (${rate('app_traces_dropped_total')})`, 'dropped: {{app_traces_reason}}'],
        [`sum(${rate('app_traces_rejected_total')})`, 'rejected'],
      ]),
      panel('Database unavailable (503s)', 'reqps', [[`sum(${rate('app_database_unavailable_total')})`, '503 database-unavailable']]),
      panel('Real users: p75 LCP, INP and time to first token', 's', [
        [`histogram_quantile(0.75, sum by (le) (${rate('app_rum_lcp_seconds_bucket')}))`, 'LCP'],
        [`histogram_quantile(0.75, sum by (le) (${rate('app_rum_inp_seconds_bucket')}))`, 'INP'],
        [`histogram_quantile(0.75, sum by (le) (${rate('app_rum_ttft_seconds_bucket')}))`, 'time to first token'],
      ], { thresholds: [[0.2, 'orange'], [2.5, 'red']], description: 'As the page at / measured them in users\' browsers (POST /rum). Good: LCP <= 2.5 s, INP <= 200 ms (web-vitals, at the 75th percentile).' }),
      panel('Real users: p75 CLS', 'none', [[`histogram_quantile(0.75, sum by (le) (${rate('app_rum_cls_bucket')}))`, 'CLS']],
        { min: 0, thresholds: [[0.1, 'orange'], [0.25, 'red']], description: 'Cumulative Layout Shift; good <= 0.1, poor > 0.25.' }),
    ],
  },
  llm: {
    title: 'App: LLM',
    description: 'Per model: latency, time to first token, tokens, cost, cache, retries, fallbacks and circuits.',
    variables: ['datasource', 'model', 'tenant'],
    panels: [
      panel('Model call p95 by model', 's', [[`histogram_quantile(0.95, sum by (gen_ai_request_model, le) (${rate(`gen_ai_client_operation_duration_seconds_bucket{${model}}`)}))`, '{{gen_ai_request_model}}']]),
      panel('Time to first token p95 by model', 's', [[`histogram_quantile(0.95, sum by (gen_ai_request_model, le) (${rate(`gen_ai_server_time_to_first_token_seconds_bucket{${model}}`)}))`, '{{gen_ai_request_model}}']]),
      panel('Time per output token p95 by model', 's', [[`histogram_quantile(0.95, sum by (gen_ai_request_model, le) (${rate(`gen_ai_server_time_per_output_token_seconds_bucket{${model}}`)}))`, '{{gen_ai_request_model}}']]),
      panel('LLM route p95 (as the client saw it)', 's', [[`histogram_quantile(0.95, sum by (http_route, le) (${rate(`http_server_request_duration_seconds_bucket{${llmRoutes}}`)}))`, '{{http_route}}']],
        { thresholds: [[1.5, 'red']] }),
      panel('Tokens by model and type', 'suffix: tok/s', [[`sum by (gen_ai_request_model, gen_ai_token_type) (${rate(`gen_ai_client_token_usage_sum{${model}}`)})`, '{{gen_ai_request_model}} {{gen_ai_token_type}}']], { stack: true }),
      panel('Spend by model (USD per hour)', 'currencyUSD', [[`sum by (gen_ai_request_model) (${rate(`app_usage_cost_USD_total{${model}, ${tenant}}`)}) * 3600`, '{{gen_ai_request_model}}']], { stack: true }),
      panel('Model calls by model', 'ops', [[`sum by (gen_ai_request_model) (${rate(`gen_ai_client_operation_duration_seconds_count{${model}}`)})`, '{{gen_ai_request_model}}']], { stack: true }),
      panel('Model call errors by type', 'ops', [[`sum by (gen_ai_request_model, error_type) (${rate(`gen_ai_client_operation_duration_seconds_count{${model}, error_type!=""}`)})`, '{{gen_ai_request_model}} {{error_type}}']]),
      panel('Cache hit ratio', 'percentunit', [[
        `sum(${rate('app_gateway_cache_lookups_total{app_cache_result="hit"}')}) / sum(${rate('app_gateway_cache_lookups_total{app_cache_result=~"hit|miss"}')})`, 'hits / cacheable lookups']], { min: 0, max: 1 }),
      panel('Cache lookups by result', 'ops', [
        [`sum by (app_cache_result) (${rate('app_gateway_cache_lookups_total')})`, '{{app_cache_result}}'],
        [`sum(${rate('app_gateway_cache_local_hits_total')})`, 'hit from local memory'],
        [`sum by (app_cache_operation) (${rate('app_gateway_cache_errors_total')})`, 'error: {{app_cache_operation}}'],
      ]),
      panel('Upstream retries by deployment', 'ops', [[`sum by (app_deployment) (${rate('app_gateway_upstream_retries_total')})`, '{{app_deployment}}']]),
      panel('Fallbacks', 'ops', [[`sum(${rate('app_gateway_fallbacks_total')})`, 'served by a later deployment']]),
      panel('Circuit state by deployment', 'none', [['max by (app_deployment) (app_gateway_circuit_state)', '{{app_deployment}}']],
        { type: 'state-timeline', mappings: circuitStates, description: 'Worst state over instances: 0 closed, 1 open, 2 half-open, 3 isolated.' }),
      panel('Gateway rejections by reason', 'ops', [[`sum by (error_type) (${rate('app_gateway_rejections_total')})`, '{{error_type}}']]),
      panel('Stream errors after the first token', 'ops', [[`sum by (error_type) (${rate('app_gateway_stream_errors_total')})`, '{{error_type}}']]),
    ],
  },
  'traffic-control': {
    title: 'App: traffic control',
    description: 'Rate-limit and budget refusals, and each tenant\'s spend against its budget.',
    variables: ['datasource', 'tenant'],
    panels: [
      panel('Refusals by limit', 'reqps', [[`sum by (app_traffic_limit) (${rate('app_traffic_refusals_total')})`, '{{app_traffic_limit}}']], { stack: true }),
      panel('Calls let through unchecked (Redis fail-open)', 'reqps', [[`sum(${rate('app_traffic_unenforced_total')})`, 'unenforced']]),
      panel('Admissions from local leases', 'reqps', [[`sum(${rate('app_traffic_leased_total')})`, 'leased']]),
      panel('Upstream calls cancelled by a refused admission', 'reqps', [[`sum(${rate('app_traffic_overlap_cancelled_total')})`, 'overlap cancelled']]),
      panel('Spend by tenant (USD per hour)', 'currencyUSD', [[`sum by (tenant) (${rate(`app_usage_cost_USD_total{${tenant}}`)}) * 3600`, '{{tenant}}']], { stack: true }),
      panel('Spend now against the same hour last week (USD per hour)', 'currencyUSD', [
        [`tenant:app_usage_cost:rate1h{${tenant}} * 3600`, '{{tenant}} last hour'],
        [`tenant:app_usage_cost:rate1h_same_hour_7d{${tenant}} * 3600`, '{{tenant}} same hour, 7-day average'],
      ], { description: 'TenantSpendSpike opens a ticket above 3x the average (and at least 1 USD in the hour).' }),
      panel('Monthly cost budget used, against the month gone', 'percentunit', [
        [`max by (tenant) (app_budget_utilization{${tenant}, app_budget_period="month", app_budget_kind="cost"})`, '{{tenant}} used'],
        ['(day_of_month() - 1 + (time() % 86400) / 86400) / days_in_month()', 'share of the month gone'],
      ], { min: 0, thresholds: [[1, 'red']] }),
      panel('Projected month-end spend (share of monthly budget)', 'percentunit', [[`tenant:app_budget_cost:projected_month_ratio{${tenant}}`, '{{tenant}}']],
        { min: 0, thresholds: [[1, 'red']], description: 'Spent so far plus the last day\'s rate until the month ends; TenantBudgetProjectedOverrun above 100 %.' }),
      panel('Budget used by tenant, period and kind', 'percentunit', [[`max by (tenant, app_budget_period, app_budget_kind) (app_budget_utilization{${tenant}})`, '{{tenant}} {{app_budget_period}} {{app_budget_kind}}']],
        { min: 0, thresholds: [[0.8, 'orange'], [1, 'red']] }),
      panel('Cost budgets by tenant', 'currencyUSD', [[`max by (tenant, app_budget_period) (app_budget_limit{${tenant}, app_budget_kind="cost"})`, '{{tenant}} {{app_budget_period}}']]),
      panel('Tokens by tenant and kind', 'suffix: tok/s', [[`sum by (tenant, app_usage_kind) (${rate(`app_usage_tokens_total{${tenant}}`)})`, '{{tenant}} {{app_usage_kind}}']], { stack: true }),
    ],
  },
  jobs: {
    title: 'App: jobs',
    description: 'The job queue: backlog, throughput, failures and redeliveries.',
    variables: ['datasource'],
    panels: [
      panel('Jobs queued', 'short', [['max(app_jobs_queued)', 'queued']]),
      panel('Jobs running', 'short', [['sum by (instance) (app_jobs_running)', '{{instance}}']], { stack: true }),
      panel('Jobs finished by status', 'ops', [[`sum by (app_job_status) (${rate('app_jobs_finished_total')})`, '{{app_job_status}}']], { stack: true }),
      panel('Dead-lettered in the range', 'short', [['sum(increase(app_jobs_finished_total{app_job_status="dead_lettered"}[$__range]))', 'dead-lettered']],
        { type: 'stat', w: 6, thresholds: [[1, 'red']] }),
      panel('Failed in the range', 'short', [['sum(increase(app_jobs_finished_total{app_job_status="failed"}[$__range]))', 'failed']],
        { type: 'stat', w: 6, thresholds: [[1, 'orange']] }),
      panel('Retries (transient failures)', 'ops', [[`sum(${rate('app_jobs_retries_total')})`, 'retried']]),
      panel('Redeliveries by reason', 'ops', [[`sum by (app_job_reason) (${rate('app_jobs_redeliveries_total')})`, '{{app_job_reason}}']]),
      panel('Duplicates and held leases', 'ops', [
        [`sum(${rate('app_jobs_duplicates_total')})`, 'duplicate deliveries'],
        [`sum(${rate('app_jobs_lease_held_total')})`, 'left to the lease holder'],
      ]),
      panel('Jobs API p95', 's', [[`histogram_quantile(0.95, sum by (http_route, le) (${rate('http_server_request_duration_seconds_bucket{http_route=~"/v1/jobs.*", http_route!~".+/events"}')}))`, '{{http_route}}']],
        { thresholds: [[0.3, 'red']] }),
    ],
  },
  slo: {
    title: 'App: SLOs',
    description: 'Availability (99.5 % not 5xx) and latency (p95 <= 300 ms core, <= 1.5 s LLM) over 30 days: budget left and burn rates.',
    variables: ['datasource'],
    panels: [
      panel('Availability: error budget left (30 d)', 'percentunit', [['1 - slo:api_errors:ratio_rate30d / 0.005', 'budget left']],
        { type: 'stat', w: 8, thresholds: [[0, 'red'], [0.25, 'orange'], [0.5, 'green']] }),
      panel('Core latency: error budget left (30 d)', 'percentunit', [['1 - slo:core_latency_over_budget:ratio_rate30d / 0.05', 'budget left']],
        { type: 'stat', w: 8, thresholds: [[0, 'red'], [0.25, 'orange'], [0.5, 'green']] }),
      panel('LLM latency: error budget left (30 d)', 'percentunit', [['1 - slo:llm_latency_over_budget:ratio_rate30d / 0.05', 'budget left']],
        { type: 'stat', w: 8, thresholds: [[0, 'red'], [0.25, 'orange'], [0.5, 'green']] }),
      panel('Availability burn rate', 'suffix:x', burnTargets('api_errors', 0.005),
        { thresholds: [[1, 'orange'], [6, 'red']], description: 'Pages at 14.4x (1h with 5m) or 6x (6h with 30m); tickets at 3x (1d with 2h) or 1x (3d with 6h).', w: 8 }),
      panel('Core latency burn rate', 'suffix:x', burnTargets('core_latency_over_budget', 0.05), { thresholds: [[1, 'orange'], [6, 'red']], w: 8 }),
      panel('LLM latency burn rate', 'suffix:x', burnTargets('llm_latency_over_budget', 0.05), { thresholds: [[1, 'orange'], [6, 'red']], w: 8 }),
      panel('5xx ratio (5m) against the objective', 'percentunit', [['slo:api_errors:ratio_rate5m', '5xx ratio']], { min: 0, thresholds: [[0.005, 'red']], w: 8 }),
      panel('Core requests over 300 ms (5m)', 'percentunit', [['slo:core_latency_over_budget:ratio_rate5m', 'over budget']], { min: 0, thresholds: [[0.05, 'red']], w: 8 }),
      panel('LLM requests over 1.5 s (5m)', 'percentunit', [['slo:llm_latency_over_budget:ratio_rate5m', 'over budget']], { min: 0, thresholds: [[0.05, 'red']], w: 8 }),
      panel('Request rate per SLO', 'reqps', [
        ['slo:api_requests:rate5m', 'api (availability)'],
        ['slo:core_requests:rate5m', 'core (300 ms)'],
        ['slo:llm_requests:rate5m', 'llm (1.5 s)'],
      ], { description: 'Burn-rate alerts need at least 0.1 request/s in their short window.' }),
      panel('p95 per latency SLO', 's', [
        [`histogram_quantile(0.95, sum by (le) (${rate(`http_server_request_duration_seconds_bucket{${coreRoutes}}`)}))`, 'core'],
        [`histogram_quantile(0.95, sum by (le) (${rate(`http_server_request_duration_seconds_bucket{${llmRoutes}}`)}))`, 'llm'],
      ], { thresholds: [[0.3, 'orange'], [1.5, 'red']] }),
    ],
  },
};

// Lays panels out left to right in rows 24 units wide, and numbers them.
function build(uid, d) {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const panels = d.panels.map(({ w, h, ...p }, i) => {
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const placed = { id: i + 1, gridPos: { h, w, x, y }, ...p };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return placed;
  });
  return {
    uid: `app-${uid}`,
    title: d.title,
    description: d.description,
    tags: ['app'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: '',
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [],
    annotations: {
      list: [{
        builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true,
        iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard',
      }],
    },
    templating: { list: d.variables.map((v) => variables[v]) },
    panels,
  };
}

const check = process.argv.includes('--check');
let stale = 0;
for (const [uid, d] of Object.entries(dashboards)) {
  const path = join(here, 'grafana', `${uid}.json`);
  const text = `${JSON.stringify(build(uid, d), null, 2)}\n`;
  if (!check) {
    writeFileSync(path, text);
    continue;
  }
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // A missing file is stale too.
  }
  if (current !== text) {
    console.error(`grafana/${uid}.json differs from dashboards.mjs: run node deploy/observability/dashboards.mjs`);
    stale++;
  }
}
if (check && !stale) {
  console.log(`dashboards: ${Object.keys(dashboards).length} generated files up to date`);
}
process.exit(stale ? 1 : 0);
