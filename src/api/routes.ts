// Every HTTP operation of the controller, declared once. The server registers
// these, the OpenAPI document is generated from them, and the client calls
// them by key: no RPC name or path is a loose string outside src/api.
import { Type, type Static, type TSchema } from 'typebox';
import { AssignmentsQuery, AssignmentsResponse, HostReport, JoinRequest, JoinResponse } from './agent-protocol.js';
import { BuildImageRequest, CreateVmRequest, IdParams, ImportImageRequest, LogsQuery, NameParams, ResizeVmRequest, StopVmRequest, UpdateVmRequest } from './requests.js';
import { CreateGroupRequest, Group, GroupMembersRequest } from './groups.js';
import { CreateResourcePoolRequest, ResourcePool, UpdateResourcePoolRequest } from './resource-pools.js';
import { HostLabelsRequest } from './labels.js';
import { AddDiskRequest, AddNicRequest, DiskParams, NicParams, RemoveDiskQuery } from './devices.js';
import { SetVmLimitsRequest } from './limits.js';
import { BalloonAck } from './balloon.js';
import { Host, Image, Job, Vm, Volume } from './resources.js';
import { MigrateVmRequest, Migration } from './migration.js';
import { Pool } from './pool.js';
import { HostPowerOffRequest, HostPowerRequest, HostPowerSettings, HostPowerState } from './power.js';
import { AutomationPass, AutomationSettings, AutomationSettingsUpdate } from './automation.js';
import { ClusterSnapshotSchema } from './planner.js';

export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  summary: string;
  tags: string[];
  params?: TSchema;
  query?: TSchema;
  body?: TSchema;
  response: TSchema;
  /** 'admin' needs the admin token, 'agent' a host credential, 'join' the join token in the body. */
  auth: 'admin' | 'agent' | 'join';
}

const VmWithJob = Type.Object({ vm: Vm, job: Job });
const Empty = Type.Object({});

function route<const R extends RouteDef>(r: R): R {
  return r;
}

export const routes = {
  listVms: route({ method: 'GET', path: '/v1/vms', summary: 'List VMs', tags: ['vms'], response: Type.Array(Vm), auth: 'admin' }),
  createVm: route({ method: 'POST', path: '/v1/vms', summary: 'Create (and by default start) a VM', tags: ['vms'], body: CreateVmRequest, response: VmWithJob, auth: 'admin' }),
  getVm: route({ method: 'GET', path: '/v1/vms/:name', summary: 'Show a VM by name or id', tags: ['vms'], params: NameParams, response: Vm, auth: 'admin' }),
  updateVm: route({ method: 'PATCH', path: '/v1/vms/:name', summary: 'Change placement settings of a VM (ha, haPriority, hostRules, resourcePool); the fields left out keep their value', tags: ['vms'], params: NameParams, body: UpdateVmRequest, response: Vm, auth: 'admin' }),
  deleteVm: route({ method: 'DELETE', path: '/v1/vms/:name', summary: 'Stop a VM and delete it with its volumes', tags: ['vms'], params: NameParams, response: VmWithJob, auth: 'admin' }),
  startVm: route({ method: 'POST', path: '/v1/vms/:name/start', summary: 'Start a VM', tags: ['vms'], params: NameParams, body: Empty, response: VmWithJob, auth: 'admin' }),
  stopVm: route({ method: 'POST', path: '/v1/vms/:name/stop', summary: 'Stop a VM (ACPI power-down, or kill with force)', tags: ['vms'], params: NameParams, body: StopVmRequest, response: VmWithJob, auth: 'admin' }),
  resizeVm: route({ method: 'POST', path: '/v1/vms/:name/resize', summary: 'Change the vCPUs and memory of a VM; live (hot-add, hot-remove) while it runs', tags: ['vms'], params: NameParams, body: ResizeVmRequest, response: VmWithJob, auth: 'admin' }),
  setVmLimits: route({ method: 'PUT', path: '/v1/vms/:name/limits', summary: 'Set or remove resource controls of a VM (CPU weight and cap, memory cap, disk I/O caps), live while it runs; null removes a limit, fields left out keep their value, clear removes the others', tags: ['vms'], params: NameParams, body: SetVmLimitsRequest, response: Vm, auth: 'admin' }),
  addVmDisk: route({ method: 'POST', path: '/v1/vms/:name/disks', summary: 'Add a data disk to a VM (a new blank one, or a detached volume of it); hot-plugged while it runs', tags: ['vms'], params: NameParams, body: AddDiskRequest, response: VmWithJob, auth: 'admin' }),
  removeVmDisk: route({ method: 'DELETE', path: '/v1/vms/:name/disks/:id', summary: 'Remove a data disk from a VM (hot-unplugged while it runs); its volume is kept detached unless delete is set', tags: ['vms'], params: DiskParams, query: RemoveDiskQuery, response: VmWithJob, auth: 'admin' }),
  addVmNic: route({ method: 'POST', path: '/v1/vms/:name/nics', summary: 'Add a NIC to a VM (user-mode NAT or its host\'s bridge); hot-plugged while it runs', tags: ['vms'], params: NameParams, body: AddNicRequest, response: VmWithJob, auth: 'admin' }),
  removeVmNic: route({ method: 'DELETE', path: '/v1/vms/:name/nics/:id', summary: 'Remove an added NIC from a VM; hot-unplugged while it runs', tags: ['vms'], params: NicParams, response: VmWithJob, auth: 'admin' }),
  rebootVm: route({ method: 'POST', path: '/v1/vms/:name/reboot', summary: 'Reset a running VM', tags: ['vms'], params: NameParams, body: Empty, response: VmWithJob, auth: 'admin' }),
  pauseVm: route({ method: 'POST', path: '/v1/vms/:name/pause', summary: 'Pause a running VM', tags: ['vms'], params: NameParams, body: Empty, response: VmWithJob, auth: 'admin' }),
  resumeVm: route({ method: 'POST', path: '/v1/vms/:name/resume', summary: 'Resume a paused VM', tags: ['vms'], params: NameParams, body: Empty, response: VmWithJob, auth: 'admin' }),
  migrateVm: route({ method: 'POST', path: '/v1/vms/:name/migrate', summary: 'Live-migrate a running VM to another host', tags: ['migrations'], params: NameParams, body: MigrateVmRequest, response: Type.Object({ vm: Vm, job: Job, migration: Migration }), auth: 'admin' }),
  cancelMigration: route({ method: 'POST', path: '/v1/vms/:name/migrate/cancel', summary: "Cancel a VM's migration before the switchover (the VM stays on its source)", tags: ['migrations'], params: NameParams, body: Empty, response: Migration, auth: 'admin' }),
  listMigrations: route({ method: 'GET', path: '/v1/migrations', summary: 'List migrations, running and recent', tags: ['migrations'], response: Type.Array(Migration), auth: 'admin' }),
  getMigration: route({ method: 'GET', path: '/v1/migrations/:id', summary: 'Show a migration with its live progress', tags: ['migrations'], params: IdParams, response: Migration, auth: 'admin' }),
  vmLogs: route({ method: 'GET', path: '/v1/vms/:name/logs', summary: 'Tail of the serial console log', tags: ['vms'], params: NameParams, query: LogsQuery, response: Type.Object({ text: Type.String() }), auth: 'admin' }),
  listHosts: route({ method: 'GET', path: '/v1/hosts', summary: 'List hosts', tags: ['hosts'], response: Type.Array(Host), auth: 'admin' }),
  getHost: route({ method: 'GET', path: '/v1/hosts/:name', summary: 'Show a host by name or id', tags: ['hosts'], params: NameParams, response: Host, auth: 'admin' }),
  setHostLabels: route({ method: 'PUT', path: '/v1/hosts/:name/labels', summary: 'Set and remove labels of a host (the labels not named stay); VM host rules match them', tags: ['hosts'], params: NameParams, body: HostLabelsRequest, response: Host, auth: 'admin' }),
  hostMaintenance: route({ method: 'POST', path: '/v1/hosts/:name/maintenance', summary: 'Put a host in maintenance: no new VMs, every running VM live-migrated away', tags: ['hosts'], params: NameParams, body: Empty, response: Job, auth: 'admin' }),
  hostStandby: route({ method: 'POST', path: '/v1/hosts/:name/standby', summary: 'Put an empty host in Standby: no new VMs, out of the pool capacity (activate brings it back)', tags: ['hosts'], params: NameParams, body: Empty, response: Host, auth: 'admin' }),
  hostActivate: route({ method: 'POST', path: '/v1/hosts/:name/activate', summary: 'Bring a host out of maintenance (Ready again)', tags: ['hosts'], params: NameParams, body: Empty, response: Host, auth: 'admin' }),
  removeHost: route({ method: 'DELETE', path: '/v1/hosts/:name', summary: 'Remove a host from the pool: it turns Left and its agent credential stops working (refused while VMs are on it)', tags: ['hosts'], params: NameParams, response: Host, auth: 'admin' }),
  getHostPower: route({ method: 'GET', path: '/v1/hosts/:name/power', summary: "Show a host's BMC settings (power fencing, drover host power); the password is never returned", tags: ['hosts'], params: NameParams, response: HostPowerSettings, auth: 'admin' }),
  setHostPower: route({ method: 'PUT', path: '/v1/hosts/:name/power', summary: "Set a host's BMC (redfish or ipmi): HA failover then powers the host off when it is suspected; the password is write-only", tags: ['hosts'], params: NameParams, body: HostPowerRequest, response: HostPowerSettings, auth: 'admin' }),
  deleteHostPower: route({ method: 'DELETE', path: '/v1/hosts/:name/power', summary: "Remove a host's BMC settings: no more power fencing of it (failover by lease expiry only)", tags: ['hosts'], params: NameParams, response: HostPowerSettings, auth: 'admin' }),
  hostPowerStatus: route({ method: 'GET', path: '/v1/hosts/:name/power/status', summary: "Ask a host's BMC whether the machine is powered on", tags: ['hosts'], params: NameParams, response: HostPowerState, auth: 'admin' }),
  hostPowerOff: route({ method: 'POST', path: '/v1/hosts/:name/power/off', summary: 'Power a host off hard through its BMC (refused while VMs are placed on it, unless force)', tags: ['hosts'], params: NameParams, body: HostPowerOffRequest, response: HostPowerState, auth: 'admin' }),
  hostPowerOn: route({ method: 'POST', path: '/v1/hosts/:name/power/on', summary: 'Power a host on through its BMC', tags: ['hosts'], params: NameParams, body: Empty, response: HostPowerState, auth: 'admin' }),
  getJoinToken: route({ method: 'GET', path: '/v1/join-token', summary: 'The token new host agents join with (drover host join)', tags: ['hosts'], response: Type.Object({ token: Type.String() }), auth: 'admin' }),
  listGroups: route({ method: 'GET', path: '/v1/groups', summary: 'List VM groups (affinity, anti-affinity) with what breaks them now', tags: ['groups'], response: Type.Array(Group), auth: 'admin' }),
  createGroup: route({ method: 'POST', path: '/v1/groups', summary: 'Create a VM group (affinity or anti-affinity, must or should); members that break it already are reported in violations', tags: ['groups'], body: CreateGroupRequest, response: Group, auth: 'admin' }),
  getGroup: route({ method: 'GET', path: '/v1/groups/:name', summary: 'Show a VM group', tags: ['groups'], params: NameParams, response: Group, auth: 'admin' }),
  deleteGroup: route({ method: 'DELETE', path: '/v1/groups/:name', summary: 'Delete a VM group (its VMs stay where they are)', tags: ['groups'], params: NameParams, response: Group, auth: 'admin' }),
  changeGroupMembers: route({ method: 'POST', path: '/v1/groups/:name/members', summary: 'Add VMs to a group and remove VMs from it', tags: ['groups'], params: NameParams, body: GroupMembersRequest, response: Group, auth: 'admin' }),
  listResourcePools: route({ method: 'GET', path: '/v1/resource-pools', summary: 'List resource pools with their reservation, limit, shares and use', tags: ['resource-pools'], response: Type.Array(ResourcePool), auth: 'admin' }),
  createResourcePool: route({ method: 'POST', path: '/v1/resource-pools', summary: 'Create a resource pool (reservation, limit and shares for CPU and memory; optionally in a top-level parent); refused when the reservations do not fit', tags: ['resource-pools'], body: CreateResourcePoolRequest, response: ResourcePool, auth: 'admin' }),
  getResourcePool: route({ method: 'GET', path: '/v1/resource-pools/:name', summary: 'Show a resource pool: settings, use, VMs and child pools', tags: ['resource-pools'], params: NameParams, response: ResourcePool, auth: 'admin' }),
  updateResourcePool: route({ method: 'PATCH', path: '/v1/resource-pools/:name', summary: 'Change a resource pool: the settings given change, those in remove go, the others keep their value', tags: ['resource-pools'], params: NameParams, body: UpdateResourcePoolRequest, response: ResourcePool, auth: 'admin' }),
  deleteResourcePool: route({ method: 'DELETE', path: '/v1/resource-pools/:name', summary: 'Delete a resource pool (refused while it has VMs or child pools)', tags: ['resource-pools'], params: NameParams, response: ResourcePool, auth: 'admin' }),
  getPool: route({ method: 'GET', path: '/v1/pool', summary: 'The capacity of the pool: hosts by state; CPU and memory total, reserved, used and free over the Ready hosts', tags: ['pool'], response: Pool, auth: 'admin' }),
  getSnapshot: route({ method: 'GET', path: '/v1/snapshot', summary: 'The live cluster as a planner snapshot (hosts, VMs with their usage, migrations in flight, the automation policy); drover snapshot writes it', tags: ['planner'], response: ClusterSnapshotSchema, auth: 'admin' }),
  getAutomation: route({ method: 'GET', path: '/v1/automation', summary: 'The automation settings: balancer and power levels (off, recommend, automatic), pass interval, moves per pass', tags: ['automation'], response: AutomationSettings, auth: 'admin' }),
  setAutomation: route({ method: 'PUT', path: '/v1/automation', summary: 'Change automation settings: the fields given change, the others keep their value', tags: ['automation'], body: AutomationSettingsUpdate, response: AutomationSettings, auth: 'admin' }),
  runAutomation: route({ method: 'POST', path: '/v1/automation/run', summary: 'Run an automation pass now (or wait for the one running) and return what it decided', tags: ['automation'], body: Empty, response: AutomationPass, auth: 'admin' }),
  listRecommendations: route({ method: 'GET', path: '/v1/recommendations', summary: 'What the latest automation pass decided: each action with its reason, numbers and outcome', tags: ['automation'], response: AutomationPass, auth: 'admin' }),
  listImages: route({ method: 'GET', path: '/v1/images', summary: 'List images', tags: ['images'], response: Type.Array(Image), auth: 'admin' }),
  buildImage: route({ method: 'POST', path: '/v1/images/build', summary: 'Build an image from its recipe on every host', tags: ['images'], body: BuildImageRequest, response: Job, auth: 'admin' }),
  importImage: route({ method: 'POST', path: '/v1/images/import', summary: "Import a user's disk file or kernel+initrd", tags: ['images'], body: ImportImageRequest, response: Job, auth: 'admin' }),
  listVolumes: route({ method: 'GET', path: '/v1/volumes', summary: 'List volumes', tags: ['volumes'], response: Type.Array(Volume), auth: 'admin' }),
  listJobs: route({ method: 'GET', path: '/v1/jobs', summary: 'List recent jobs', tags: ['jobs'], response: Type.Array(Job), auth: 'admin' }),
  getJob: route({ method: 'GET', path: '/v1/jobs/:id', summary: 'Show a job', tags: ['jobs'], params: IdParams, response: Job, auth: 'admin' }),
  agentJoin: route({ method: 'POST', path: '/v1/agent/join', summary: 'A host agent joins with the join token', tags: ['agent'], body: JoinRequest, response: JoinResponse, auth: 'join' }),
  agentAssignments: route({ method: 'GET', path: '/v1/agent/assignments', summary: "The VMs this agent's host must run (long poll)", tags: ['agent'], query: AssignmentsQuery, response: AssignmentsResponse, auth: 'agent' }),
  agentReport: route({ method: 'POST', path: '/v1/agent/report', summary: 'Observed state of the host and its VMs', tags: ['agent'], body: HostReport, response: Type.Object({ ok: Type.Boolean(), balloonAck: Type.Optional(BalloonAck) }), auth: 'agent' }),
} as const;

export type Routes = typeof routes;
export type RouteName = keyof Routes;
type Field<R, K extends string> = R extends Record<K, infer S extends TSchema> ? Static<S> : undefined;
export type RouteParams<N extends RouteName> = Field<Routes[N], 'params'>;
export type RouteQuery<N extends RouteName> = Field<Routes[N], 'query'>;
export type RouteBody<N extends RouteName> = Field<Routes[N], 'body'>;
export type RouteResponse<N extends RouteName> = Static<Routes[N]['response']>;

/** WebSocket endpoints (not in the route table: no request body/response). */
export const WS_PATHS = {
  events: '/v1/events',
  console: '/v1/vms/:name/console',
} as const;

export function fillPath(path: string, params: Record<string, string> | undefined): string {
  return path.replace(/:(\w+)/g, (_, k: string) => {
    const v = params?.[k];
    if (v === undefined) throw new Error(`missing path parameter ${k} for ${path}`);
    return encodeURIComponent(v);
  });
}
