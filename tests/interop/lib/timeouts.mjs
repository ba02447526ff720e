// Time budgets for the interop tests.
//
// Protocol timers (pingInterval, pingTimeout, connectTimeout) are fixed by the server's
// configuration and must hold even under ASan, so they are never scaled. What does scale
// is how long we are willing to wait for work to get done (process start, 1,000 clients):
// an ASan build (SIO_SANITIZE=1) is allowed three times as long.

export const SANITIZE = process.env.SIO_SANITIZE === '1' || process.env.SIO_SANITIZE === 'ON'
  || process.env.SIO_SANITIZE === 'true';

/** Scale factor for "how long may this take" budgets. */
export const SLOW = SANITIZE ? 3 : 1;

/** A budget of `ms` milliseconds, scaled for sanitizer builds. */
export function budget(ms) {
  return Math.round(ms * SLOW);
}

/**
 * Tolerance added to protocol deadlines (scheduling jitter, loopback latency), in ms.
 * SIO_TEST_JITTER overrides it (e.g. on a heavily loaded machine).
 */
export const JITTER = Number(process.env.SIO_TEST_JITTER) || (SANITIZE ? 150 : 100);

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves/rejects like `promise`, or rejects with `what` after `ms` milliseconds.
 * The timer never keeps the process alive.
 */
export function withTimeout(promise, ms, what = 'operation') {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** The arguments of `emitter`'s next `event`, or a rejection after `ms` (scaled) milliseconds. */
export function nextEvent(emitter, event, ms = budget(5000)) {
  let on;
  const p = new Promise((resolve) => {
    on = (...args) => resolve(args);
    emitter.once(event, on);
  });
  return withTimeout(p, ms, `event "${event}"`).finally(() => emitter.off(event, on));
}
