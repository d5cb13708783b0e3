// What the controller keeps in the store, by kind. Records are the API
// resources plus the bookkeeping the API does not show.
import type { VmObservedState } from '../core/phase.js';
import type { Host, Image, Job, Vm, Volume } from '../api/resources.js';
import type { BuildImageRequest, ImportImageRequest } from '../api/requests.js';

export const KIND = {
  vm: 'vm',
  /** Name → VM id; its create makes a VM name unique even under concurrent requests. */
  vmName: 'vm-name',
  host: 'host',
  hostName: 'host-name',
  image: 'image',
  volume: 'volume',
  job: 'job',
} as const;

export interface VmObserved {
  state: VmObservedState;
  epoch: number;
  rebootSeq: number;
}

export interface VmRecord extends Omit<Vm, 'stats'> {
  /** What the host agent last reported of this VM. */
  observed?: VmObserved;
  /** A rolled-back create asked the agent to remove it (its assignment says 'absent'). */
  removing?: boolean;
  /** The agent confirmed, after it was told 'absent', that nothing of the VM is left. */
  gone?: boolean;
  /** An assignment the agent could not carry out (bad image, no space). */
  agentError?: string;
}

export interface HostRecord extends Host {
  /** sha256 of the agent's credential; the credential itself is derived, never stored (see secrets.ts). */
  credentialHash: string;
  /** Bumped by every join, so a re-join gets a new credential and the old one stops working. */
  credentialGeneration: number;
}

export type ImageRecord = Image;
export type VolumeRecord = Volume;

/** Per-kind inputs and progress markers of a job, persisted with it. */
export interface JobParams {
  vmId?: string;
  /** vm.create: start the VM once its volumes exist. */
  start?: boolean;
  force?: boolean;
  /** The desired state of this job was written (with any targets below, in the same commit). */
  requested?: boolean;
  targetEpoch?: number;
  targetRebootSeq?: number;
  /** A failed job is undoing what it did; a restart resumes the rollback. */
  rollingBack?: boolean;
  hostIds?: string[];
  build?: BuildImageRequest;
  import?: ImportImageRequest;
}

export interface JobRecord extends Job {
  params: JobParams;
}

export function nowIso(): string {
  return new Date().toISOString();
}
