#!/usr/bin/python3
# A second, independent BMC for the tests: Debian's python3-pyghmi server (pyghmi.ipmi.bmc.Bmc, what
# virtualbmc builds on) on 127.0.0.1, whose chassis powers a real process. pyghmi itself is used as shipped;
# this file only gives it a chassis and writes what the BMC saw to events.log, so a test counts RAKP
# exchanges and Close Sessions at the peer instead of believing the client.
#
# usage: pyghmi-bmc.py DIR PORT   (DIR holds users.json; host.pid and events.log are written there)
# SIGUSR1 powers the host on, SIGUSR2 off (what a person at the machine would do), both synchronously.
import json
import os
import signal
import subprocess
import sys
import time

import pyghmi.ipmi.bmc as bmc
import pyghmi.ipmi.private.serversession as serversession

DIR = sys.argv[1]
PORT = int(sys.argv[2])
EVENTS = os.path.join(DIR, 'events.log')
PIDFILE = os.path.join(DIR, 'host.pid')


def event(*words):
    with open(EVENTS, 'a') as f:
        f.write(' '.join(str(w) for w in words) + '\n')


class Host:
    """The powered machine: a real process, started detached and killed (and reaped) for off."""

    def __init__(self):
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def on(self):
        if self.alive():
            return
        self.proc = subprocess.Popen(['sleep', '2147483647'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        with open(PIDFILE, 'w') as f:
            f.write(str(self.proc.pid))

    def off(self):
        # The answer to Chassis Control leaves only once the process is gone: a BMC reports a new state only
        # once its effect has happened.
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with open(PIDFILE, 'w') as f:
            f.write('')


HOST = Host()


class ChassisBmc(bmc.Bmc):
    def get_power_state(self):
        return 'on' if HOST.alive() else 'off'

    def power_off(self):
        event('control off')
        HOST.off()

    def power_on(self):
        event('control on')
        HOST.on()

    def power_cycle(self):
        event('control cycle')
        if HOST.alive():
            HOST.off()
            HOST.on()

    def power_reset(self):
        event('control reset')
        if HOST.alive():
            HOST.off()
            HOST.on()

    def power_shutdown(self):
        event('control soft')
        HOST.off()

    def pulse_diag(self):
        event('control diag')

    def is_active(self):
        return HOST.alive()

    def cold_reset(self):
        return 0xc1


# Count what the BMC saw, around pyghmi's own handlers.
_rakp1 = serversession.ServerSession._got_rakp1
_rakp3 = serversession.ServerSession._got_rakp3
_request = serversession.ServerSession.handle_client_request
_ciphers = serversession.IpmiServer.send_cipher_suites
_open = serversession.ServerSession.create_open_session_response


def got_rakp1(self, data):
    event('rakp1', bytes(data[28:]).decode('utf-8', 'replace'))
    return _rakp1(self, data)


def got_rakp3(self, data):
    event('rakp3')
    return _rakp3(self, data)


def handle_client_request(self, request):
    if request['netfn'] == 6 and request['command'] == 0x3c:
        event('close-session')
    return _request(self, request)


def send_cipher_suites(self, *args):
    event('get-cipher-suites')
    return _ciphers(self, *args)


def open_session(self, request):
    event('open-session')
    return _open(self, request)


serversession.ServerSession._got_rakp1 = got_rakp1
serversession.ServerSession._got_rakp3 = got_rakp3
serversession.ServerSession.handle_client_request = handle_client_request
serversession.IpmiServer.send_cipher_suites = send_cipher_suites
serversession.ServerSession.create_open_session_response = open_session


def main():
    with open(os.path.join(DIR, 'users.json')) as f:
        users = json.load(f)
    if os.environ.get('HOST_ON', '1') == '1':
        HOST.on()
    else:
        open(PIDFILE, 'w').close()
    signal.signal(signal.SIGUSR1, lambda *_: HOST.on())
    signal.signal(signal.SIGUSR2, lambda *_: HOST.off())

    def stop(*_):
        HOST.off()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    server = ChassisBmc(users, port=PORT, address='127.0.0.1')
    event('listening', PORT)
    server.listen(timeout=1)


if __name__ == '__main__':
    main()
