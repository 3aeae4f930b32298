#!/usr/bin/env node
// Validates rendered Kubernetes manifests (tools/render_chart's output) and,
// optionally, chart values against values.schema.json:
//
//   node validate.js [--values-schema SCHEMA.json --values VALUES.json]
//                    [--external Kind/name]... [--write-configmap NAME=DIR]
//                    MANIFESTS.yaml...
//
// Each object is checked against the Kubernetes OpenAPI schema of its
// apiVersion/kind as compiled by npm's kubernetes-models (and
// @kubernetes-models/prometheus-operator for monitoring.coreos.com), plus
// what those schemas leave out but an API server or kubectl --validate=strict
// rejects: unknown fields, names, label values, duplicate objects. Then the
// objects are checked against each other: selectors select pod templates,
// Services and probes and NetworkPolicies name ports the pods have, volumes,
// ConfigMaps and Secrets that pods use exist (or are declared --external),
// StatefulSets have their headless Service, ServiceMonitors select Services.
// Exit code 0 when everything holds; every problem is printed as
// "Kind/name: path: what".
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const problems = [];
const problem = (obj, where, what) =>
  problems.push(`${obj ? `${obj.kind}/${(obj.metadata || {}).name}` : "-"}: ${where}: ${what}`);

// --- arguments
const args = process.argv.slice(2);
const opts = { external: new Set(), files: [], writeConfigMaps: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--values-schema") opts.valuesSchema = args[++i];
  else if (a === "--values") opts.values = args[++i];
  else if (a === "--external") opts.external.add(args[++i]);
  else if (a === "--write-configmap") opts.writeConfigMaps.push(args[++i]);
  else if (a.startsWith("--")) { console.error(`unknown option ${a}`); process.exit(2); }
  else opts.files.push(a);
}
if (opts.files.length === 0 && !opts.values) {
  console.error("usage: validate.js [--values-schema S --values V] [--external Kind/name]... [--write-configmap NAME=DIR] MANIFESTS.yaml...");
  process.exit(2);
}

// --- values against values.schema.json (draft-07, as Helm validates them)
if (opts.values) {
  const Ajv = require("ajv");
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const schema = JSON.parse(fs.readFileSync(opts.valuesSchema, "utf8"));
  const values = JSON.parse(fs.readFileSync(opts.values, "utf8"));
  const check = ajv.compile(schema);
  if (!check(values)) {
    for (const e of check.errors)
      problems.push(`values: ${e.instancePath || "/"}: ${e.message}${e.params && e.params.additionalProperty ? ` '${e.params.additionalProperty}'` : ""}`);
  } else {
    console.log(`values: valid against ${path.basename(opts.valuesSchema)}`);
  }
}

// --- manifests
const objects = [];
for (const file of opts.files) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"), { uniqueKeys: true, strict: true });
  docs.forEach((doc, i) => {
    for (const e of [...doc.errors, ...doc.warnings]) problems.push(`${file}: document ${i + 1}: YAML: ${e.message}`);
    const obj = doc.toJS();
    if (obj === null || obj === undefined) return;
    if (typeof obj !== "object" || Array.isArray(obj)) {
      problems.push(`${file}: document ${i + 1}: not an object`);
      return;
    }
    objects.push(obj);
  });
}

// The compiled OpenAPI validator of an apiVersion/kind, from the model class
// file that kubernetes-models ships for it.
function validatorFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const candidates = group === "monitoring.coreos.com"
    ? [`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`]
    : [`kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`];
  for (const c of candidates) {
    let file;
    try { file = require.resolve(c); } catch { continue; }
    const m = /require\("([^"]*_schemas\/[A-Za-z0-9]+\.js)"\)/.exec(fs.readFileSync(file, "utf8"));
    if (!m) continue;
    return require(path.resolve(path.dirname(file), m[1])).validate;
  }
  return null;
}

// Wraps plain objects in proxies that record which keys the validator reads:
// the compiled schemas read every property they know, so a key never read in
// an object whose other keys were read is a field the schema does not have.
function tracked(value, where, seen) {
  if (Array.isArray(value)) return value.map((v, i) => tracked(v, `${where}/${i}`, seen));
  if (value && typeof value === "object") {
    const copy = {};
    for (const k of Object.keys(value)) copy[k] = tracked(value[k], `${where}/${k}`, seen);
    const read = new Set();
    seen.push({ where, keys: Object.keys(value), read });
    return new Proxy(copy, { get(t, k, r) { if (typeof k === "string") read.add(k); return Reflect.get(t, k, r); } });
  }
  return value;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/; // IANA_SVC_NAME, at most 15, a letter in it
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

function checkLabels(obj, where, labels) {
  for (const [k, v] of Object.entries(labels || {})) {
    const [prefix, name] = k.includes("/") ? k.split("/") : [null, k];
    if (prefix !== null && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))
      problem(obj, where, `label key prefix '${prefix}' is not a DNS subdomain`);
    if (name.length > 63 || !LABEL_KEY_NAME.test(name)) problem(obj, where, `label key '${k}' is invalid`);
    if (typeof v !== "string") problem(obj, where, `label '${k}' value must be a string`);
    else if (v.length > 63 || !LABEL_VALUE.test(v)) problem(obj, where, `label '${k}' value '${v}' is invalid`);
  }
}

const key = (o) => `${o.kind}/${(o.metadata || {}).namespace || ""}/${(o.metadata || {}).name}`;
const seenKeys = new Set();
let valid = 0;
for (const obj of objects) {
  if (!obj.apiVersion || !obj.kind) { problem(obj, "/", "apiVersion and kind are required"); continue; }
  const md = obj.metadata || {};
  if (!md.name) { problem(obj, "/metadata/name", "required"); continue; }
  if (seenKeys.has(key(obj))) problem(obj, "/metadata/name", "duplicate object");
  seenKeys.add(key(obj));
  const nameRule = obj.kind === "Service" ? [DNS1035_LABEL, 63, "a DNS-1035 label"] : [DNS1123_SUBDOMAIN, 253, "a DNS-1123 subdomain"];
  if (md.name.length > nameRule[1] || !nameRule[0].test(md.name)) problem(obj, "/metadata/name", `'${md.name}' is not ${nameRule[2]}`);
  checkLabels(obj, "/metadata/labels", md.labels);
  const validate = validatorFor(obj.apiVersion, obj.kind);
  if (!validate) { problem(obj, "/", `no schema for ${obj.apiVersion} ${obj.kind}`); continue; }
  const seen = [];
  const ok = validate(tracked(obj, "", seen));
  if (!ok) {
    // kubernetes-models compiles its schemas without messages: name the rule.
    for (const e of validate.errors)
      problem(obj, e.instancePath || "/", e.message || `${e.keyword} ${JSON.stringify(e.params)}`);
  }
  for (const s of seen) {
    if (s.read.size === 0) continue; // free-form object (no schema properties)
    for (const k of s.keys) if (!s.read.has(k)) problem(obj, `${s.where}/${k}`, "unknown field");
  }
  if (ok) valid++;
}

// --- cross-object checks
const byKind = (kind) => objects.filter((o) => o.kind === kind);
const named = (kind, name) => objects.find((o) => o.kind === kind && o.metadata && o.metadata.name === name);
const exists = (kind, name) => !!named(kind, name) || opts.external.has(`${kind}/${name}`);
const matches = (selector, labels) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => (labels || {})[k] === v);
const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(o.kind));
const podsOf = (selector) => workloads.filter((w) => matches(selector, (((w.spec || {}).template || {}).metadata || {}).labels));
const containerPorts = (w) => {
  const names = new Set();
  for (const c of (((w.spec || {}).template || {}).spec || {}).containers || [])
    for (const p of c.ports || []) if (p.name) names.add(p.name);
  return names;
};

for (const w of workloads) {
  const tmpl = (w.spec || {}).template || {};
  const labels = (tmpl.metadata || {}).labels || {};
  checkLabels(w, "/spec/template/metadata/labels", labels);
  const sel = ((w.spec || {}).selector || {}).matchLabels;
  if (!matches(sel, labels)) problem(w, "/spec/selector", "does not select its own pod template");
  const pod = tmpl.spec || {};
  const volumes = new Map((pod.volumes || []).map((v) => [v.name, v]));
  const claimTemplates = new Set((((w.spec || {}).volumeClaimTemplates) || []).map((c) => c.metadata.name));
  for (const v of pod.volumes || []) {
    if (v.configMap && !v.configMap.optional && !exists("ConfigMap", v.configMap.name))
      problem(w, `/spec/template/spec/volumes/${v.name}`, `ConfigMap ${v.configMap.name} does not exist`);
    if (v.secret && !v.secret.optional && !exists("Secret", v.secret.secretName))
      problem(w, `/spec/template/spec/volumes/${v.name}`, `Secret ${v.secret.secretName} does not exist`);
  }
  const containerNames = new Set();
  const allPorts = new Set();
  for (const c of [...(pod.initContainers || []), ...(pod.containers || [])]) {
    if (containerNames.has(c.name)) problem(w, `/spec/template/spec/containers/${c.name}`, "duplicate container name");
    containerNames.add(c.name);
    const ports = new Set();
    for (const p of c.ports || []) {
      if (p.name) {
        if (p.name.length > 15 || !PORT_NAME.test(p.name) || !/[a-z]/.test(p.name))
          problem(w, `/spec/template/spec/containers/${c.name}/ports/${p.name}`, "not a valid port name (IANA_SVC_NAME)");
        if (allPorts.has(p.name)) problem(w, `/spec/template/spec/containers/${c.name}/ports/${p.name}`, "port name used twice in the pod");
        ports.add(p.name);
        allPorts.add(p.name);
      }
    }
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      const port = c[probe] && (c[probe].httpGet || c[probe].tcpSocket || {}).port;
      if (typeof port === "string" && !ports.has(port))
        problem(w, `/spec/template/spec/containers/${c.name}/${probe}`, `port '${port}' is not a port of this container`);
    }
    for (const m of c.volumeMounts || []) {
      if (!volumes.has(m.name) && !claimTemplates.has(m.name))
        problem(w, `/spec/template/spec/containers/${c.name}/volumeMounts/${m.name}`, "no such volume");
    }
    for (const e of c.env || []) {
      const ref = e.valueFrom && (e.valueFrom.secretKeyRef || e.valueFrom.configMapKeyRef);
      if (!ref || ref.optional) continue;
      const kind = e.valueFrom.secretKeyRef ? "Secret" : "ConfigMap";
      const target = named(kind, ref.name);
      if (!exists(kind, ref.name)) problem(w, `/spec/template/spec/containers/${c.name}/env/${e.name}`, `${kind} ${ref.name} does not exist`);
      else if (target && !((target.data || {})[ref.key] !== undefined || (target.stringData || {})[ref.key] !== undefined))
        problem(w, `/spec/template/spec/containers/${c.name}/env/${e.name}`, `${kind} ${ref.name} has no key ${ref.key}`);
    }
  }
  if (w.kind === "StatefulSet") {
    const svc = named("Service", w.spec.serviceName);
    if (!svc) problem(w, "/spec/serviceName", `Service ${w.spec.serviceName} does not exist`);
    else if (svc.spec.clusterIP !== "None") problem(w, "/spec/serviceName", `Service ${w.spec.serviceName} is not headless`);
  }
}

for (const s of byKind("Service")) {
  const sel = (s.spec || {}).selector;
  if (!sel) continue;
  const pods = podsOf(sel);
  if (pods.length === 0) { problem(s, "/spec/selector", "selects no pod template"); continue; }
  for (const p of s.spec.ports || []) {
    if (typeof p.targetPort === "string" && !pods.every((w) => containerPorts(w).has(p.targetPort)))
      problem(s, `/spec/ports/${p.name}`, `targetPort '${p.targetPort}' is not a container port of every selected pod`);
  }
}

for (const pdb of byKind("PodDisruptionBudget")) {
  if (podsOf(((pdb.spec || {}).selector || {}).matchLabels).length === 0) problem(pdb, "/spec/selector", "selects no pod template");
}

for (const np of byKind("NetworkPolicy")) {
  const pods = podsOf(((np.spec || {}).podSelector || {}).matchLabels);
  if (pods.length === 0) { problem(np, "/spec/podSelector", "selects no pod template"); continue; }
  (np.spec.ingress || []).forEach((rule, i) => {
    for (const p of rule.ports || []) {
      if (typeof p.port === "string" && !pods.some((w) => containerPorts(w).has(p.port)))
        problem(np, `/spec/ingress/${i}/ports`, `port '${p.port}' is not a container port of the selected pods`);
    }
  });
}

for (const sm of byKind("ServiceMonitor")) {
  const services = byKind("Service").filter((s) => matches(((sm.spec || {}).selector || {}).matchLabels, (s.metadata || {}).labels));
  if (services.length === 0) { problem(sm, "/spec/selector", "selects no Service"); continue; }
  for (const ep of sm.spec.endpoints || []) {
    const without = services.filter((s) => !(s.spec.ports || []).some((p) => p.name === ep.port));
    if (without.length) problem(sm, "/spec/endpoints", `port '${ep.port}' missing on ${without.map((s) => s.metadata.name).join(", ")}`);
  }
  const jobLabel = sm.spec.jobLabel;
  if (jobLabel && services.some((s) => !((s.metadata.labels || {})[jobLabel])))
    problem(sm, "/spec/jobLabel", `not every selected Service has label ${jobLabel}`);
}

for (const ing of byKind("Ingress")) {
  for (const rule of (ing.spec || {}).rules || []) {
    for (const p of ((rule.http || {}).paths) || []) {
      const b = (p.backend || {}).service;
      if (!b) continue;
      const svc = named("Service", b.name);
      if (!svc) problem(ing, "/spec/rules", `Service ${b.name} does not exist`);
      else if (b.port && b.port.name && !(svc.spec.ports || []).some((x) => x.name === b.port.name))
        problem(ing, "/spec/rules", `Service ${b.name} has no port ${b.port.name}`);
    }
  }
}

for (const cm of byKind("ConfigMap")) {
  let size = 0;
  for (const [k, v] of Object.entries(cm.data || {})) {
    if (!CONFIG_KEY.test(k)) problem(cm, `/data/${k}`, "invalid key");
    size += k.length + String(v).length;
  }
  if (size > 1024 * 1024) problem(cm, "/data", `${size} bytes: over the 1 MiB limit`);
}

// --- write ConfigMaps' data out, for checks by their consumers
for (const spec of opts.writeConfigMaps) {
  const [name, dir] = spec.split("=");
  const cm = named("ConfigMap", name);
  if (!cm) { problems.push(`--write-configmap: no ConfigMap ${name}`); continue; }
  fs.mkdirSync(dir, { recursive: true });
  for (const [k, v] of Object.entries(cm.data || {})) fs.writeFileSync(path.join(dir, k), v);
}

for (const p of problems) console.error(p);
const kinds = {};
for (const o of objects) kinds[o.kind] = (kinds[o.kind] || 0) + 1;
console.log(`k8s_validate: ${objects.length} objects (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(", ")}), ` +
  `${valid} valid against their schemas, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
