/**
 * Preloaded into every measured process (`node --import <this> …`). At exit it writes to $BENCH_USAGE_FILE:
 * - CPU: user and system time of the whole process, all threads (getrusage RUSAGE_SELF), from exec to exit;
 * - peak RSS: VmHWM from /proc/self/status, the high-water mark of this process's own address space since exec.
 *   getrusage's maxRSS is recorded too but not used: Linux carries the pre-exec image's peak into it (exec_mmap),
 *   so a child forked from a large parent (this bench holds N bodies) would report the parent's size;
 * - whether stdout/stderr were terminals, so the bench can prove a pseudo-terminal run really had one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { isMainThread } from 'node:worker_threads';

const file = isMainThread ? process.env.BENCH_USAGE_FILE : undefined;
if (file) {
  delete process.env.BENCH_USAGE_FILE; // not for processes this one may start
  process.once('exit', (code) => {
    const ru = process.resourceUsage();
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
    writeFileSync(
      file,
      JSON.stringify({
        code,
        userUs: ru.userCPUTime,
        sysUs: ru.systemCPUTime,
        vmHwmKb: kb('VmHWM'),
        maxRssKb: ru.maxRSS,
        stdoutIsTTY: isatty(1),
        stderrIsTTY: isatty(2),
        uptimeMs: Math.round(process.uptime() * 1000),
      }),
    );
  });
}
