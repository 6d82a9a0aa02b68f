// Reads `dotnet list package --vulnerable --include-transitive --format json` on standard input, prints one line per
// vulnerable package (project, package, version, severity, advisory) and exits 1 when any is high or critical.
import { readFileSync } from "node:fs";

const failing = new Set(["high", "critical"]);
const report = JSON.parse(readFileSync(0, "utf8"));
const found = [];
for (const project of report.projects ?? []) {
  for (const framework of project.frameworks ?? []) {
    for (const [kind, packages] of [["direct", framework.topLevelPackages], ["transitive", framework.transitivePackages]]) {
      for (const pkg of packages ?? []) {
        for (const vulnerability of pkg.vulnerabilities ?? []) {
          found.push({
            project: project.path.split(/[\\/]/).pop(),
            name: `${pkg.id} ${pkg.resolvedVersion}`,
            kind,
            severity: String(vulnerability.severity).toLowerCase(),
            advisory: vulnerability.advisoryurl,
          });
        }
      }
    }
  }
}
for (const problem of report.problems ?? []) {
  console.log(`${problem.level ?? "problem"}: ${problem.text}`);
}
for (const f of found) {
  console.log(`${failing.has(f.severity) ? "FAIL" : "warn"} ${f.severity} ${f.name} (${f.kind}, ${f.project}) ${f.advisory}`);
}
const blocking = found.filter(f => failing.has(f.severity)).length;
console.log(`${found.length} vulnerable package references, ${blocking} high or critical`);
process.exit(blocking > 0 ? 1 : 0);
