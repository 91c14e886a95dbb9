"""A network's weight space.

Output-space metrics, functionally invariant paths, hidden-unit permutations.
"""
