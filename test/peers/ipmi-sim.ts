// The BMC simulator is part of the product's lab (lib/lab); tests reach it through here too.
export * from '../../lab/ipmi-sim.js';
