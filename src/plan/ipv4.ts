/** Just enough IPv4 arithmetic for validating subnets; no dependency needed. */

export interface Cidr {
  readonly network: number;
  readonly prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => OCTET.test(part))) {
    return undefined;
  }
  return parts.reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Parses "a.b.c.d/n"; `hostBitsSet` tells whether the address is not the network address. */
export function parseCidr(text: string): (Cidr & { readonly hostBitsSet: boolean }) | undefined {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!match) {
    return undefined;
  }
  const address = parseIpv4(match[1] ?? "");
  const prefix = Number(match[2]);
  if (address === undefined || prefix > 32) {
    return undefined;
  }
  const size = 2 ** (32 - prefix);
  const network = Math.floor(address / size) * size;
  return { network, prefix, hostBitsSet: network !== address };
}

export function cidrSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function cidrContains(cidr: Cidr, address: number): boolean {
  return address >= cidr.network && address < cidr.network + cidrSize(cidr);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b.network) || cidrContains(b, a.network);
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefix}`;
}
