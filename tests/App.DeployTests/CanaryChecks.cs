using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>
/// The canary as the issue asks for it: the Rollout's steps are exactly 1, 10 and 50 % each followed by a timed pause
/// and an analysis by the AnalysisTemplate of the manifests, given the canary's pod-template hash and the namespace;
/// the traffic is split on an HTTPRoute between the Rollout's stable and canary Services, each rule with its own
/// request timeout; what the analysis reads is what the PodMonitor labels; the HPA and the disruption budget act on
/// the Rollout's pods.
/// </summary>
internal static class CanaryChecks
{
    public const string GatewayPlugin = "argoproj-labs/gatewayAPI";

    public static readonly int[] Weights = [1, 10, 50];

    public static IReadOnlyList<string> Problems(IReadOnlyList<JsonObject> objects)
    {
        var problems = new List<string>();
        var rollouts = objects.OfKind("Rollout").ToList();
        if (rollouts.Count != 1)
        {
            return [$"{rollouts.Count} Rollouts rendered, expected 1"];
        }

        var rollout = rollouts[0];
        var canary = rollout["spec"]?["strategy"]?["canary"];
        if (canary is null)
        {
            return ["Rollout: no canary strategy"];
        }

        Steps(objects, canary["steps"].Objects().ToList(), problems);
        var podLabels = rollout["spec"]?["template"]?["metadata"]?["labels"]?.AsObject().ToDictionary(l => l.Key, l => (string?)l.Value) ?? [];
        var stable = Service(objects, (string?)canary["stableService"], "stableService", podLabels, problems);
        var canaryService = Service(objects, (string?)canary["canaryService"], "canaryService", podLabels, problems);
        if (stable is not null && stable == canaryService)
        {
            problems.Add("Rollout: stableService and canaryService are the same Service");
        }

        Route(objects, canary, stable, canaryService, problems);
        Autoscaler(objects, Manifests.Name(rollout), problems);
        Selected(objects, "PodDisruptionBudget", podLabels, problems);
        Monitor(objects, podLabels, problems);
        return problems;
    }

    private static void Steps(IReadOnlyList<JsonObject> objects, List<JsonObject> steps, List<string> problems)
    {
        var expected = Weights.SelectMany(w => new[] { $"setWeight {w}", "pause", "analysis" }).ToList();
        var actual = steps.Select(s => s.Select(p => p.Key).SingleOrDefault() switch
        {
            "setWeight" => $"setWeight {s["setWeight"]}",
            { } key => key,
            null => "?",
        }).ToList();
        if (!actual.SequenceEqual(expected))
        {
            problems.Add($"Rollout steps are [{string.Join(", ", actual)}], expected [{string.Join(", ", expected)}]");
        }

        foreach (var pause in steps.Where(s => s["pause"] is not null))
        {
            if (pause["pause"]?["duration"] is null)
            {
                problems.Add("Rollout: a pause without a duration waits for a person instead of going on to its analysis");
            }
        }

        var templates = objects.OfKind("AnalysisTemplate").ToDictionary(Manifests.Name);
        foreach (var (analysis, index) in steps.Select((s, i) => (s["analysis"], i)).Where(a => a.Item1 is not null))
        {
            var names = analysis!["templates"].Objects().Select(t => (string?)t["templateName"] ?? "").ToList();
            if (names.Count == 0 || names.Any(n => !templates.ContainsKey(n)))
            {
                problems.Add($"Rollout step {index}: analysis templates [{string.Join(", ", names)}] are not all AnalysisTemplates of the manifests");
                continue;
            }

            var args = analysis["args"].Objects().ToDictionary(a => (string?)a["name"] ?? "", a => a);
            if ((string?)args.GetValueOrDefault("canary-hash")?["valueFrom"]?["podTemplateHashValue"] != "Latest")
            {
                problems.Add($"Rollout step {index}: canary-hash is not passed as podTemplateHashValue: Latest");
            }

            if ((string?)args.GetValueOrDefault("namespace")?["valueFrom"]?["fieldRef"]?["fieldPath"] != "metadata.namespace")
            {
                problems.Add($"Rollout step {index}: namespace is not passed from the Rollout's metadata.namespace");
            }

            foreach (var required in names.SelectMany(n => templates[n]["spec"]?["args"].Objects() ?? [])
                         .Where(a => a["value"] is null && a["valueFrom"] is null)
                         .Select(a => (string?)a["name"] ?? ""))
            {
                if (!args.ContainsKey(required))
                {
                    problems.Add($"Rollout step {index}: the template's argument {required} is not given");
                }
            }
        }

        foreach (var template in templates.Values)
        {
            foreach (var metric in template["spec"]?["metrics"].Objects() ?? [])
            {
                var query = (string?)metric["provider"]?["prometheus"]?["query"] ?? "";
                if (!query.Contains("rollouts_pod_template_hash=\"{{args.canary-hash}}\"", StringComparison.Ordinal) ||
                    !query.Contains("namespace=\"{{args.namespace}}\"", StringComparison.Ordinal))
                {
                    problems.Add($"AnalysisTemplate {Manifests.Name(template)} metric {metric["name"]}: the query does not select the canary's pods by hash and namespace");
                }
            }
        }
    }

    private static string? Service(IReadOnlyList<JsonObject> objects, string? name, string role, Dictionary<string, string?> podLabels, List<string> problems)
    {
        var service = objects.OfKind("Service").FirstOrDefault(s => Manifests.Name(s) == name);
        if (service is null)
        {
            problems.Add($"Rollout: {role} '{name}' is not a Service of the manifests");
            return null;
        }

        var selector = service["spec"]?["selector"]?.AsObject();
        if (selector is null || selector.Count == 0 || selector.Any(s => !podLabels.TryGetValue(s.Key, out var v) || v != (string?)s.Value))
        {
            problems.Add($"Service {name}: its selector does not select the Rollout's pods");
        }

        return name;
    }

    private static void Route(IReadOnlyList<JsonObject> objects, JsonNode canary, string? stable, string? canaryService, List<string> problems)
    {
        var routeName = (string?)canary["trafficRouting"]?["plugins"]?[GatewayPlugin]?["httpRoute"];
        var route = objects.OfKind("HTTPRoute").FirstOrDefault(r => Manifests.Name(r) == routeName);
        if (route is null)
        {
            problems.Add($"Rollout: trafficRouting does not name an HTTPRoute of the manifests through {GatewayPlugin}");
            return;
        }

        foreach (var rule in route["spec"]?["rules"].Objects() ?? [])
        {
            var backends = rule["backendRefs"].Objects().Select(b => (string?)b["name"]).Order().ToList();
            if (!backends.SequenceEqual(new[] { stable, canaryService }.Order()))
            {
                problems.Add($"HTTPRoute {routeName}: a rule's backends [{string.Join(", ", backends)}] are not the stable and canary Services");
            }

            // Left out, the implementation's default applies: Envoy Gateway's cuts any request at 15 s, streams too.
            if (rule["timeouts"]?["request"] is null)
            {
                problems.Add($"HTTPRoute {routeName}: a rule sets no timeouts.request");
            }
        }
    }

    private static void Autoscaler(IReadOnlyList<JsonObject> objects, string rollout, List<string> problems)
    {
        var hpa = objects.OfKind("HorizontalPodAutoscaler").FirstOrDefault(h =>
            (string?)h["spec"]?["scaleTargetRef"]?["kind"] == "Rollout" && (string?)h["spec"]?["scaleTargetRef"]?["name"] == rollout &&
            (string?)h["spec"]?["scaleTargetRef"]?["apiVersion"] == "argoproj.io/v1alpha1");
        if (hpa is null)
        {
            problems.Add($"no HorizontalPodAutoscaler scales Rollout {rollout}");
            return;
        }

        var metrics = hpa["spec"]?["metrics"].Objects().ToList() ?? [];
        if (!metrics.Any(m => (string?)m["type"] == "Resource" && (string?)m["resource"]?["name"] == "cpu"))
        {
            problems.Add($"HorizontalPodAutoscaler {Manifests.Name(hpa)}: no CPU metric");
        }

        if (!metrics.Any(m => (string?)m["type"] == "Pods" && (string?)m["pods"]?["metric"]?["name"] == "http_server_active_requests"))
        {
            problems.Add($"HorizontalPodAutoscaler {Manifests.Name(hpa)}: no Pods metric of requests in flight (http_server_active_requests)");
        }
    }

    private static void Selected(IReadOnlyList<JsonObject> objects, string kind, Dictionary<string, string?> podLabels, List<string> problems)
    {
        if (!objects.OfKind(kind).Any(o => Selects(o["spec"]?["selector"], podLabels)))
        {
            problems.Add($"no {kind} selects the Rollout's pods");
        }
    }

    private static void Monitor(IReadOnlyList<JsonObject> objects, Dictionary<string, string?> podLabels, List<string> problems)
    {
        var monitor = objects.OfKind("PodMonitor").FirstOrDefault(m => Selects(m["spec"]?["selector"], podLabels));
        if (monitor is null)
        {
            problems.Add("no PodMonitor selects the Rollout's pods");
            return;
        }

        var endpoint = monitor["spec"]?["podMetricsEndpoints"].Objects().FirstOrDefault(e => (string?)e["port"] == WorkloadChecks.ManagementPort);
        if (endpoint is null || (string?)endpoint["path"] != "/metrics")
        {
            problems.Add($"PodMonitor {Manifests.Name(monitor)}: does not scrape /metrics on the '{WorkloadChecks.ManagementPort}' port");
            return;
        }

        var copies = endpoint["relabelings"].Objects()
            .Where(r => (string?)r["action"] is null or "replace")
            .Select(r => (Source: string.Join(";", r["sourceLabels"].Strings()), Target: (string?)r["targetLabel"]))
            .ToList();
        if (!copies.Contains(("__meta_kubernetes_pod_label_rollouts_pod_template_hash", "rollouts_pod_template_hash")))
        {
            problems.Add($"PodMonitor {Manifests.Name(monitor)}: the pod-template hash is not copied into rollouts_pod_template_hash");
        }

        if (!copies.Contains(("__meta_kubernetes_namespace", "namespace")))
        {
            problems.Add($"PodMonitor {Manifests.Name(monitor)}: the namespace is not copied into namespace");
        }
    }

    /// <summary>Whether a label selector (matchLabels and In/NotIn/Exists/DoesNotExist expressions) selects the labels.</summary>
    public static bool Selects(JsonNode? selector, IReadOnlyDictionary<string, string?> labels)
    {
        if (selector is null)
        {
            return false;
        }

        var matchLabels = selector["matchLabels"]?.AsObject() ?? [];
        var matches = matchLabels.All(m => labels.TryGetValue(m.Key, out var v) && v == (string?)m.Value);
        foreach (var expression in selector["matchExpressions"].Objects())
        {
            var key = (string?)expression["key"] ?? "";
            var values = expression["values"].Strings().ToList();
            var has = labels.TryGetValue(key, out var value);
            matches &= (string?)expression["operator"] switch
            {
                "In" => has && values.Contains(value ?? ""),
                "NotIn" => !has || !values.Contains(value ?? ""),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => false,
            };
        }

        return matches;
    }
}
