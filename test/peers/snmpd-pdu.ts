// The PDU simulator is part of the product's lab (lab/); tests reach it through here too.
export * from '../../lab/snmpd-pdu.js';
