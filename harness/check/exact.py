"""The exact part of a check: per common seed of a matched pair under one numeric signature,
identical final metrics and history (per-record hashes), else where they first part."""
from __future__ import annotations

import math
from typing import Any, Mapping

from .matching import config_differences
from .result import Exact, _label


def _same_value(a: Any, b: Any) -> bool:
    """a == b, NaN equal to NaN (a stored NaN compared with itself)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _seed_difference(c: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[str, Any, list[str]] | None:
    """None when two seed entries agree bit for bit; else (where, step, keys): where "history"
    (step None when a side has no per-record hashes) or "final"."""
    hc, hb = c.get("history") or {}, b.get("history") or {}
    dc, db = hc.get("digest") or {}, hb.get("digest") or {}
    keys = sorted(k for k in set(dc) | set(db) if dc.get(k) != db.get(k))
    rc, rb = hc.get("record_hashes"), hb.get("record_hashes")
    if isinstance(rc, list) and isinstance(rb, list):
        sc, sb = hc.get("record_steps") or [], hb.get("record_steps") or []
        for i in range(max(len(rc), len(rb))):
            if i < len(rc) and i < len(rb) and rc[i] == rb[i]:
                continue
            if i < len(sc) and i < len(sb) and sc[i] != sb[i]:
                step: Any = f"{sc[i]} vs {sb[i]}"
            else:
                step = sc[i] if i < len(sc) else sb[i] if i < len(sb) else None
            if i >= len(rc) or i >= len(rb):
                keys = keys or [f"(the {'candidate' if i >= len(rc) else 'baseline'}'s history ends)"]
            return "history", step, keys or ["step"]
    if keys or hc.get("records") != hb.get("records"):
        return "history", None, keys or ["records"]
    cm, bm = c.get("metrics") or {}, b.get("metrics") or {}
    final = sorted(k for k in set(cm) | set(bm) if not _same_value(cm.get(k), bm.get(k)))
    final += [k for k in ("status", "g_steps", "d_steps") if c.get(k) != b.get(k)]
    if final:
        return "final", None, final
    return None


def exact_check(cand_group: Mapping[str, Any], base_group: Mapping[str, Any], label: str | None = None) -> Exact:
    """Bit-for-bit comparison of the seeds two matched groups share (see harness.check's docstring)."""
    label = label or _label(cand_group)
    base_label = _label(base_group)

    def na(why: str) -> Exact:
        return Exact(label, base_label, "not applicable", f"exact: not applicable ({why})")

    if cand_group["variant"] != base_group["variant"]:
        return na(f"variants {cand_group['variant']} vs {base_group['variant']}")
    diff_cfg = config_differences(cand_group, base_group)
    if diff_cfg:
        return na("configs differ: " + ", ".join(d.split(":")[0] for d in diff_cfg))
    base_seeds = {s.get("seed"): s for s in base_group["seeds"]}
    common = [s for s in sorted(cand_group["seeds"], key=lambda s: s.get("seed")) if s.get("seed") in base_seeds]
    if not common:
        return na("no common seeds")
    compared, skipped = [], []
    for s in common:
        sc, sb = s.get("signature_id"), base_seeds[s["seed"]].get("signature_id")
        (compared if sc is not None and sc == sb else skipped).append((s, sc, sb))
    if not compared:
        _, sc, sb = skipped[0]
        if sc is None or sb is None:
            side = " and ".join(r for r, v in (("candidate", sc), ("baseline", sb)) if v is None)
            return na(f"no numeric signature recorded for the {side}")
        return na(f"signatures {sc} vs {sb}")
    for s, _, _ in compared:
        found = _seed_difference(s, base_seeds[s["seed"]])
        if found is None:
            continue
        where, step, keys = found
        if where == "final":
            text = f"exact: differs at seed {s['seed']}, final values: {', '.join(keys)} (histories identical)"
        elif step is None:
            text = (f"exact: differs at seed {s['seed']}, step unknown (no per-record history hashes), keys "
                    f"{', '.join(keys)}")
        else:
            text = f"exact: differs at seed {s['seed']}, step {step}, keys {', '.join(keys)}"
        return Exact(label, base_label, "differs", text, tuple(x[0]["seed"] for x in compared), s["seed"], step,
                     tuple(keys))
    text = f"exact: match ({len(compared)} seed{'s' if len(compared) != 1 else ''})"
    if skipped:
        text += (f"; seed{'s' if len(skipped) != 1 else ''} {', '.join(str(x[0]['seed']) for x in skipped)} not "
                 f"compared (signatures {skipped[0][1]} vs {skipped[0][2]})")
    return Exact(label, base_label, "match", text, tuple(x[0]["seed"] for x in compared))
