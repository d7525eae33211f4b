#!/usr/bin/python3
# The guest's half of the "never twice" witness (test/scenario/witness.ts reads the other end): append one
# 512-byte record every 100 ms to the guest's SAN volume, with O_DIRECT so each record reaches the NBD
# server when the write returns, never a page cache that a power loss would swallow.
#
# Record: "FKREC <boot id> <counter> <guest time> <first slot>\n", NUL-padded to 512 bytes, at slot
# first_slot + counter. A boot starts at the first empty slot it finds, so one writer at a time leaves the
# volume as boots in contiguous runs, each counting from 0 without a gap. A second writer breaks that: its
# records land in another boot's run (or after it) and the checker sees it.
#   guest-writer.py DEVICE
import mmap
import os
import sys
import time

SLOT = 512
dev = sys.argv[1]
boot = open('/proc/sys/kernel/random/boot_id').read().strip()
fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
# O_DIRECT wants buffers aligned to the logical block: anonymous mmaps are page-aligned.
chunk = mmap.mmap(-1, 1 << 20)
first = None
offset = 0
while first is None:
    n = os.preadv(fd, [chunk], offset)
    if n <= 0:
        sys.exit(f'guest-writer: {dev} is full at slot {offset // SLOT}')
    for i in range(n // SLOT):
        if chunk[i * SLOT:i * SLOT + 5] != b'FKREC':
            first = offset // SLOT + i
            break
    offset += n
print(f'guest-writer: boot {boot} starts at slot {first}', flush=True)

record = mmap.mmap(-1, mmap.PAGESIZE)
view = memoryview(record)[:SLOT]
counter = 0
tick = time.monotonic()
while True:
    line = f'FKREC {boot} {counter} {time.time():.3f} {first}\n'.encode()
    record[:SLOT] = line.ljust(SLOT, b'\0')
    try:
        os.pwritev(fd, [view], (first + counter) * SLOT)
        counter += 1
    except OSError as err:
        # The disk is gone (a cut storage port): the same record again at the next tick, so the volume never
        # shows a gap that was not a lost write.
        print(f'guest-writer: record {counter}: {err}', flush=True)
    tick += 0.1
    time.sleep(max(0.0, tick - time.monotonic()))
