import * as fs from 'node:fs';

/** Linux counts CPU time in ticks of 1/100 s (USER_HZ) in /proc. */
const TICKS_PER_SECOND = 100;

function statFields(pid: number | 'self'): string[] | undefined {
  try {
    // The command name may hold spaces; the fields after it are space-separated.
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, in seconds; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND : 0;
}

/** CPU seconds of this process's children that have ended and been waited for. */
export function endedChildrenCpuSeconds(): number {
  const fields = statFields('self')!;
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

/** Busy CPU seconds of the whole machine, all cores. */
function machineCpuSeconds(): number {
  const [, ...ticks] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait.
  const busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7];
  return busy / TICKS_PER_SECOND;
}

/** Processes whose parent is `ppid`, or whose command name is one of `names`. */
function processes(filter: { ppid?: number; names?: string[] }): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (filter.ppid !== undefined && ppid === filter.ppid) pids.push(Number(entry));
    else if (filter.names?.includes(name)) pids.push(Number(entry));
  }
  return pids;
}

export interface CpuUse {
  /** Busy seconds of all cores, whatever ran there. */
  machine: number;
  /** This process: the peers' workers, or Taskman's scheduler. */
  thisProcess: number;
  /** Child processes of this one other than the database server: Taskman's runners. */
  children: number;
  /** The database server's processes. */
  server: number;
}

/**
 * CPU used between start() and stop(), read from /proc: the machine, this process, its children
 * (those still running and those that ended), and the database server, found by pid (a private
 * server) or by process name (a system service such as postgres or redis-server).
 */
export class CpuMeter {
  private constructor(
    private readonly server: { pid?: number; names?: string[] },
    private readonly before: {
      machine: number;
      self: number;
      endedChildren: number;
      children: Map<number, number>;
      server: Map<number, number>;
    },
  ) {}

  static start(server: { pid?: number; names?: string[] }): CpuMeter {
    const usage = process.cpuUsage();
    return new CpuMeter(server, {
      machine: machineCpuSeconds(),
      self: (usage.user + usage.system) / 1e6,
      endedChildren: endedChildrenCpuSeconds(),
      children: CpuMeter.snapshot(CpuMeter.childPids(server.pid)),
      server: CpuMeter.snapshot(CpuMeter.serverPids(server)),
    });
  }

  stop(): CpuUse {
    const usage = process.cpuUsage();
    const grown = (before: Map<number, number>, pids: number[]) =>
      pids.reduce((sum, pid) => sum + cpuSeconds(pid) - (before.get(pid) ?? 0), 0);
    return {
      machine: machineCpuSeconds() - this.before.machine,
      thisProcess: (usage.user + usage.system) / 1e6 - this.before.self,
      children:
        endedChildrenCpuSeconds() -
        this.before.endedChildren +
        grown(this.before.children, CpuMeter.childPids(this.server.pid)),
      server: grown(this.before.server, CpuMeter.serverPids(this.server)),
    };
  }

  private static childPids(serverPid: number | undefined): number[] {
    return processes({ ppid: process.pid }).filter((pid) => pid !== serverPid);
  }

  private static serverPids(server: { pid?: number; names?: string[] }): number[] {
    return server.pid !== undefined ? [server.pid] : processes({ names: server.names ?? [] });
  }

  private static snapshot(pids: number[]): Map<number, number> {
    return new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
  }
}

/** CPU seconds of a process and its living children (a worker and its spare runner). */
export function processTreeCpuSeconds(pid: number): number {
  return cpuSeconds(pid) + processes({ ppid: pid }).reduce((sum, child) => sum + cpuSeconds(child), 0);
}
