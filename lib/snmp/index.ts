// The SNMP client for agents: import from here, not from the files behind it. Importing this module does
// not load net-snmp; SnmpClient.open() does.
export {
  SnmpClient,
  DEFAULT_PER_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRIES,
  type SnmpAuth,
  type SnmpAuthProtocol,
  type SnmpPrivProtocol,
  type SnmpSecurityLevel,
  type SnmpTarget,
  type SnmpOpenOptions,
  type SnmpCallOptions,
} from './client.js';
export { SnmpNoSuchObjectError, ErrorStatus, errorStatusName } from './failures.js';
export { normalizeOid, compareOids, oidIsWithin, oidSuffix } from './oid.js';
export {
  describeValue,
  isNumericType,
  isSnmpException,
  type SnmpValue,
  type SnmpValueType,
  type SnmpSetVarbind,
} from './values.js';
