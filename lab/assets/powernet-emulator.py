#!/usr/bin/python3
"""APC PowerNet-MIB outlet emulator for snmpd's pass_persist, where each outlet powers a real process.

Run by snmpd as   pass_persist .1.3.6.1.4.1.318 /usr/bin/python3 powernet-emulator.py STATEFILE
Run by the lab harness (lab/snmpd-pdu.ts) as one-shot commands on the same state file:
    powernet-emulator.py STATEFILE init SPEC_JSON      create the state, start the processes of outlets that are on
    powernet-emulator.py STATEFILE power N on|off      switch an outlet behind the agent's back (a person at the rack)
    powernet-emulator.py STATEFILE fault N FAULT_JSON  set or clear (null) an outlet's fault
    powernet-emulator.py STATEFILE command N on|off|reboot  a command from another management path (the
                                                       card's CLI): faults apply as to an SNMP SET; prints
                                                       DONE or the refusal

Why a state file: the test process must see and change what the device believes, and snmpd may restart this
script at any time. Every request re-reads the file under an flock on STATEFILE.lock and writes it back
atomically (temp file + rename), so a reader without the lock always sees a whole state.

Why real processes: "off" must be observable outside SNMP. An outlet that is on has a detached process
(own session, fds on /dev/null) whose PID and start time are in the state; switching it off kills that
process and waits until it is gone (reaped if it is our child, otherwise until /proc shows it gone or a
zombie) before the SET is answered. A slow outlet answers the SET at once and changes later (a background
thread applies due changes), so its status shows the old state until the change really happened.

Faults (state outlets[i].fault): {"kind": "refuse"} SET -> commit-failed; {"kind": "lying"} SET says DONE,
nothing changes; {"kind": "slow", "seconds": S} the change happens S seconds after the SET;
{"kind": "unknown-value", "value": V} status columns read V (e.g. sPDUOutletCtl 4 = outletUnknown).

Optional tables (spec "tables", default none): "rpdu2" adds the rPDU2 switched outlet status/control tables
(...318.1.1.26.9.2.3 / .4; status off(1) on(2), the reverse of rPDU), "msp" adds the MasterSwitch Plus tables
(...318.1.1.6.7 status, ...6.5 control; instance switch.1.outlet as fence_apc_snmp addresses it; off is 3).

Only the immediate commands are emulated (on 1, off 2, reboot 3); other MIB values are answered wrong-value.
stdlib only, so it runs on any machine that has snmpd.
"""

import bisect
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time

APC = (1, 3, 6, 1, 4, 1, 318)
# rPDU (rack PDU, sysObjectID ...318.1.3.4.5): control and status tables, columns index/name/command|state.
RPDU_IDENT_NUM_OUTLETS = APC + (1, 1, 12, 1, 8, 0)          # rPDUIdentDeviceNumOutlets
RPDU_CONTROL_ENTRY = APC + (1, 1, 12, 3, 3, 1, 1)           # rPDUOutletControlEntry
RPDU_STATUS_ENTRY = APC + (1, 1, 12, 3, 5, 1, 1)            # rPDUOutletStatusEntry
# MasterSwitch (sPDU, the fallback family): sPDUOutletControlTable, where the state column is read/write.
SPDU_CONTROL_TABLE_SIZE = APC + (1, 1, 4, 4, 1, 0)          # sPDUOutletControlTableSize
SPDU_CONTROL_ENTRY = APC + (1, 1, 4, 4, 2, 1)               # sPDUOutletControlEntry

# rPDU2 (newer rack PDUs): rPDU2OutletSwitchedStatusEntry / ControlEntry: index, module, name, number, state|command.
RPDU2_STATUS_ENTRY = APC + (1, 1, 26, 9, 2, 3, 1)
RPDU2_CONTROL_ENTRY = APC + (1, 1, 26, 9, 2, 4, 1)
COL_RPDU2_NAME, COL_RPDU2_NUMBER, COL_RPDU2_STATE_OR_COMMAND = 3, 4, 5
RPDU2_ON, RPDU2_OFF = 2, 1  # status column only; the command column uses immediateOn(1)/immediateOff(2)
# MasterSwitch Plus: sPDUOutletStatusMSPEntry / sPDUOutletControlMSPEntry, instance switch.1.outlet.
MSP_STATUS_ENTRY = APC + (1, 1, 6, 7, 1, 1)
MSP_CONTROL_ENTRY = APC + (1, 1, 6, 5, 1, 1)
COL_MSP_OUTLET_NAME, COL_MSP_STATE_OR_COMMAND = 4, 5
MSP_SWITCH = 1
MSP_ON, MSP_OFF, MSP_REBOOT = 1, 3, 5

COL_INDEX, COL_NAME, COL_RPDU_COMMAND_OR_STATE = 1, 2, 4
COL_SPDU_CTL, COL_SPDU_NAME = 3, 4

ON, OFF, REBOOT = 1, 2, 3
SPDU_NAME_MAX = 20  # sPDUOutletCtlName is DisplayString (SIZE(0..20))
SLOW_POLL_S = 0.02
REAP_LIMIT_S = 5.0

_thread_lock = threading.Lock()  # flock is per open file; this keeps our own threads in line too


# ---------------------------------------------------------------- state file

class LockedState:
    """with LockedState(path) as st: ... -- read under the lock, written back atomically on success."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        _thread_lock.acquire()
        self.lock_fd = os.open(self.path + '.lock', os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        with open(self.path) as f:
            self.original = f.read()
        self.state = json.loads(self.original)
        return self.state

    def __exit__(self, exc_type, exc, tb):
        try:
            # Most requests are reads: rewrite the file only when something changed.
            if exc_type is None and json.dumps(self.state, indent=1) != self.original:
                write_state(self.path, self.state)
        finally:
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
            os.close(self.lock_fd)
            _thread_lock.release()
        return False


def write_state(path, state):
    tmp = '%s.tmp.%d.%d' % (path, os.getpid(), threading.get_ident())
    with open(tmp, 'w') as f:
        f.write(json.dumps(state, indent=1))
    os.replace(tmp, path)


# ---------------------------------------------------------------- outlet processes

_children = {}  # pid -> Popen, for processes this emulator started (so it can reap them itself)


def proc_start_time(pid):
    """Field 22 of /proc/PID/stat, and the state letter; None if the process is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    rest = stat[stat.rindex(')') + 2:].split()
    return rest[0], int(rest[19])


def process_alive(pid, start_time):
    info = proc_start_time(pid)
    return info is not None and info[0] != 'Z' and info[1] == start_time


def start_outlet_process(outlet):
    n = outlet['index']
    # argv[0] names the outlet in ps; sleep is a real, cheap process that only a kill ends.
    p = subprocess.Popen(['fencekit-outlet-%d' % n, 'infinity'], executable='/bin/sleep',
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         close_fds=True, start_new_session=True)
    _children[p.pid] = p
    info = proc_start_time(p.pid)
    outlet['pid'] = p.pid
    outlet['pidStartTime'] = info[1] if info else None


def stop_outlet_process(outlet):
    pid, start = outlet.get('pid'), outlet.get('pidStartTime')
    outlet['pid'] = None
    outlet['pidStartTime'] = None
    if not pid or not process_alive(pid, start):
        _children.pop(pid, None)
        return
    try:
        os.killpg(pid, signal.SIGKILL)  # its own session and group: takes any descendants too
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, signal.SIGKILL)
    child = _children.pop(pid, None)
    if child is not None:
        child.wait()
        return
    # Not our child (started by a one-shot command or an earlier emulator): wait until it is gone or a
    # zombie waiting for its parent; either way it no longer runs.
    limit = time.monotonic() + REAP_LIMIT_S
    while time.monotonic() < limit:
        info = proc_start_time(pid)
        if info is None or info[0] == 'Z' or info[1] != start:
            return
        time.sleep(0.005)
    raise RuntimeError('outlet %d process %d did not die' % (outlet['index'], pid))


def apply_power(outlet, command):
    """Make the outlet's process match the command, synchronously."""
    hook = outlet.get('hook')
    if hook:
        # The outlet feeds something else (a lab node's power supply): tell it, and wait until it acted.
        if command in (OFF, REBOOT):
            subprocess.run(hook + ['0'], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=10)
            outlet['on'] = False
        if command in (ON, REBOOT):
            subprocess.run(hook + ['1'], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=10)
            outlet['on'] = True
        return
    if command in (OFF, REBOOT):
        stop_outlet_process(outlet)
        outlet['on'] = False
    if command in (ON, REBOOT):
        if not (outlet.get('pid') and process_alive(outlet['pid'], outlet.get('pidStartTime'))):
            start_outlet_process(outlet)
        outlet['on'] = True


def apply_due_changes(state, now):
    changed = False
    for outlet in state['outlets']:
        pending = outlet.get('pending')
        if pending and pending['due'] <= now:
            outlet['pending'] = None
            apply_power(outlet, pending['command'])
            changed = True
    return changed


# ---------------------------------------------------------------- the MIB view

def column_value(outlet, on, off):
    """An outlet's value in a state column whose on and off are `on` and `off`, unless a fault sets what it reads."""
    fault = outlet.get('fault') or {}
    if fault.get('kind') == 'unknown-value':
        return int(fault['value'])
    return on if outlet['on'] else off


def reported_state(outlet):
    return column_value(outlet, ON, OFF)


def rpdu2_state(outlet):
    return column_value(outlet, RPDU2_ON, RPDU2_OFF)


def msp_command_value(outlet):
    return column_value(outlet, MSP_ON, MSP_OFF)


def mib_view(state):
    """Every served OID -> (type, value), built from the state. Small (7 columns x outlets), so rebuilt per request."""
    outlets = state['outlets']
    tables = state.get('tables') or []
    view = {
        RPDU_IDENT_NUM_OUTLETS: ('integer', len(outlets)),
        SPDU_CONTROL_TABLE_SIZE: ('integer', len(outlets)),
    }
    for o in outlets:
        n = o['index']
        if 'rpdu2' in tables:
            for entry in (RPDU2_STATUS_ENTRY, RPDU2_CONTROL_ENTRY):
                view[entry + (COL_INDEX, n)] = ('integer', n)
                view[entry + (2, n)] = ('integer', 1)
                view[entry + (COL_RPDU2_NAME, n)] = ('string', o['name'])
                view[entry + (COL_RPDU2_NUMBER, n)] = ('integer', n)
            view[RPDU2_STATUS_ENTRY + (COL_RPDU2_STATE_OR_COMMAND, n)] = ('integer', rpdu2_state(o))
            view[RPDU2_CONTROL_ENTRY + (COL_RPDU2_STATE_OR_COMMAND, n)] = ('integer', reported_state(o))
        if 'msp' in tables:
            inst = (MSP_SWITCH, 1, n)
            view[MSP_STATUS_ENTRY + (COL_INDEX,) + inst] = ('integer', MSP_SWITCH)
            view[MSP_STATUS_ENTRY + (COL_MSP_OUTLET_NAME,) + inst] = ('string', o['name'])
            view[MSP_STATUS_ENTRY + (COL_MSP_STATE_OR_COMMAND,) + inst] = ('integer', reported_state(o))
            view[MSP_CONTROL_ENTRY + (COL_MSP_OUTLET_NAME,) + inst] = ('string', o['name'])
            view[MSP_CONTROL_ENTRY + (COL_MSP_STATE_OR_COMMAND,) + inst] = ('integer', msp_command_value(o))
        for entry in (RPDU_CONTROL_ENTRY, RPDU_STATUS_ENTRY):
            view[entry + (COL_INDEX, n)] = ('integer', n)
            view[entry + (COL_NAME, n)] = ('string', o['name'])
            view[entry + (COL_RPDU_COMMAND_OR_STATE, n)] = ('integer', reported_state(o))
        view[SPDU_CONTROL_ENTRY + (COL_INDEX, n)] = ('integer', n)
        view[SPDU_CONTROL_ENTRY + (COL_SPDU_CTL, n)] = ('integer', reported_state(o))
        view[SPDU_CONTROL_ENTRY + (COL_SPDU_NAME, n)] = ('string', o['name'])
    return view


def parse_oid(text):
    text = text.strip()
    if text.startswith('.'):
        text = text[1:]
    return tuple(int(p) for p in text.split('.')) if text else ()


def format_oid(oid):
    return '.' + '.'.join(str(p) for p in oid)


def format_value(vtype, value):
    if vtype == 'string':
        # One line per value in this protocol: names never contain newlines here.
        return str(value).replace('\n', ' ')
    return str(value)


def answer_get(state, oid):
    view = mib_view(state)
    if oid in view:
        return view[oid]
    return None


def answer_getnext(state, oid):
    view = mib_view(state)
    keys = sorted(view)  # tuple order is SNMP's lexicographic OID order
    i = bisect.bisect_right(keys, oid)
    if i < len(keys):
        return keys[i], view[keys[i]]
    return None


def parse_set_value(text):
    """snmpd sends 'integer 2', 'string "x"', 'octet "x"', ... -> (type, raw value text)."""
    text = text.rstrip('\n')
    vtype, _, raw = text.partition(' ')
    if vtype in ('string', 'octet') and len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
        raw = raw[1:-1]
    return vtype, raw


def find_outlet(state, n):
    for o in state['outlets']:
        if o['index'] == n:
            return o
    return None


def handle_set(state, oid, vtype, raw):
    """Returns the pass_persist reply: DONE or an error keyword snmpd turns into the SNMP error status."""
    tables = state.get('tables') or []
    table = None
    for entry in (RPDU_CONTROL_ENTRY, RPDU_STATUS_ENTRY, SPDU_CONTROL_ENTRY, RPDU2_CONTROL_ENTRY, RPDU2_STATUS_ENTRY):
        if entry in (RPDU2_CONTROL_ENTRY, RPDU2_STATUS_ENTRY) and 'rpdu2' not in tables:
            continue
        if oid[:len(entry)] == entry and len(oid) == len(entry) + 2:
            table = entry
            break
    if table is None and 'msp' in tables:
        for entry in (MSP_CONTROL_ENTRY, MSP_STATUS_ENTRY):
            if oid[:len(entry)] == entry and len(oid) == len(entry) + 4 and oid[-3:-1] == (MSP_SWITCH, 1):
                table = entry
                break
    if table is None:
        return 'not-writable'
    column, n = oid[len(table)], oid[-1]
    outlet = find_outlet(state, n)
    if outlet is None:
        return 'no-creation'

    if table == MSP_CONTROL_ENTRY and column == COL_MSP_STATE_OR_COMMAND:
        if vtype != 'integer':
            return 'wrong-type'
        msp = {MSP_ON: ON, MSP_OFF: OFF, MSP_REBOOT: REBOOT}
        try:
            value = int(raw)
        except ValueError:
            return 'wrong-type'
        if value not in msp:
            return 'wrong-value'
        return command_outlet(state, outlet, msp[value])
    if table == RPDU2_CONTROL_ENTRY and column == COL_RPDU2_STATE_OR_COMMAND:
        table, column = RPDU_CONTROL_ENTRY, COL_RPDU_COMMAND_OR_STATE  # same command numbering as rPDU

    if table == SPDU_CONTROL_ENTRY and column == COL_SPDU_NAME:
        if vtype not in ('string', 'octet'):
            return 'wrong-type'
        if len(raw) > SPDU_NAME_MAX:
            return 'wrong-length'
        outlet['name'] = raw
        return 'DONE'

    is_command = (table == RPDU_CONTROL_ENTRY and column == COL_RPDU_COMMAND_OR_STATE) or \
                 (table == SPDU_CONTROL_ENTRY and column == COL_SPDU_CTL)
    if not is_command:
        return 'not-writable'
    if vtype != 'integer':
        return 'wrong-type'
    try:
        command = int(raw)
    except ValueError:
        return 'wrong-type'
    if command not in (ON, OFF, REBOOT):
        return 'wrong-value'
    return command_outlet(state, outlet, command)


def command_outlet(state, outlet, command):
    """A power command from any management path, with the outlet's fault applied."""
    fault = outlet.get('fault') or {}
    kind = fault.get('kind')
    state['setCount'] = state.get('setCount', 0) + 1
    if kind == 'refuse':
        return 'commit-failed'
    if kind == 'lying':
        return 'DONE'
    if kind == 'slow':
        outlet['pending'] = {'command': command, 'due': time.time() + float(fault['seconds'])}
        return 'DONE'
    apply_power(outlet, command)
    return 'DONE'


# ---------------------------------------------------------------- pass_persist loop

def serve(path):
    with LockedState(path) as state:
        state['emulatorPid'] = os.getpid()
    stop = threading.Event()

    def apply_slow_changes():
        while not stop.wait(SLOW_POLL_S):
            try:
                with open(path) as f:
                    snapshot = json.load(f)
                if not any(o.get('pending') for o in snapshot['outlets']):
                    continue
                with LockedState(path) as state:
                    apply_due_changes(state, time.time())
            except Exception as e:  # keep serving; the harness reads stderr
                print('powernet-emulator: slow change failed: %r' % (e,), file=sys.stderr, flush=True)

    threading.Thread(target=apply_slow_changes, daemon=True).start()

    out = sys.stdout
    while True:
        line = sys.stdin.readline()
        if not line:
            break  # snmpd went away
        command = line.strip()
        if command == 'PING':
            out.write('PONG\n')
        elif command in ('get', 'getnext'):
            oid = parse_oid(sys.stdin.readline())
            with LockedState(path) as state:
                apply_due_changes(state, time.time())
                found = answer_get(state, oid) if command == 'get' else answer_getnext(state, oid)
            if found is None:
                out.write('NONE\n')
            elif command == 'get':
                out.write('%s\n%s\n%s\n' % (format_oid(oid), found[0], format_value(*found)))
            else:
                next_oid, (vtype, value) = found
                out.write('%s\n%s\n%s\n' % (format_oid(next_oid), vtype, format_value(vtype, value)))
        elif command == 'set':
            oid = parse_oid(sys.stdin.readline())
            vtype, raw = parse_set_value(sys.stdin.readline())
            try:
                with LockedState(path) as state:
                    apply_due_changes(state, time.time())
                    reply = handle_set(state, oid, vtype, raw)
            except Exception as e:
                print('powernet-emulator: set failed: %r' % (e,), file=sys.stderr, flush=True)
                reply = 'gen-error'
            out.write(reply + '\n')
        elif command == '':
            continue
        else:
            out.write('NONE\n')
        out.flush()
    stop.set()


# ---------------------------------------------------------------- one-shot commands for the harness

def cmd_init(path, spec):
    count = int(spec.get('outlets', 8))
    names = spec.get('names') or []
    initially_on = spec.get('initiallyOn', True)
    hooks = spec.get('hooks') or []
    outlets = []
    for i in range(1, count + 1):
        on = initially_on[i - 1] if isinstance(initially_on, list) else bool(initially_on)
        outlets.append({'index': i, 'name': names[i - 1] if i - 1 < len(names) else 'Outlet %d' % i,
                        'on': False, 'pid': None, 'pidStartTime': None, 'fault': None, 'pending': None,
                        'wantOn': bool(on), 'hook': hooks[i - 1] if i - 1 < len(hooks) else None})
    write_state(path, {'version': 1, 'outlets': outlets, 'emulatorPid': None, 'setCount': 0,
                       'tables': list(spec.get('tables') or [])})
    with LockedState(path) as state:
        for o in state['outlets']:
            if o.pop('wantOn'):
                apply_power(o, ON)


def outlet_named_by_harness(state, n):
    """The outlet a one-shot harness command names; the command fails when there is none (it asked for what is not there)."""
    outlet = find_outlet(state, n)
    if outlet is None:
        raise SystemExit('no outlet %d' % n)
    return outlet


def cmd_power(path, n, on):
    with LockedState(path) as state:
        outlet = outlet_named_by_harness(state, n)
        outlet['pending'] = None
        apply_power(outlet, ON if on else OFF)


def cmd_fault(path, n, fault):
    with LockedState(path) as state:
        outlet_named_by_harness(state, n)['fault'] = fault


def cmd_command(path, n, word):
    command = {'on': ON, 'off': OFF, 'reboot': REBOOT}[word]
    with LockedState(path) as state:
        apply_due_changes(state, time.time())
        outlet = find_outlet(state, n)
        reply = 'no-such-outlet' if outlet is None else command_outlet(state, outlet, command)
    print(reply)


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    path = argv[1]
    if len(argv) == 2:
        serve(path)
        return
    command = argv[2]
    if command == 'init':
        cmd_init(path, json.loads(argv[3]))
    elif command == 'power':
        cmd_power(path, int(argv[3]), argv[4] == 'on')
    elif command == 'fault':
        cmd_fault(path, int(argv[3]), json.loads(argv[4]))
    elif command == 'command':
        cmd_command(path, int(argv[3]), argv[4])
    else:
        raise SystemExit('unknown command %r' % command)


if __name__ == '__main__':
    main(sys.argv)
