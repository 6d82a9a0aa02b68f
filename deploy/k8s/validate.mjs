// Validates rendered manifests against the Kubernetes schemas and those of the custom resources they use (Argo
// Rollouts, prometheus-operator, External Secrets, Gateway API), with the generated validators of the
// @kubernetes-models packages (installed beside this file by deploy/local/install-deps.sh --with-kubectl).
//   kubectl kustomize deploy/k8s/overlays/dev | node deploy/k8s/validate.mjs
//   node deploy/k8s/validate.mjs rendered.yaml [more.yaml...]
// Prints one line per object and a summary; exits 1 if any object is invalid or of a kind with no schema here.
// The validators check types, required fields, enums and formats; they let unknown fields through, so the structural
// checks in tests/App.DeployTests name the fields that matter.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const crdPackages = {
  'argoproj.io': '@kubernetes-models/argo-rollouts',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'external-secrets.io': '@kubernetes-models/external-secrets',
  'gateway.networking.k8s.io': '@kubernetes-models/gateway-api',
};

// The module that holds the model of an apiVersion: "v1" (core), "apps/v1" (built-in group) or a custom resource's.
function modulePath(apiVersion) {
  const slash = apiVersion.indexOf('/');
  if (slash < 0) {
    return `kubernetes-models/${apiVersion}`;
  }
  const group = apiVersion.slice(0, slash);
  const pkg = crdPackages[group];
  return pkg ? `${pkg}/${apiVersion}` : `kubernetes-models/${apiVersion}`;
}

async function modelOf(apiVersion, kind) {
  try {
    const module = await import(modulePath(apiVersion));
    return module[kind];
  } catch {
    return undefined;
  }
}

const inputs = process.argv.slice(2);
const text = inputs.length > 0 ? inputs.map((f) => readFileSync(f, 'utf8')).join('\n---\n') : readFileSync(0, 'utf8');

let valid = 0;
let invalid = 0;
for (const doc of parseAllDocuments(text)) {
  if (doc.errors.length > 0) {
    invalid++;
    console.log(`INVALID YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    continue;
  }
  const object = doc.toJS();
  if (object === null || object === undefined) {
    continue;
  }
  const name = `${object.kind}/${object.metadata?.name ?? '?'} (${object.apiVersion})`;
  const Model = await modelOf(String(object.apiVersion), String(object.kind));
  if (!Model) {
    invalid++;
    console.log(`INVALID ${name}: no schema for this kind here`);
    continue;
  }
  try {
    new Model(object).validate();
    valid++;
    console.log(`valid ${name}`);
  } catch (error) {
    invalid++;
    const details = (error.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params ?? {})}`);
    console.log(`INVALID ${name}: ${details.length > 0 ? details.join('; ') : error.message}`);
  }
}
console.log(`${valid} valid, ${invalid} invalid`);
process.exit(invalid > 0 || valid === 0 ? 1 : 0);
