// The seed lesson's own code (sequential vs parallel with Promise.all), timed with
// performance.now(). Run by bench/demo_timing.py; prints one JSON object of
// overheads (measured minus ideal, in ms) for each scenario.
//
//   node bench/node/demo_timing.js RUNS TASK1_MS TASK2_MS
"use strict";

const { performance } = require("node:perf_hooks");

const runs = Number(process.argv[2] || 50);
const task1Ms = Number(process.argv[3] || 50);
const task2Ms = Number(process.argv[4] || 75);

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function task1() {
  return sleep(task1Ms);
}

function task2() {
  return sleep(task2Ms);
}

// From the seed lesson, unchanged.
async function sequential() {
  await task1();
  await task2();
}

async function parallel() {
  await Promise.all([task1(), task2()]);
}

async function measure(scenario, idealMs) {
  const overheads = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await scenario();
    overheads.push(performance.now() - start - idealMs);
  }
  return overheads;
}

async function main() {
  await measure(parallel, Math.max(task1Ms, task2Ms)); // warm up the JIT and timers
  const result = {
    node: process.version,
    runs,
    sequential: await measure(sequential, task1Ms + task2Ms),
    parallel: await measure(parallel, Math.max(task1Ms, task2Ms)),
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

main();
