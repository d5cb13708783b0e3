import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmAssignment } from '../api/agent-protocol.js';
import { agentPaths, listVmIds, loadHostIdentity, loadVmFile, newVmFile, saveHostIdentity, saveVmFile, vmFilePath } from './state-files.js';

const a = { id: 'vm1', name: 'web', power: 'running', epoch: 2, rebootSeq: 0, forceStop: false, spec: {} } as unknown as VmAssignment;

describe('state files', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-state-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps the host identity readable by its owner only', () => {
    const paths = agentPaths(dir);
    expect(loadHostIdentity(paths)).toBeNull();
    saveHostIdentity(paths, { hostId: 'h1', credential: 'secret', agentUrl: 'http://127.0.0.1:1234' });
    expect(loadHostIdentity(paths)).toEqual({ hostId: 'h1', credential: 'secret', agentUrl: 'http://127.0.0.1:1234' });
    expect(fs.statSync(paths.hostFile).mode & 0o777).toBe(0o600);
  });

  it('round-trips vm.json and lists VM dirs that have one', () => {
    const paths = agentPaths(dir);
    const file = { ...newVmFile(a), lastStartedEpoch: 2, running: true, stopRequestedAt: 5 };
    saveVmFile(paths, file);
    fs.mkdirSync(path.join(paths.vmsDir, 'half-made'));
    expect(loadVmFile(paths, 'vm1')).toEqual(file);
    expect(listVmIds(paths)).toEqual(['vm1']);
    expect(fs.statSync(vmFilePath(paths, 'vm1')).mode & 0o777).toBe(0o600);
    fs.writeFileSync(vmFilePath(paths, 'vm1'), '{broken');
    expect(loadVmFile(paths, 'vm1')).toBeNull();
  });
});
