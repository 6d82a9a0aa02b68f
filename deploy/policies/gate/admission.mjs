// Evaluates ValidatingAdmissionPolicy objects (admissionregistration.k8s.io/v1) the way the API server does for a
// CREATE of one object: matchConstraints.resourceRules pick the object by group, version, resource and operation;
// every matchCondition must hold; variables are evaluated in order and bound as `variables`; each validation that
// is false denies the object with its messageExpression (or message). An expression that errors is a denial too,
// as under failurePolicy Fail (every policy here uses it). A policy is enforced only if a binding with the Deny
// action names it. Outside a cluster there are no namespace labels to select on, so the bindings' matchResources
// are not applied: every policy is checked against every object.
import { celEnv, isCelError, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseManifests } from "./manifests.mjs";

// Resources as the policies name them, to the kinds manifests carry. A resource missing here is an error in the
// policy, never a silent non-match.
const kindsByResource = {
  "": {
    pods: "Pod",
    services: "Service",
    secrets: "Secret",
    configmaps: "ConfigMap",
    serviceaccounts: "ServiceAccount",
    namespaces: "Namespace",
  },
  apps: { deployments: "Deployment", statefulsets: "StatefulSet", daemonsets: "DaemonSet", replicasets: "ReplicaSet" },
  batch: { jobs: "Job", cronjobs: "CronJob" },
  "argoproj.io": { rollouts: "Rollout" },
  "networking.k8s.io": { networkpolicies: "NetworkPolicy", ingresses: "Ingress" },
};

const env = celEnv({ funcs: strings });

function compile(expression, where) {
  try {
    const program = plan(env, parse(expression));
    return { expression, program };
  } catch (error) {
    throw new Error(`${where}: CEL does not compile: ${error.message}`);
  }
}

function evaluate(compiled, bindings) {
  try {
    const result = compiled.program(bindings);
    return isCelError(result) ? { error: result.message } : { value: result };
  } catch (error) {
    return { error: error.message };
  }
}

function groupVersion(apiVersion) {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function ruleMatches(rule, object, operation, where) {
  const { group, version } = groupVersion(object.apiVersion ?? "");
  const has = (list, value) => (list ?? []).includes("*") || (list ?? []).includes(value);
  if (!has(rule.apiGroups, group) || !has(rule.apiVersions, version) || !has(rule.operations, operation)) {
    return false;
  }
  return (rule.resources ?? []).some((resource) => {
    if (resource === "*") {
      return true;
    }
    const kind = kindsByResource[group]?.[resource];
    if (kind === undefined && rule.apiGroups.every((g) => kindsByResource[g]?.[resource] === undefined)) {
      throw new Error(`${where}: resource ${resource} has no kind the gate knows (add it to kindsByResource)`);
    }
    return kind === object.kind;
  });
}

function loadPolicy(policy, where) {
  const spec = policy.spec ?? {};
  const name = policy.metadata?.name;
  const named = (list, what) =>
    (list ?? []).map((item, i) => ({ ...item, ...compile(item.expression, `${where}: ${name}: ${what}[${i}]`) }));
  return {
    name,
    where,
    failurePolicy: spec.failurePolicy ?? "Fail",
    rules: spec.matchConstraints?.resourceRules ?? [],
    excludeRules: spec.matchConstraints?.excludeResourceRules ?? [],
    matchConditions: named(spec.matchConditions, "matchConditions"),
    variables: named(spec.variables, "variables"),
    validations: (spec.validations ?? []).map((v, i) => ({
      ...v,
      ...compile(v.expression, `${where}: ${name}: validations[${i}]`),
      messageProgram: v.messageExpression ? compile(v.messageExpression, `${where}: ${name}: validations[${i}].messageExpression`) : null,
    })),
  };
}

/** The enforced policies of every .yaml file in `dir`, each with a Deny binding; throws on a policy without one. */
export function loadPolicies(dir) {
  const policies = [];
  const denyBindings = new Set();
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const where = join(dir, file);
    for (const object of parseManifests(readFileSync(where, "utf8"), where)) {
      if (object.kind === "ValidatingAdmissionPolicy") {
        policies.push(loadPolicy(object, where));
      } else if (object.kind === "ValidatingAdmissionPolicyBinding" && (object.spec?.validationActions ?? []).includes("Deny")) {
        denyBindings.add(object.spec.policyName);
      }
    }
  }
  const unbound = policies.filter((p) => !denyBindings.has(p.name)).map((p) => p.name);
  if (unbound.length > 0) {
    throw new Error(`policies without a binding whose validationActions include Deny: ${unbound.join(", ")}`);
  }
  return policies;
}

/** Whether `policy` selects `object` (its resource rules alone, before matchConditions). */
export function selects(policy, object, operation = "CREATE") {
  return (
    policy.rules.some((rule) => ruleMatches(rule, object, operation, policy.where)) &&
    !policy.excludeRules.some((rule) => ruleMatches(rule, object, operation, policy.where))
  );
}

/** The request the API server would bind for a CREATE of `object` by `username`. */
export function requestFor(object, username) {
  const { group, version } = groupVersion(object.apiVersion ?? "");
  return {
    operation: "CREATE",
    kind: { group, version, kind: object.kind },
    namespace: object.metadata?.namespace ?? "",
    name: object.metadata?.name ?? "",
    userInfo: { username, groups: [] },
    dryRun: false,
  };
}

/**
 * The denials of `policy` for `object`: a list of messages, empty when it is admitted or not selected.
 * `context` gives `username` (who applies it) and `namespaceObject` (the Namespace object, when the source has it).
 */
export function denials(policy, object, context) {
  if (!selects(policy, object)) {
    return [];
  }
  const failed = (what, error) => (policy.failurePolicy === "Ignore" ? [] : [`${what} failed to evaluate: ${error}`]);
  const bindings = {
    object,
    oldObject: null,
    params: null,
    request: requestFor(object, context.username),
    namespaceObject: context.namespaceObject ?? null,
    variables: {},
  };
  for (const condition of policy.matchConditions) {
    const result = evaluate(condition, bindings);
    if (result.error !== undefined) {
      return failed(`matchCondition ${condition.name}`, result.error);
    }
    if (result.value !== true) {
      return [];
    }
  }
  // The API server evaluates a variable when an expression first reads it; an error then fails only the
  // expressions that read it, so an error is kept, not thrown.
  const variableErrors = {};
  for (const variable of policy.variables) {
    const result = evaluate(variable, bindings);
    if (result.error !== undefined) {
      variableErrors[variable.name] = result.error;
    } else {
      bindings.variables[variable.name] = result.value;
    }
  }
  const messages = [];
  for (const validation of policy.validations) {
    const broken = Object.keys(variableErrors).find((name) => validation.expression.includes(`variables.${name}`));
    if (broken !== undefined) {
      messages.push(...failed(`variable ${broken}`, variableErrors[broken]));
      continue;
    }
    const result = evaluate(validation, bindings);
    if (result.error !== undefined) {
      messages.push(...failed(`validation '${validation.expression}'`, result.error));
    } else if (result.value !== true) {
      messages.push(message(validation, bindings));
    }
  }
  return messages;
}

function message(validation, bindings) {
  if (validation.messageProgram !== null) {
    const result = evaluate(validation.messageProgram, bindings);
    if (result.error === undefined && typeof result.value === "string" && result.value.trim() !== "") {
      return result.value;
    }
  }
  return validation.message ?? `failed expression: ${validation.expression}`;
}
