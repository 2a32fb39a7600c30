// Server processes: started on the server core, asked for their CPU time over IPC, and stopped.
// Nothing here may run unbounded: every wait has a deadline.
import { spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { SERVER_CPU } from './settings.mjs'

const children = new Set()

/** Kills every child still running (at the hard time limit, or on SIGINT / SIGTERM). */
export function killChildren() {
  for (const child of children) child.kill('SIGKILL')
}

/**
 * A child on the server core. Its stderr is kept (the last 8 KiB) instead of shown: the peers print
 * start-up warnings on every start. It is shown when a run with that child fails.
 */
export function spawnPinned(pinned, script, args, ipc, nodeFlags = []) {
  const argv = [...nodeFlags, script, ...args]
  const stdio = ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])]
  const child = pinned ? spawn('taskset', ['-c', SERVER_CPU, process.execPath, ...argv], { stdio }) : spawn(process.execPath, argv, { stdio })
  children.add(child)
  child.stderrTail = ''
  child.stderr.on('data', (c) => {
    child.stderrTail = (child.stderrTail + c).slice(-8192)
  })
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  child.exited.then(() => children.delete(child))
  return child
}

/** Stops a child: a server child exits by itself when the IPC channel closes (and so writes its --cpu-prof); then SIGTERM, then SIGKILL. */
export async function stopChild(child) {
  if (child.exitCode === null && child.signalCode === null) {
    if (child.connected) child.disconnect()
    else child.kill('SIGTERM')
  }
  const term = setTimeout(() => child.kill('SIGTERM'), 5000)
  const kill = setTimeout(() => child.kill('SIGKILL'), 8000)
  await child.exited
  clearTimeout(term)
  clearTimeout(kill)
}

/** The next IPC message of a type (and id) from a child; rejects when it exits first or takes too long. */
export function nextMessage(child, type, timeoutMs, id) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`no "${type}" message from the server within ${timeoutMs} ms`))
    }, timeoutMs)
    const onMessage = (m) => {
      if (m?.type !== type || (id !== undefined && m.id !== id)) return
      cleanup()
      resolve(m)
    }
    const onExit = (code) => {
      cleanup()
      reject(new Error(`server exited (code ${code}) before sending "${type}"`))
    }
    const cleanup = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

let cpuRequestId = 0
/** A server child's own CPU time (µs) and RSS, as it reports them (common.mjs serveForParent). */
export async function serverCpu(child) {
  const id = ++cpuRequestId
  child.send({ type: 'cpu', id })
  const m = await nextMessage(child, 'cpu', 5000, id)
  return { micros: m.usage.user + m.usage.system, rss: m.rss, at: performance.now() }
}

/** The last lines of a child's stderr, to add to a problem report. */
export function stderrNote(child) {
  const tail = child.stderrTail.trim()
  return tail === '' ? '' : `\n    server stderr (last lines):\n${tail.split('\n').slice(-15).map((l) => `      ${l}`).join('\n')}`
}
