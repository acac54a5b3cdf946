/** Whether a dependency (PostgreSQL, SQS) currently works, since when, and why not. */
export interface DependencyStatus {
  up: boolean;
  /** ISO time of the last change. */
  since: string;
  /** Why it is down: SQLSTATE, AWS error code or network error code. */
  code?: string;
  /** One line for /readyz and logs; never a secret or a value from a message. */
  reason?: string;
}

export interface Health {
  readonly up: boolean;
  status(): DependencyStatus;
  /** Returns true when this changes the state. */
  markUp(): boolean;
  /** Returns true when this changes the state (a new code or reason while down only updates them). */
  markDown(code: string, reason: string): boolean;
  /** Resolves when up (at once if it is). */
  whenUp(): Promise<void>;
}

export function createHealth(): Health {
  let st: DependencyStatus = { up: true, since: new Date().toISOString() };
  let waiters: (() => void)[] = [];
  return {
    get up() {
      return st.up;
    },
    status: () => ({ ...st }),
    markUp() {
      if (st.up) return false;
      st = { up: true, since: new Date().toISOString() };
      const w = waiters;
      waiters = [];
      for (const f of w) f();
      return true;
    },
    markDown(code, reason) {
      const changed = st.up;
      st = { up: false, since: changed ? new Date().toISOString() : st.since, code, reason };
      return changed;
    },
    whenUp() {
      return st.up ? Promise.resolve() : new Promise<void>((r) => waiters.push(r));
    },
  };
}
