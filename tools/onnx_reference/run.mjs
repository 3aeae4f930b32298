#!/usr/bin/env node
// Reference runner: executes an ONNX model with ONNX Runtime's CPU execution
// provider (onnxruntime-node), so Weaver's C++ engine can be compared with it.
//
// Usage:
//   node tools/onnx_reference/run.mjs --model FILE.onnx --input FILE.f32 \
//        --shape 1,3,32,32 --out OUTDIR [--threads N] [--repeat N]
//
// Writes OUTDIR/<index>.f32 (raw little-endian float32) per output and
// OUTDIR/outputs.json = {outputs: [{name, file, shape}], load_ms, first_ms,
// run_ms} in the model's output order; load_ms is session creation, first_ms
// the first run, run_ms the median of --repeat runs after it, min_ms the
// fastest, cpu_ms the median process CPU time of a run.

import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';

const USAGE = 'usage: node run.mjs --model FILE.onnx --input FILE.f32 --shape 1,3,32,32 --out OUTDIR ' +
  '[--threads N] [--repeat N]';

function parseArgs(argv) {
  const args = { threads: '1', repeat: '1' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) throw new Error(USAGE);
    args[key.slice(2)] = argv[i + 1];
  }
  for (const k of ['model', 'input', 'shape', 'out'])
    if (!args[k]) throw new Error(`--${k} is required\n${USAGE}`);
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const shape = args.shape.split(',').map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`bad --shape ${args.shape}`);
  const buf = fs.readFileSync(args.input);
  const want = shape.reduce((a, b) => a * b, 1);
  if (buf.length !== want * 4) throw new Error(`input has ${buf.length / 4} floats, shape needs ${want}`);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));

  const threads = Number(args.threads);
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const loadMs = performance.now() - t0;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };

  // The first run on its own (what a first frame waits for after session
  // creation), then --repeat timed runs.
  const tf = performance.now();
  let result = await session.run(feeds);
  const firstMs = performance.now() - tf;
  const times = [];
  const cpu = []; // process CPU time per run: robust to a shared machine's waits
  for (let r = 0; r < Math.max(1, Number(args.repeat)); r++) {
    const t = performance.now();
    const c = process.cpuUsage();
    result = await session.run(feeds);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);

  fs.mkdirSync(args.out, { recursive: true });
  const outputs = session.outputNames.map((name, i) => {
    const t = result[name];
    const f32 = t.type === 'float32' ? t.data : Float32Array.from(t.data, Number);
    const file = `${i}.f32`;
    fs.writeFileSync(path.join(args.out, file), Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength));
    return { name, file, shape: t.dims };
  });
  fs.writeFileSync(path.join(args.out, 'outputs.json'),
    JSON.stringify({ outputs, load_ms: loadMs, first_ms: firstMs, run_ms: times[Math.floor(times.length / 2)],
      min_ms: times[0],
      cpu_ms: cpu[Math.floor(cpu.length / 2)] }, null, 1));
}

main().catch((e) => {
  console.error(`onnx_reference: ${e.message}`);
  process.exit(1);
});
