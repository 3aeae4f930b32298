#!/usr/bin/env node
// Reference runner: executes a TensorFlow.js graph model with TensorFlow.js's
// own pure-JavaScript CPU backend, so Weaver's C++ engine can be compared
// against it.
//
// Usage:
//   node tools/tfjs_reference/run.mjs --model DIR_OR_model.json \
//        --input FILE.f32 --shape 1,3,416,416 --out OUTDIR
//
// Writes OUTDIR/<sanitised output name>.f32 (raw little-endian float32) per
// output and OUTDIR/outputs.json = [{name, file, shape, dtype}] in the order of
// the model signature's outputs. Everything is read from local files; no
// fetch/http is used.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';

class UsageError extends Error {}

const USAGE =
  'usage: node tools/tfjs_reference/run.mjs --model DIR_OR_model.json ' +
  '--input FILE.f32 --shape 1,3,416,416 --out OUTDIR';

function parseArgs(argv) {
  const args = {};
  const known = new Set(['model', 'input', 'shape', 'out']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    }
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    let key = a.slice(2);
    let value;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`missing value for --${key}`);
      value = argv[++i];
    }
    if (!known.has(key)) throw new UsageError(`unknown option --${key}`);
    args[key] = value;
  }
  for (const k of known) {
    if (args[k] === undefined || args[k] === '') throw new UsageError(`--${k} is required`);
  }
  return args;
}

function parseShape(s) {
  const dims = s.split(',').map((d) => d.trim());
  const shape = dims.map((d) => {
    if (!/^\d+$/.test(d)) throw new UsageError(`bad --shape '${s}': '${d}' is not a non-negative integer`);
    return Number(d);
  });
  if (shape.length === 0) throw new UsageError(`bad --shape '${s}'`);
  return shape;
}

function resolveModelJson(p) {
  if (!fs.existsSync(p)) throw new Error(`model path does not exist: ${p}`);
  if (fs.statSync(p).isDirectory()) {
    const mj = path.join(p, 'model.json');
    if (!fs.existsSync(mj)) {
      const jsons = fs.readdirSync(p).filter((f) => f.endsWith('.json'));
      throw new Error(`no model.json in directory ${p}` +
        (jsons.length ? ` (found: ${jsons.slice(0, 5).join(', ')}${jsons.length > 5 ? ', ...' : ''}; ` +
          'pass the .json file directly)' : ''));
    }
    return mj;
  }
  return p;
}

function readShard(dir, shardPath) {
  const candidates = [path.resolve(dir, shardPath)];
  try {
    const decoded = decodeURIComponent(shardPath);
    if (decoded !== shardPath) candidates.push(path.resolve(dir, decoded));
  } catch { /* not URI-encoded */ }
  for (const c of candidates) {
    if (fs.existsSync(c)) {
      const buf = fs.readFileSync(c);
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    }
  }
  throw new Error(`weight shard not found: ${candidates[0]}`);
}

// Custom IOHandler: model.json + shards from the local filesystem.
function fileIOHandler(tf, modelJsonPath) {
  return {
    load: async () => {
      let modelJSON;
      try {
        modelJSON = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
      } catch (e) {
        throw new Error(`cannot read/parse ${modelJsonPath}: ${e.message}`);
      }
      if (modelJSON.modelTopology == null) {
        throw new Error(`${modelJsonPath} has no modelTopology; not a TF.js model.json`);
      }
      if (modelJSON.format != null && modelJSON.format !== 'graph-model') {
        throw new Error(`${modelJsonPath} has format '${modelJSON.format}', expected 'graph-model'`);
      }
      const dir = path.dirname(modelJsonPath);
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs = [];
        const buffers = [];
        for (const group of manifest) {
          for (const p of group.paths) buffers.push(readShard(dir, p));
          specs.push(...group.weights);
        }
        // Weight decoding (incl. float16/uint8 de-quantisation) is done by
        // tfjs-core's decodeWeights inside loadGraphModel.
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

function readF32LE(file, expectedCount) {
  if (!fs.existsSync(file)) throw new Error(`input file does not exist: ${file}`);
  const buf = fs.readFileSync(file);
  if (buf.byteLength !== expectedCount * 4) {
    throw new Error(`input ${file} has ${buf.byteLength} bytes, expected ${expectedCount * 4} ` +
      `(${expectedCount} float32 values for --shape)`);
  }
  const out = new Float32Array(expectedCount);
  if (os.endianness() === 'LE') {
    new Uint8Array(out.buffer).set(buf);
  } else {
    for (let i = 0; i < expectedCount; i++) out[i] = buf.readFloatLE(i * 4);
  }
  return out;
}

function writeF32LE(file, values) {
  const f32 = values instanceof Float32Array ? values : Float32Array.from(values, Number);
  let bytes;
  if (os.endianness() === 'LE') {
    bytes = Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength);
  } else {
    bytes = Buffer.alloc(f32.length * 4);
    for (let i = 0; i < f32.length; i++) bytes.writeFloatLE(f32[i], i * 4);
  }
  fs.writeFileSync(file, bytes);
}

function sanitise(name) {
  const s = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return s.length ? s : '_';
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const shape = parseShape(args.shape);
  const count = shape.reduce((a, b) => a * b, 1);
  const modelJsonPath = resolveModelJson(args.model);

  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu'); // registers the 'cpu' backend
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');

  tf.env().set('PROD', true); // silences the "install tfjs-node" banner
  if (!(await tf.setBackend('cpu'))) throw new Error("could not initialise tfjs backend 'cpu'");
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`backend is '${tf.getBackend()}', expected 'cpu'`);

  const t0 = performance.now();
  const model = await loadGraphModel(fileIOHandler(tf, modelJsonPath));
  const tLoad = performance.now() - t0;

  const inputNames = model.inputNodes;
  if (inputNames.length !== 1) {
    throw new Error(`model has ${inputNames.length} inputs (${inputNames.join(', ')}); ` +
      'this runner supports exactly one');
  }
  const inInfo = model.inputs[0];
  const inDtype = inInfo.dtype || 'float32';
  if (inDtype !== 'float32' && inDtype !== 'int32') {
    throw new Error(`model input '${inputNames[0]}' has dtype ${inDtype}; only float32/int32 are supported`);
  }
  if (Array.isArray(inInfo.shape)) {
    const ok = inInfo.shape.length === shape.length &&
      inInfo.shape.every((d, i) => d == null || d < 0 || d === shape[i]);
    if (!ok) {
      throw new Error(`--shape [${shape}] does not match model input '${inputNames[0]}' ` +
        `shape [${inInfo.shape.map((d) => (d == null || d < 0 ? '?' : d))}]`);
    }
  }

  const inputValues = readF32LE(args.input, count);
  if (inDtype === 'int32') {
    // e.g. DT_UINT8 image inputs: accept the float32 file only if it holds integers.
    const bad = inputValues.findIndex((v) => !Number.isInteger(v));
    if (bad >= 0) {
      throw new Error(`model input '${inputNames[0]}' is int32 but input value #${bad} ` +
        `(${inputValues[bad]}) is not an integer`);
    }
  }
  const input = tf.tensor(inDtype === 'int32' ? Int32Array.from(inputValues) : inputValues, shape, inDtype);
  const outputNames = model.outputNodes; // signature output order
  const feed = { [inputNames[0]]: input };

  let mode = 'execute';
  const t1 = performance.now();
  let result;
  try {
    result = model.execute(feed, outputNames);
  } catch (e) {
    if (!/executeAsync/.test(String(e && e.message))) throw e;
    mode = 'executeAsync';
    result = await model.executeAsync(feed, outputNames);
  }
  const outputs = Array.isArray(result) ? result : [result];
  const datas = [];
  for (const t of outputs) datas.push(await t.data()); // forces computation
  const tExec = performance.now() - t1;

  if (outputs.length !== outputNames.length) {
    throw new Error(`model returned ${outputs.length} tensors, expected ${outputNames.length}`);
  }

  fs.mkdirSync(args.out, { recursive: true });
  const listing = [];
  const used = new Set();
  outputs.forEach((t, i) => {
    let base = sanitise(outputNames[i]);
    for (let k = 1; used.has(base); k++) base = `${sanitise(outputNames[i])}_${k}`;
    used.add(base);
    const file = `${base}.f32`;
    writeF32LE(path.join(args.out, file), datas[i]);
    listing.push({ name: outputNames[i], file, shape: t.shape, dtype: t.dtype });
  });
  fs.writeFileSync(path.join(args.out, 'outputs.json'), JSON.stringify(listing, null, 2) + '\n');

  tf.dispose([input, ...outputs]);
  model.dispose();
  console.error(`tfjs-core ${tf.version_core}, backend cpu, ${mode}: ` +
    `load ${tLoad.toFixed(0)} ms, run ${tExec.toFixed(0)} ms, ${listing.length} outputs -> ${args.out}`);
}

main().catch((e) => {
  if (e instanceof UsageError) {
    console.error(`error: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  const msg = e && e.message ? e.message : String(e);
  console.error(`error: ${process.env.TFJS_REF_DEBUG && e && e.stack ? e.stack : msg}`);
  process.exit(1);
});
