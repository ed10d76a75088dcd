"""Layer knowledge shared by every stage: shape formulas (`shape_rules`), what a layer
expects of its input (`layers`), where channels sit (`layout`), parameter and MAC
counts (`counts`) and meta-device helpers (`meta`). Nothing here knows about graphs of
whole models, so every stage may import it.
"""
