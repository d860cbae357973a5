"""Deep LDA on diagonal linear networks (docs/deep_lda.md): data, flows, simulations, evidence."""
