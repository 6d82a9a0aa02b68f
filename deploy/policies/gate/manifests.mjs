// Reads manifests into the values the CEL engine binds: plain objects and arrays, integers as bigint (CEL's int),
// so `runAsUser == 0` compares as the API server does. A source is one file or one rendered kustomize directory;
// the set rules (network-coverage.mjs) look at one source at a time.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";

const kustomizationNames = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

export function isKustomization(dir) {
  return kustomizationNames.some((name) => existsSync(join(dir, name)));
}

/** Parses every YAML document of `text`; `origin` names the text in errors. Empty documents are skipped. */
export function parseManifests(text, origin) {
  const objects = [];
  for (const doc of parseAllDocuments(text, { intAsBigInt: true })) {
    if (doc.errors.length > 0) {
      throw new Error(`${origin}: ${doc.errors[0].message}`);
    }
    const value = doc.toJS();
    if (value === null || value === undefined) {
      continue;
    }
    if (Array.isArray(value) || typeof value !== "object" || typeof value.kind !== "string") {
      throw new Error(`${origin}: a document that is not a Kubernetes object (no kind)`);
    }
    if (value.kind.endsWith("List") && Array.isArray(value.items)) {
      objects.push(...value.items);
    } else {
      objects.push(value);
    }
  }
  return objects;
}

/** The comment lines `# key: value` at the top of a file, before its first document. */
export function headerComments(text) {
  const header = {};
  for (const line of text.split("\n")) {
    const match = /^#\s*([a-z-]+):\s*(.+?)\s*$/.exec(line);
    if (match) {
      (header[match[1]] ??= []).push(match[2]);
    } else if (line.trim() !== "" && !line.startsWith("#")) {
      break;
    }
  }
  return header;
}

export function renderKustomization(dir) {
  return execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

/**
 * The sources named by `paths`: a directory holding a kustomization is rendered as one source; any other directory
 * stands for its .yaml/.yml files (recursively), each a source of its own; a file is a source.
 */
export function collectSources(paths, root) {
  const sources = [];
  const visit = (path) => {
    const name = relative(root, path) || path;
    if (statSync(path).isDirectory()) {
      if (isKustomization(path)) {
        sources.push({ name, path, header: {}, objects: () => parseManifests(renderKustomization(path), name) });
        return;
      }
      for (const entry of readdirSync(path).sort()) {
        const child = join(path, entry);
        if (statSync(child).isDirectory() || /\.ya?ml$/.test(entry)) {
          visit(child);
        }
      }
      return;
    }
    const text = readFileSync(path, "utf8");
    sources.push({ name, path, header: headerComments(text), objects: () => parseManifests(text, name) });
  };
  for (const path of paths) {
    visit(path);
  }
  return sources;
}
