"""Stage 3, analysis: shapes, findings and fixes on the traced graph.

`propagate` gives every node its shape on meta tensors, `intent` decides which side of a
failed add the later layers want, `diagnose` turns residual adds and failures into
findings, and `fix` proposes the projection (or resize) and proves it by propagating
the patched graph again.
"""
