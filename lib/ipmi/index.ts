// Public surface of the native IPMI client. Agents import from here (or from ./ipmitool.js for the
// ipmitool-backed alternative); codec, crypto, framing and session internals stay private to lib/ipmi.
export { IpmiClient, type IpmiTarget, type IpmiOpenOptions, type ChassisPower, type ChassisControl, type DeviceIdentity } from './client.js';
export { IpmiDecodeError, IpmiEncodeError, type PrivilegeName } from './codec.js';
export { CIPHER_SUITES, type CipherSuiteId } from './cipher-suites.js';
export { DEFAULT_RETRANSMIT, type RetransmitPolicy } from './transport.js';
