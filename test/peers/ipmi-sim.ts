// The BMC simulator is part of the product's lab (lib/lab); tests reach it through here too.
export * from '../../lib/lab/ipmi-sim.js';
