// The PDU simulator is part of the product's lab (lib/lab); tests reach it through here too.
export * from '../../lib/lab/snmpd-pdu.js';
