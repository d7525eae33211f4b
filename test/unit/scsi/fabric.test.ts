// The fencing and unfencing sequences against a scripted client (the real target's answers are proven in
// test/integration/scsi-guest.test.ts): which commands go to which device, and that an answer that is not
// a success is a failure even when the state read afterwards looks right.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReservationFabric } from '../../../agents/scsi-reservation/device.js';
import { KeyStore } from '../../../agents/scsi-reservation/store.js';
import type { OperationContext } from '../../../lib/agent/declaration.js';
import { PowerEngine } from '../../../lib/actions.js';
import { FenceError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import type { PrState } from '../../../lib/scsi/sg-output.js';
import { SgCommandError, type SgClient } from '../../../lib/scsi/sg-persist.js';

/** A LUN per device, with the PR semantics fencing relies on, and a log of the commands it was sent. */
class FakeLuns {
  readonly log: string[] = [];
  readonly luns = new Map<string, { keys: Set<string>; holder?: string }>();
  notReady = new Set<string>(); // devices whose PR OUT answers NOT READY after doing the work (LIO without /etc/target/pr)
  offline = new Set<string>(); // devices that answer TEST UNIT READY with NOT READY (a LUN gone from the target)
  constructor(devices: string[], keys: string[], holder?: string) {
    for (const d of devices) this.luns.set(d, { keys: new Set(keys), ...(holder ? { holder } : {}) });
  }
  private out(device: string, what: string) {
    if (this.notReady.has(device)) throw new SgCommandError(device, what, 'not-ready', 2, 'Device not ready');
  }
  client(): SgClient {
    const self = this;
    // Every public method of SgClient, type-checked against its real signature; only the class's private
    // members are missing, hence the one cast at the end.
    const commands: { [K in keyof SgClient]: SgClient[K] } = {
      async testUnitReady(device: string) {
        self.log.push(`tur ${device}`);
        if (self.offline.has(device)) throw new SgCommandError(device, 'TEST UNIT READY', 'not-ready', 2, 'Device not ready');
      },
      async readKeys(device: string) {
        self.log.push(`read-keys ${device}`);
        return { generation: 0, keys: [...self.luns.get(device)!.keys] };
      },
      async readReservation(device: string) {
        self.log.push(`read-reservation ${device}`);
        const l = self.luns.get(device)!;
        return { generation: 0, ...(l.holder ? { reservation: { key: l.holder, type: 'Write Exclusive, registrants only', scope: 'LU_SCOPE' } } : {}) };
      },
      async readState(device: string): Promise<PrState> {
        self.log.push(`read ${device}`);
        const l = self.luns.get(device)!;
        return { generation: 0, keys: [...l.keys], ...(l.holder ? { reservation: { key: l.holder, type: 'Write Exclusive, registrants only', scope: 'LU_SCOPE' } } : {}) };
      },
      async registerAndIgnore(device: string, key: string) {
        self.log.push(`register ${device} ${key}`);
        self.luns.get(device)!.keys.add(key);
        self.out(device, 'REGISTER AND IGNORE EXISTING KEY');
      },
      async reserve(device: string, key: string) {
        self.log.push(`reserve ${device} ${key}`);
        const l = self.luns.get(device)!;
        if (l.holder && l.holder !== key) throw new SgCommandError(device, 'RESERVE', 'reservation-conflict', 24, 'Reservation conflict');
        l.holder = key;
      },
      async preempt(device: string, own: string, victim: string) {
        self.log.push(`preempt ${device} ${own} ${victim}`);
        const l = self.luns.get(device)!;
        if (!l.keys.has(own)) throw new SgCommandError(device, 'PREEMPT', 'reservation-conflict', 24, 'Reservation conflict');
        if (l.holder !== victim) l.keys.delete(victim);
      },
      async preemptAndAbort(device: string, own: string, victim: string) {
        self.log.push(`preempt-abort ${device} ${own} ${victim}`);
        const l = self.luns.get(device)!;
        if (!l.keys.has(own) || !l.keys.has(victim)) throw new SgCommandError(device, 'PREEMPT AND ABORT', 'reservation-conflict', 24, 'Reservation conflict');
        l.keys.delete(victim);
        if (l.holder === victim) l.holder = own;
        self.out(device, 'PREEMPT AND ABORT');
      },
    };
    return commands as unknown as SgClient;
  }
}

const ctx: OperationContext = { deadline: Date.now() + 60_000, logger: silentLogger };
const DEVICES = ['/dev/sdb', '/dev/sdc'];
let dir: string;
let store: KeyStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fk-fabric-'));
  store = new KeyStore([join(dir, 'cluster')]);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const fabric = (luns: FakeLuns, key: string, action: 'on' | 'off' | 'status', own?: string) =>
  new ReservationFabric(luns.client(), DEVICES, key, action, store, false, own);

describe('off', () => {
  it('preempts and aborts the victim on every device at once, then reads back that it is gone', async () => {
    const luns = new FakeLuns(DEVICES, ['a1', 'b2'], 'a1');
    await fabric(luns, 'b2', 'off', 'a1').setPower(undefined, 'off', ctx);
    expect(luns.log.filter((l) => l.startsWith('preempt-abort'))).toEqual(['preempt-abort /dev/sdb a1 b2', 'preempt-abort /dev/sdc a1 b2']);
    expect(luns.log.filter((l) => l.startsWith('read'))).toEqual(['read /dev/sdb', 'read /dev/sdc']); // the proof, after
    for (const l of luns.luns.values()) expect([...l.keys]).toEqual(['a1']);
  });
  it('registers its own key where it was lost, so that the preempt is allowed (fence-agents #558)', async () => {
    const luns = new FakeLuns(DEVICES, ['a1', 'b2'], 'b2');
    luns.luns.get('/dev/sdc')!.keys.delete('a1');
    await fabric(luns, 'b2', 'off', 'a1').setPower(undefined, 'off', ctx);
    expect(luns.log.filter((l) => l.includes('/dev/sdc'))).toEqual([
      'preempt-abort /dev/sdc a1 b2', 'read /dev/sdc', 'register /dev/sdc a1', 'preempt-abort /dev/sdc a1 b2', 'read /dev/sdc',
    ]);
    expect(luns.log).not.toContain('register /dev/sdb a1');
    expect(luns.luns.get('/dev/sdc')!.holder).toBe('a1');
  });
  it('succeeds where the victim has no registration left, once the read shows it gone', async () => {
    const luns = new FakeLuns(DEVICES, ['a1'], 'a1');
    await fabric(luns, 'b2', 'off', 'a1').setPower(undefined, 'off', ctx);
    expect(luns.log.filter((l) => !l.startsWith('preempt-abort') && !l.startsWith('read'))).toEqual([]);
  });
  it('reserves a device nobody reserved: without a reservation every initiator may write', async () => {
    const luns = new FakeLuns(DEVICES, ['a1', 'b2']);
    await fabric(luns, 'b2', 'off', 'a1').setPower(undefined, 'off', ctx);
    expect(luns.log).toContain('reserve /dev/sdb a1');
    for (const l of luns.luns.values()) expect(l.holder).toBe('a1');
  });
  it("fails on a NOT READY answer although the victim's key is gone, and still fences the other device", async () => {
    const luns = new FakeLuns(DEVICES, ['a1', 'b2'], 'a1');
    luns.notReady.add('/dev/sdb');
    const err = await fabric(luns, 'b2', 'off', 'a1').setPower(undefined, 'off', ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FenceError);
    expect((err as FenceError).kind).toBe('device-refused');
    expect((err as FenceError).message).toContain('/dev/sdb');
    expect([...luns.luns.get('/dev/sdc')!.keys]).toEqual(['a1']);
  });
});

describe('on', () => {
  it('registers, reserves where nobody holds a reservation, and records the devices', async () => {
    const luns = new FakeLuns(DEVICES, []);
    const f = fabric(luns, 'b2', 'on');
    expect(await f.getPower(undefined, ctx)).toBe('off');
    await f.setPower(undefined, 'on', ctx);
    expect(await f.getPower(undefined, ctx)).toBe('on');
    for (const l of luns.luns.values()) expect([[...l.keys], l.holder]).toEqual([['b2'], 'b2']);
    expect(store.readDevices()).toEqual(DEVICES);
  });
  it('refreshes a key already registered (maybe by a stale I_T nexus) by preempting itself, then registers every path again', async () => {
    const luns = new FakeLuns(DEVICES, ['a1', 'b2'], 'a1');
    await fabric(luns, 'b2', 'on').setPower(undefined, 'on', ctx);
    const sdb = luns.log.filter((l) => l.includes('/dev/sdb') && !l.startsWith('read'));
    expect(sdb).toEqual(['register /dev/sdb b2', 'preempt /dev/sdb b2 b2', 'register /dev/sdb b2']);
    for (const l of luns.luns.values()) expect([...l.keys].sort()).toEqual(['a1', 'b2']);
  });
  it('is on only when every device holds the key', async () => {
    const luns = new FakeLuns(DEVICES, ['b2']);
    luns.luns.get('/dev/sdc')!.keys.clear();
    expect(await fabric(luns, 'b2', 'on').getPower(undefined, ctx)).toBe('off');
    expect(await fabric(luns, 'b2', 'status').getPower(undefined, ctx)).toBe('on');
  });
  it('fails on NOT READY although the target registered the key (the LIO trap)', async () => {
    const luns = new FakeLuns(DEVICES, []);
    luns.notReady.add('/dev/sdc');
    await expect(fabric(luns, 'b2', 'on').setPower(undefined, 'on', ctx)).rejects.toThrow(/Device not ready/);
    expect(luns.luns.get('/dev/sdc')!.keys.has('b2')).toBe(true);
    expect(store.readDevices()).toEqual(['/dev/sdb']);
  });
});

describe('the confirmation contract with the engine (PowerDevice.confirmedBySet)', () => {
  it('declares both sets self-confirming: each ends with a read of every device', () => {
    expect(fabric(new FakeLuns(DEVICES, []), 'b2', 'on').confirmedBySet).toEqual(['on', 'off']);
  });
  it('a status read after a set reads the devices: nothing is kept for whichever call comes next', async () => {
    const luns = new FakeLuns(DEVICES, []);
    const f = fabric(luns, 'b2', 'on');
    await f.setPower(undefined, 'on', ctx);
    luns.luns.get('/dev/sdc')!.keys.delete('b2'); // preempted by another node meanwhile
    expect(await f.getPower(undefined, ctx)).toBe('off');
  });
  it('under the engine, on reads every device once before and nothing after the fabric\'s own read-back', async () => {
    const luns = new FakeLuns(DEVICES, []);
    const settings = { powerTimeoutMs: 5_000, shellTimeoutMs: 1_000, powerWaitMs: 0, statusSleepMs: 20, retryOn: 0, method: 'onoff', forceOn: true } as const;
    const r = await new PowerEngine(fabric(luns, 'b2', 'on'), [undefined], settings, silentLogger).on();
    expect(r.stdout).toEqual(['Success: Powered ON']);
    const sdb = luns.log.filter((l) => l.includes('/dev/sdb'));
    expect(sdb).toEqual(['read /dev/sdb', 'register /dev/sdb b2', 'read /dev/sdb', 'reserve /dev/sdb b2', 'read /dev/sdb']);
  });
  it('under the engine, off is PREEMPT AND ABORT with no read before it', async () => {
    const luns = new FakeLuns(DEVICES, ['a1', 'b2'], 'a1');
    const settings = { powerTimeoutMs: 5_000, shellTimeoutMs: 1_000, powerWaitMs: 0, statusSleepMs: 20, retryOn: 0, method: 'onoff', forceOn: true } as const;
    const r = await new PowerEngine(fabric(luns, 'b2', 'off', 'a1'), [undefined], settings, silentLogger).off();
    expect(r.stdout).toEqual(['Success: Powered OFF']);
    expect(luns.log.filter((l) => l.includes('/dev/sdb'))).toEqual(['preempt-abort /dev/sdb a1 b2', 'read /dev/sdb']);
  });
});

describe('monitor', () => {
  it('asks every device TEST UNIT READY and READ KEYS, and fails when one is not ready', async () => {
    const luns = new FakeLuns(DEVICES, ['b2']);
    await fabric(luns, 'b2', 'status').monitor(ctx);
    expect(luns.log.filter((l) => /^(tur|read-keys) /.test(l)).sort()).toEqual(DEVICES.flatMap((d) => [`read-keys ${d}`, `tur ${d}`]).sort());
    luns.offline.add('/dev/sdc');
    await expect(fabric(luns, 'b2', 'status').monitor(ctx)).rejects.toThrow(/\/dev\/sdc.*Device not ready/);
  });
});
