// The files of one QEMU process inside its run directory.
import path from 'node:path';

export interface RunPaths {
  qmp: string;
  serial: string;
  pid: string;
  log: string;
}

/** sun_path holds 108 bytes including the terminating NUL. */
const UNIX_PATH_MAX = 107;

export function runPaths(runDir: string): RunPaths {
  return {
    qmp: path.join(runDir, 'qmp.sock'),
    serial: path.join(runDir, 'serial.sock'),
    pid: path.join(runDir, 'qemu.pid'),
    log: path.join(runDir, 'qemu.log'),
  };
}

/** Throws when a socket path of runDir would not fit in a unix socket address. */
export function checkRunDir(runDir: string): void {
  if (!path.isAbsolute(runDir)) throw new Error(`runDir "${runDir}" must be an absolute path`);
  const longest = runPaths(runDir).serial;
  if (Buffer.byteLength(longest) > UNIX_PATH_MAX) {
    throw new Error(`runDir "${runDir}" is too long: ${longest} exceeds ${UNIX_PATH_MAX} bytes (unix socket limit); use a shorter runDir`);
  }
}
