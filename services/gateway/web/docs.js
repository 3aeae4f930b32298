// Renders /openapi.json (the gateway's spec, services/gateway/openapi.yaml)
// as a reference page: no framework, no CDN.
'use strict';

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

let spec;
const ref = (r) => r.replace('#/', '').split('/').reduce((o, k) => o[k], spec);
const resolve = (s) => (s && s.$ref ? resolve(ref(s.$ref)) : s);
const refName = (s) => (s && s.$ref ? s.$ref.split('/').pop() : null);

function typeOf(s) {
  s = s || {};
  const name = refName(s);
  s = resolve(s);
  if (s.type === 'array') return `${typeOf(s.items)}[]`;
  if (s.allOf) return name || s.allOf.map(typeOf).join(' & ');
  let t = name || s.type || 'object';
  if (s.format) t += ` (${s.format})`;
  if (s.enum) t += ` ∈ {${s.enum.join(', ')}}`;
  if (s.nullable) t += ' | null';
  return t;
}

// A schema as an indented tree of fields, at most `depth` levels deep.
function schemaTree(s, depth = 3, seen = new Set()) {
  const name = refName(s);
  s = resolve(s);
  if (!s || depth < 0 || (name && seen.has(name))) return null;
  const seen2 = new Set(seen);
  if (name) seen2.add(name);
  if (s.type === 'array') return schemaTree(s.items, depth, seen2);
  const props = {}, required = new Set(s.required || []);
  for (const part of s.allOf || [s]) {
    const p = resolve(part);
    Object.assign(props, p.properties || {});
    (p.required || []).forEach((r) => required.add(r));
  }
  const rows = Object.entries(props).map(([k, v]) => h('div', {},
    h('span', {class: 'n'}, k), required.has(k) ? '' : '?', ': ', h('span', {class: 't'}, typeOf(v)),
    resolve(v).description ? h('span', {class: 'd'}, ` — ${resolve(v).description}`) : '',
    h('div', {class: 'i'}, schemaTree(v, depth - 1, seen2))));
  return rows.length ? h('div', {}, rows) : null;
}

function operation(path, method, op) {
  const id = `${method}-${path}`.replace(/[^a-z0-9]+/gi, '-');
  const params = (op.parameters || []).map((p) => resolve(p));
  const body = h('div', {class: 'body'}, op.description ? h('p', {}, op.description) : '');
  if (params.length) {
    body.append(h('h5', {}, 'Parameters'), h('table', {},
      h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'In'), h('th', {}, 'Type'), h('th', {}, 'Description'), h('th', {}, 'Example')),
      params.map((p) => h('tr', {}, h('td', {}, h('code', {}, p.name), p.required ? ' *' : ''), h('td', {}, p.in),
        h('td', {}, typeOf(p.schema)), h('td', {}, p.description || ''), h('td', {}, p.example !== undefined ? h('code', {}, p.example) : '')))));
  }
  const rb = op.requestBody && resolve(op.requestBody);
  if (rb) {
    const [type, media] = Object.entries(rb.content || {})[0] || [];
    body.append(h('h5', {}, `Request body (${type})`), h('div', {class: 'schema'}, schemaTree(media && media.schema)));
  }
  body.append(h('h5', {}, 'Responses'));
  for (const [code, r0] of Object.entries(op.responses || {})) {
    const r = resolve(r0);
    const [type, media] = Object.entries(r.content || {})[0] || [];
    body.append(h('div', {class: 'response'}, h('b', {}, code), ' ', r.description || '', type ? h('span', {class: 'muted'}, ` · ${type}`) : '',
      media && media.schema ? h('div', {class: 'schema i'}, h('span', {class: 't'}, typeOf(media.schema)), schemaTree(media.schema)) : ''));
  }
  return h('section', {class: 'op', id},
    h('header', {}, h('span', {class: `method ${method}`}, method.toUpperCase()), h('span', {class: 'path'}, path),
      h('span', {class: 'muted'}, op.summary || ''), op['x-weaver-scope'] ? h('span', {class: 'tag scope'}, `scope ${op['x-weaver-scope']}`) : ''),
    body);
}

async function main() {
  spec = await (await fetch('/openapi.json')).json();
  document.getElementById('api-title').textContent = `${spec.info.title} ${spec.info.version}`;
  const main = document.getElementById('spec'), toc = document.getElementById('toc');
  main.replaceChildren(h('h1', {}, spec.info.title), h('p', {class: 'muted'}, spec.info.description || ''));
  const byTag = new Map();
  for (const [path, item] of Object.entries(spec.paths))
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ['other'])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  for (const [tag, ops] of byTag) {
    toc.append(h('h4', {}, tag));
    main.append(h('h2', {}, tag));
    for (const [path, method, op] of ops) {
      const el = operation(path, method, op);
      main.append(el);
      toc.append(h('a', {href: `#${el.id}`}, h('span', {class: 'toc-method'}, method.toUpperCase()), h('span', {class: 'toc-path'}, path)));
    }
  }
  document.body.dataset.ready = 'true';
}

main().catch((e) => { document.getElementById('spec').textContent = `Cannot load the spec: ${e.message}`; });
