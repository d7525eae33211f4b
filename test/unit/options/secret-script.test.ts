// How a password_script setting is run: a plain command by itself, shell syntax through /bin/sh -c (as
// fence-agents' os.popen does). Pure decisions; the integration tier runs both through the agents.
import { describe, expect, it } from 'vitest';
import { isPlainCommand, scriptArgv } from '../../../lib/secrets.js';

describe('scriptArgv', () => {
  it.each([
    ['/usr/local/bin/bmc-pw', ['/usr/local/bin/bmc-pw']],
    ['  /usr/bin/pass show  bmc/node1 ', ['/usr/bin/pass', 'show', 'bmc/node1']],
    ['/opt/vault read --field=password secret/bmc', ['/opt/vault', 'read', '--field=password', 'secret/bmc']],
  ])('runs the plain command %j by itself', (command, argv) => {
    expect(isPlainCommand(command)).toBe(true);
    expect(scriptArgv(command)).toEqual(argv);
  });

  it.each([
    'cat /etc/pw | head -n1',
    'echo "$BMC_PW"',
    '/bin/pw < /etc/pw.in',
    '/bin/pw 2>/dev/null',
    "/bin/pw 'two words'",
    '/bin/pw "two words"',
    '/bin/pw; /bin/other',
    '/bin/pw && true',
    '$(which pw)',
    '`which pw`',
    '~/bin/pw',
    '/bin/pw *',
    'PW_FILE=/etc/pw /bin/pw',
    '/bin/pw\n/bin/other',
    '/bin/pw a\\ b',
  ])('runs %j through /bin/sh -c, whole', (command) => {
    expect(isPlainCommand(command)).toBe(false);
    expect(scriptArgv(command)).toEqual(['/bin/sh', '-c', command]);
  });

  it('an empty or blank setting runs nothing', () => {
    expect(scriptArgv('')).toEqual([]);
    expect(scriptArgv('  \t ')).toEqual([]);
  });
});
