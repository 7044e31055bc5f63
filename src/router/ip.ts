// Address syntax checks without node:net, so the router core imports no socket module at all
// (a test greps src/router for that). Same acceptance as net.isIP for the forms we use.

const V4_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const V4 = new RegExp(`^${V4_OCTET}(?:\\.${V4_OCTET}){3}$`);
const HEX = /^[0-9a-fA-F]{1,4}$/;

export function isIPv4(s: string): boolean {
  return V4.test(s);
}

export function isIPv6(s: string): boolean {
  const zone = s.indexOf('%'); // fe80::1%eth0
  if (zone === 0) return false;
  const a = zone > 0 ? s.slice(0, zone) : s;
  const halves = a.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string): string[] | undefined => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return false;
  const all = [...head, ...tail];
  let units = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i];
    if (i === all.length - 1 && g.includes('.')) { // embedded IPv4 as the last 32 bits
      if (!isIPv4(g)) return false;
      units += 2;
    } else if (HEX.test(g)) {
      units += 1;
    } else {
      return false;
    }
  }
  return halves.length === 2 ? units <= 7 : units === 8;
}

export function isIp(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}
