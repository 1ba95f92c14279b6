// Mail from the server's development outbox (no SMTP configured), and TOTP codes.
import { createHmac } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { eventually } from './harness.js';

/** The text of `raw` with quoted-printable undone (soft breaks, `=XX`). */
function decoded(raw) {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

/** The newest mail to `address` whose subject is `subject`, waiting for it (sent after the answer). */
export async function mailTo(outbox, address, subject, after = new Set()) {
  let found = null;
  await eventually(
    () => {
      let names = [];
      try {
        names = readdirSync(outbox).filter((n) => n.endsWith('.eml') && !after.has(n)).sort();
      } catch {
        return false;
      }
      for (const name of names.reverse()) {
        const text = decoded(readFileSync(path.join(outbox, name), 'utf8'));
        if (text.includes(address) && text.includes(`Subject: ${subject}`)) {
          after.add(name);
          found = text;
          return true;
        }
      }
      return false;
    },
    10_000,
    `mail "${subject}" to ${address}`,
  );
  return found;
}

/** The six digits after `marker` in `text`. */
export function codeAfter(text, marker) {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`no ${marker} in ${text}`);
  return text.slice(at + marker.length, at + marker.length + 6);
}

/** The value of `name=` in the first link carrying it. */
export function linkParam(text, name) {
  const m = new RegExp(`[?&]${name}=([A-Za-z0-9_-]+)`).exec(text);
  if (!m) throw new Error(`no ${name}= in ${text}`);
  return m[1];
}

/** RFC 6238 (SHA-1, 6 digits, 30 s) for a base32 `secret`, `steps` time steps from now. */
export function totp(secret, steps = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + steps));
  const mac = createHmac('sha1', key).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}
