// fencekit's BMC simulator (lab/bmc) for the tests: cipher suites 3 and 17, Get Channel Cipher Suites, a session
// limit, an idle timeout, quirks. Proven by ipmitool and FreeIPMI in test/integration/bmc-sim.test.ts.
export * from '../../lab/bmc/simulator.js';
