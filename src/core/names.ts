// Names of VMs, images, hosts: DNS-label-like so they are safe in paths,
// QEMU -name and hostnames. One rule for every resource.

export const NAME_PATTERN = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';
const NAME_RE = new RegExp(NAME_PATTERN);

export function checkName(name: string): string | null {
  if (NAME_RE.test(name)) return null;
  return `"${name}" is not a valid name: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit`;
}
