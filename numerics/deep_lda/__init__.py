"""Deep LDA on diagonal linear networks (SPEC Part A): data, flows, simulations, evidence."""
