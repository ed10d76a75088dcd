"""Layer knowledge shared by every stage: one table of layer families (`families`: per
family its input width, output width, rebuild at another width, shortcut role, label and
MACs, from `widths`, `rebuild`, `layer_text` and `macs`), shape formulas (`shape_rules`),
what a layer expects of its input (`layers`), where channels sit (`layout`), parameter and
MAC counts (`counts`) and meta-device helpers (`meta`). Nothing here knows about graphs of
whole models, so every stage may import it.
"""
