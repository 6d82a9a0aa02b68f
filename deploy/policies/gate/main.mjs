// The policy gate (run it through ../check.sh). Prints each denial as
//   <source>: <Kind>/<name>: <policy>: <message>
// then one summary line; exits 1 on any denial, 2 when it cannot check (bad policy, unreadable manifest, nothing to
// check). --self-test runs the fixtures of ../tests instead: each file under tests/refuse/<policy>/ must be refused
// by that policy alone, every message matching one of the file's `# reason:` lines and each line matched; each file
// under tests/accept/ must be accepted by every policy.
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { denials, loadPolicies, selects } from "./admission.mjs";
import { collectSources, isKustomization } from "./manifests.mjs";
import { coverageDenials, policyName as coveragePolicy } from "./network-coverage.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const policiesDir = resolve(here, "..");
const root = resolve(policiesDir, "../..");
// Who applies the manifests: a person or a pipeline, never a controller the policies exempt.
const applier = "system:serviceaccount:ci:deployer";

/** Every denial of every policy, admission and set rule, for the objects of one source. */
function check(source, objects, policies, username) {
  const found = [];
  for (const object of objects) {
    const namespaceObject = objects.find((o) => o.kind === "Namespace" && o.metadata?.name === object.metadata?.namespace);
    for (const policy of policies) {
      for (const message of denials(policy, object, { username, namespaceObject })) {
        found.push({ source, kind: object.kind, name: object.metadata?.name ?? "", policy: policy.name, message });
      }
    }
  }
  for (const denial of coverageDenials(objects)) {
    found.push({ source, policy: coveragePolicy, ...denial });
  }
  return found;
}

const line = (d) => `${d.source}: ${d.kind}/${d.name}: ${d.policy}: ${d.message}`;

function defaultSources() {
  const overlays = join(root, "deploy/k8s/overlays");
  const dirs = existsSync(overlays)
    ? readdirSync(overlays).map((d) => join(overlays, d)).filter((d) => statSync(d).isDirectory() && isKustomization(d))
    : [];
  if (dirs.length === 0) {
    throw new Error(`nothing to check: no kustomize overlay under ${relative(root, overlays)}/ (name files or directories)`);
  }
  return dirs.sort();
}

function runGate(paths) {
  const policies = loadPolicies(join(policiesDir, "admission"));
  const sources = collectSources(paths.length > 0 ? paths.map((p) => resolve(p)) : defaultSources(), root);
  let objects = 0;
  const found = [];
  for (const source of sources) {
    const parsed = source.objects();
    objects += parsed.length;
    found.push(...check(source.name, parsed, policies, applier));
  }
  found.forEach((d) => console.log(line(d)));
  console.log(
    `policy gate: ${sources.length} sources, ${objects} objects, ${found.length} denials ` +
      `(${policies.length} admission policies and 1 set rule)`,
  );
  return found.length === 0 ? 0 : 1;
}

function runSelfTest() {
  const policies = loadPolicies(join(policiesDir, "admission"));
  const names = [...policies.map((p) => p.name), coveragePolicy];
  const tally = Object.fromEntries(names.map((n) => [n, { refused: 0, accepted: 0 }]));
  const tests = join(policiesDir, "tests");
  const failures = [];
  let refuseCount = 0;
  let acceptCount = 0;

  const refuseDir = join(tests, "refuse");
  for (const dir of readdirSync(refuseDir).sort()) {
    if (!names.includes(dir)) {
      failures.push(`tests/refuse/${dir}: no policy is named ${dir}`);
      continue;
    }
    for (const source of collectSources([join(refuseDir, dir)], policiesDir)) {
      refuseCount++;
      const reasons = source.header.reason ?? [];
      const found = check(source.name, source.objects(), policies, source.header["request-user"]?.[0] ?? applier);
      const problems = [];
      if (reasons.length === 0) {
        problems.push("it has no '# reason:' line");
      }
      if (found.length === 0) {
        problems.push("it was accepted");
      }
      for (const d of found) {
        if (d.policy !== dir) {
          problems.push(`also refused by ${d.policy}: ${d.message}`);
        } else if (!reasons.some((r) => d.message.includes(r))) {
          problems.push(`refused for a reason not planted: ${d.message}`);
        }
      }
      for (const r of reasons.filter((r) => !found.some((d) => d.policy === dir && d.message.includes(r)))) {
        problems.push(`no denial says '${r}'`);
      }
      if (problems.length === 0) {
        tally[dir].refused++;
        console.log(`ok   ${source.name}: refused: ${found.map((d) => `${d.kind}/${d.name}: ${d.message}`).join(" | ")}`);
      } else {
        failures.push(`${source.name}: ${problems.join("; ")}`);
      }
    }
  }

  for (const source of collectSources([join(tests, "accept")], policiesDir)) {
    acceptCount++;
    const objects = source.objects();
    const found = check(source.name, objects, policies, source.header["request-user"]?.[0] ?? applier);
    if (found.length > 0) {
      failures.push(`${source.name}: refused: ${found.map((d) => `${d.kind}/${d.name}: ${d.policy}: ${d.message}`).join(" | ")}`);
      continue;
    }
    for (const policy of policies.filter((p) => objects.some((o) => selects(p, o)))) {
      tally[policy.name].accepted++;
    }
    // The set rule had something to judge when the same objects without their NetworkPolicies would be refused.
    if (coverageDenials(objects.filter((o) => o.kind !== "NetworkPolicy")).length > 0) {
      tally[coveragePolicy].accepted++;
    }
    console.log(`ok   ${source.name}: accepted (${objects.map((o) => o.kind).join(", ")})`);
  }

  for (const name of names) {
    const { refused, accepted } = tally[name];
    console.log(`  ${name}: ${refused} refused as planted, ${accepted} accepted`);
    if (refused === 0 || accepted === 0) {
      failures.push(`${name}: needs at least one fixture it refuses and one it accepts`);
    }
  }
  failures.forEach((f) => console.log(`FAIL ${f}`));
  const refusedOk = Object.values(tally).reduce((n, t) => n + t.refused, 0);
  const acceptedOk = acceptCount - failures.filter((f) => f.startsWith("tests/accept/")).length;
  const covered = names.filter((n) => tally[n].refused > 0 && tally[n].accepted > 0).length;
  console.log(
    `self-test: ${refusedOk} of ${refuseCount} refuse fixtures refused as planted, ` +
      `${acceptedOk} of ${acceptCount} accept fixtures accepted, ${covered} of ${names.length} policies with both`,
  );
  return failures.length === 0 ? 0 : 1;
}

const args = process.argv.slice(2);
try {
  process.exitCode = args.includes("--self-test") ? runSelfTest() : runGate(args);
} catch (error) {
  console.error(`policy gate: ${error.message}`);
  process.exitCode = 2;
}
