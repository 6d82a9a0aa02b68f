// The set rule "network-policy-coverage": an admission policy sees one object at a time and cannot tell that a
// NetworkPolicy is missing, so this looks at every object of one source (a file or a rendered overlay) together.
// In each namespace that runs a workload, NetworkPolicies with an empty podSelector must deny all ingress and all
// egress by default (one object or two); and each workload's pod labels must be selected by a NetworkPolicy of its
// own (a non-empty podSelector), the one that opens what it needs. Objects without a namespace share one.
export const policyName = "network-policy-coverage";

const workloadKinds = new Set(["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Rollout"]);

function podLabels(object) {
  switch (object.kind) {
    case "Pod":
      return object.metadata?.labels ?? {};
    case "CronJob":
      return object.spec?.jobTemplate?.spec?.template?.metadata?.labels ?? {};
    default:
      return object.spec?.template?.metadata?.labels ?? {};
  }
}

function isEmptySelector(selector) {
  return Object.keys(selector?.matchLabels ?? {}).length === 0 && (selector?.matchExpressions ?? []).length === 0;
}

/** metav1.LabelSelector semantics: every matchLabels pair and every matchExpressions requirement holds. */
export function selectorMatches(selector, labels) {
  const pairs = Object.entries(selector?.matchLabels ?? {});
  if (!pairs.every(([key, value]) => labels[key] === String(value))) {
    return false;
  }
  return (selector?.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    const present = Object.hasOwn(labels, key);
    switch (operator) {
      case "In":
        return present && values.map(String).includes(labels[key]);
      case "NotIn":
        return !present || !values.map(String).includes(labels[key]);
      case "Exists":
        return present;
      case "DoesNotExist":
        return !present;
      default:
        return false;
    }
  });
}

function policyTypes(policy) {
  const declared = policy.spec?.policyTypes;
  if (declared !== undefined) {
    return declared;
  }
  return policy.spec?.egress !== undefined ? ["Ingress", "Egress"] : ["Ingress"];
}

function deniesByDefault(policy, direction) {
  const rules = direction === "Ingress" ? policy.spec?.ingress : policy.spec?.egress;
  return isEmptySelector(policy.spec?.podSelector) && policyTypes(policy).includes(direction) && (rules ?? []).length === 0;
}

const show = (labels) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",") || "(none)";

/** Denials `{ kind, name, message }` for the objects of one source. */
export function coverageDenials(objects) {
  const namespaces = new Map();
  const spaceOf = (object) => {
    const name = object.metadata?.namespace ?? "";
    if (!namespaces.has(name)) {
      namespaces.set(name, { workloads: [], policies: [] });
    }
    return namespaces.get(name);
  };
  for (const object of objects) {
    if (object.kind === "NetworkPolicy") {
      spaceOf(object).policies.push(object);
    } else if (workloadKinds.has(object.kind) && !(object.kind === "Rollout" && object.spec?.workloadRef !== undefined)) {
      spaceOf(object).workloads.push(object);
    }
  }
  const found = [];
  for (const [namespace, { workloads, policies }] of namespaces) {
    if (workloads.length === 0) {
      continue;
    }
    const open = ["Ingress", "Egress"].filter((direction) => !policies.some((p) => deniesByDefault(p, direction)));
    if (open.length > 0) {
      found.push({
        kind: "Namespace",
        name: namespace || "(none)",
        message:
          `no default-deny NetworkPolicy for ${open.join(" and ")}: one with podSelector {} and policyTypes ` +
          `[${open.join(", ")}] and no ${open.map((d) => d.toLowerCase()).join(" or ")} rules must select every pod`,
      });
    }
    for (const workload of workloads) {
      const labels = podLabels(workload);
      const own = policies.filter((p) => !isEmptySelector(p.spec?.podSelector) && selectorMatches(p.spec.podSelector, labels));
      if (own.length === 0) {
        found.push({
          kind: workload.kind,
          name: workload.metadata?.name ?? "",
          message: `pod labels ${show(labels)} are selected by no NetworkPolicy podSelector of their own: add one that opens what the pods need`,
        });
      }
    }
  }
  return found;
}
