// Placeholder: topic mirroring with an exact offset map arrives with issue 3.
