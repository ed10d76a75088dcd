"""Stage 2, graph: the model as a torch.fx graph and its residual structure.

`trace` runs torch.fx (`record` is the fallback that records a concrete run), `source`
maps nodes to the user's lines and module paths, `vocabulary` names what a node is
(an add, its operands, its module), and `residual` finds every residual add and its
two branches from the graph's structure alone, before any shape is known.
"""
