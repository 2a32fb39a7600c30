// The machine: what it is, pinning the servers and the load generator to their own cores, and how much
// CPU other processes took while we measured. The benchmark owns the server core and the load generator
// core only if nothing else runs: /proc/stat says how much CPU was busy during a run, and whatever our
// own processes did not use was someone else's.
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fmt } from './format.mjs'
import { LOADGEN_CPU, OTHER_LOAD_LIMIT, ROOT, SERVER_CPU } from './settings.mjs'
import { warn } from './warnings.mjs'

export let CLK_TCK = 100
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
} catch {
  // the usual value
}

/** CPU model, CPU count, Node, kernel and the commit measured, for RESULTS.md. */
export function machineInfo() {
  let cpuModel = 'unknown'
  try {
    const lines = readFileSync('/proc/cpuinfo', 'utf8').split('\n')
    // x86 says "model name"; other architectures use one of the others ("processor" alone is a number).
    for (const field of [/^model name\s*:/, /^cpu model\s*:/, /^Hardware\s*:/, /^Processor\s*:/]) {
      const line = lines.find((l) => field.test(l))
      if (line !== undefined) {
        cpuModel = line.slice(line.indexOf(':') + 1).trim()
        break
      }
    }
  } catch {
    // not Linux
  }
  let nproc = String(os.availableParallelism())
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim()
  } catch {
    // keep Node's count
  }
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim()
    if (dirty !== '') commit += ' (with uncommitted changes)'
  } catch {
    // not a git checkout
  }
  return { cpuModel, nproc, node: process.version, kernel: `${os.type()} ${os.release()} ${os.arch()}`, commit }
}

/**
 * Pins this process (the load generator) to LOADGEN_CPU; servers are spawned on SERVER_CPU (children.mjs).
 * Returns false, with a warning, where that is not possible: the run goes on unpinned.
 */
export function setUpPinning(nproc) {
  if (process.platform !== 'linux') {
    warn('not Linux: servers and load generator are not pinned to separate cores')
    return false
  }
  if (spawnSync('taskset', ['-c', SERVER_CPU, 'true']).status !== 0) {
    warn('taskset is missing or cannot pin to CPU 0 (install util-linux): servers and load generator share cores')
    return false
  }
  if (Number(nproc) < 2 || spawnSync('taskset', ['-c', LOADGEN_CPU, 'true']).status !== 0) {
    warn('fewer than 2 usable CPUs: servers and load generator share a core, HTTP numbers are pessimistic')
    return false
  }
  // This process is the load generator (autocannon runs in it): every thread of it goes to CPU 1.
  const self = spawnSync('taskset', ['-a', '-p', '-c', LOADGEN_CPU, String(process.pid)])
  if (self.status !== 0) {
    warn(`could not pin the load generator to CPU ${LOADGEN_CPU}: ${String(self.stderr).trim()}`)
    return false
  }
  return true
}

/** Busy and stolen CPU time so far, in ms, summed over all CPUs; null where /proc/stat does not exist. */
export function readCpuStat() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '))
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
    const ms = 1000 / CLK_TCK
    return { busy: (user + nice + system + irq + softirq) * ms, steal: (steal ?? 0) * ms, at: performance.now() }
  } catch {
    return null
  }
}

/**
 * CPU we did not get between two readings, as % of one core: what other processes
 * used plus what the hypervisor stole (a busy host slows a guest as much as a busy guest).
 */
export function otherLoad(before, after, oursMs) {
  if (before === null || after === null) return { other: NaN, steal: NaN }
  const wall = after.at - before.at
  const steal = ((after.steal - before.steal) / wall) * 100
  return { other: (Math.max(0, after.busy - before.busy - oursMs) / wall) * 100 + steal, steal }
}

/**
 * Waits, in 250 ms steps and at most `budgetMs`, until other processes use less
 * than OTHER_LOAD_LIMIT % of a core. Returns the time spent.
 */
export async function waitForQuiet(budgetMs) {
  const started = performance.now()
  let announced = false
  while (performance.now() - started < budgetMs) {
    const a = readCpuStat()
    const ours0 = process.cpuUsage()
    await new Promise((resolve) => setTimeout(resolve, 250))
    const ours = process.cpuUsage(ours0)
    const load = otherLoad(a, readCpuStat(), (ours.user + ours.system) / 1000)
    if (!(load.other > OTHER_LOAD_LIMIT)) break
    if (!announced) console.error(`  waiting for a quiet machine (${fmt(load.other)}% of a core busy or stolen)`)
    announced = true
  }
  return performance.now() - started
}
