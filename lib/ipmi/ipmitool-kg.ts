// How a Kg (the BMC key of RMCP+) reaches ipmitool without its argument list. Pure, so that validate-all
// refuses a Kg that cannot travel this way without loading the ipmitool runner.
import { FenceError } from '../errors.js';

/**
 * The Kg as the text of ipmitool's IPMI_KGKEY (-K). ipmitool 1.8.19 copies that variable as a C string into
 * a zero-filled 21-byte buffer and keys the session with its first 20 bytes whenever the first byte is not 0
 * (ipmi_main.c `-K`, lanplus_crypt.c lanplus_generate_sik): trailing zero bytes are that padding and drop out,
 * a zero byte anywhere else cuts the key short, and a leading one means "no Kg" even with -y. Node hands the
 * environment to the child as UTF-8, so only a Kg that is UTF-8 text arrives byte for byte.
 *
 * Any other Kg could only go as `-y <hex>` on the command line, which every local user can read in
 * /proc/PID/cmdline: refused, pointing at the native transport, which hands the Kg to no program.
 */
export function kgForIpmitoolEnvironment(kg: Buffer): string {
  let end = kg.length;
  while (end > 0 && kg[end - 1] === 0) end--;
  const key = kg.subarray(0, end);
  const text = key.toString('utf8');
  let why: string | undefined;
  if (key.length === 0 || key[0] === 0) why = 'ipmitool reads a Kg that starts with a zero byte as no Kg at all';
  else if (key.includes(0)) why = 'it has a zero byte before its end, which cuts IPMI_KGKEY short';
  else if (!Buffer.from(text, 'utf8').equals(key)) why = 'its bytes are not UTF-8 text, so IPMI_KGKEY cannot carry them unchanged';
  if (why === undefined) return text;
  throw new FenceError(
    'bad-input',
    `option 'hexadecimal_kg' (--hexadecimal-kg) cannot be handed to ipmitool through its environment: ${why}; ipmitool would need it as -y on its command line, which every local user can read. Use transport=native (the default), which passes the Kg to no program`,
  );
}
