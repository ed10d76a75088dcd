"""The text of a `--confirm` run: counts, then each disagreement and notable event."""

from __future__ import annotations

from shapecheck.report import Confirmation, format_shapes


def confirmation_lines(conf: Confirmation) -> list[str]:
    """Readable lines for the text report: the counts, then each notable event.

    Example:
        >>> c = Confirmation("cpu (2 threads)", 10, 10, 1, 1, 1, 0.25, 300 * 2**20)
        >>> print(confirmation_lines(c)[0].replace(": ", ":\\n"))
        confirmed on cpu (2 threads) in 0.25 s, peak 300 MiB:
        10/10 nodes agree, 1/1 predicted errors confirmed, 1 fix confirmed
    """
    peak = f", peak {conf.peak_memory_bytes / 2**20:.0f} MiB" if conf.peak_memory_bytes else ""
    fixes = f"{conf.fixes_confirmed} fix{'es' if conf.fixes_confirmed != 1 else ''} confirmed"
    lines = [f"confirmed on {conf.device} in {conf.seconds:.2f} s{peak}: "
             f"{conf.nodes_agree}/{conf.nodes_compared} nodes agree, "
             f"{conf.errors_confirmed}/{conf.predicted_errors} predicted errors confirmed, "
             f"{fixes}"]
    for d in conf.disagreements:
        real = format_shapes(d["real"]) if d.get("real") is not None else d.get("error")
        lines.append(f"  disagreement at {d['node']} ({d['module'] or '<top>'}): "
                     f"predicted {format_shapes(d['static'])}, real {real}")
    for e in conf.events:
        if e["event"] in _NOTABLE:
            detail = e.get("message") or e.get("reason") or e.get("how", "")
            lines.append(f"  {e['event'].replace('_', ' ')}: {e.get('node')} "
                         f"({e.get('module') or '<top>'}, {e.get('location')}): {detail}")
        elif e["event"] == "not_compared":
            lines.append(f"  not compared: {e['count']} node(s) that no run reached, "
                         f"from {e['nodes'][0]}")
    if conf.error:
        lines.append(f"  error: {conf.error}")
    return lines


_NOTABLE = ("error_confirmed", "error_not_confirmed", "fix_not_confirmed", "chain_stopped",
            "unexpected_failure")
