"""A network's weight space: output-space metrics, functionally invariant paths, hidden-unit permutations."""
