import pytest

import harness
from harness import HarnessError, Variant, make_config, register_variant
from harness.parts import LOSSES, LossPair
from harness.spec import parse_set
from harness.trainer import resolve_run, train
from harness.variant import get_variant, variant_names


def test_reference_variants_and_their_defaults():
    assert {"vanilla", "wgan", "wgan-gp", "sngan"} <= set(variant_names())
    cfg = resolve_run("wgan", "ring8", 0).config
    assert (cfg.loss, cfg.constraint, cfg.clip_value, cfg.optimizer, cfg.lr_d, cfg.n_dis) == \
        ("wasserstein", "clip", 0.01, "rmsprop", 5e-5, 5)
    cfg = resolve_run("wgan-gp", "ring8", 0).config
    assert (cfg.penalty, cfg.penalty_weight, cfg.lr_g, cfg.beta1, cfg.beta2, cfg.n_dis) == ("gp", 10.0, 1e-4, 0.5, 0.9, 5)
    cfg = resolve_run("sngan", "ring8", 0).config
    assert (cfg.loss, cfg.constraint, cfg.beta1, cfg.beta2) == ("hinge", "spectral_norm", 0.0, 0.9)
    cfg = resolve_run("vanilla", "ring8", 0).config
    assert (cfg.loss, cfg.lr_d, cfg.beta1, cfg.beta2, cfg.n_dis) == ("nonsaturating", 2e-4, 0.5, 0.999, 1)


def test_every_default_is_overridable_and_overrides_win():
    cfg = resolve_run("vanilla", "ring8", 0, {"loss": "saturating", "lr_d": "1e-3"}).config
    assert cfg.loss == "saturating" and cfg.lr_d == 1e-3
    assert resolve_run("sngan", "ring8", 0, {"loss": "nonsaturating"}).config.loss == "nonsaturating"


@pytest.mark.parametrize("items, message", [
    (["lrd=1"], "unknown --set key 'lrd' (did you mean 'lr_d'?)"),
    (["steps=-5"], "steps=-5: must be > 0"),
    (["lr_d=0"], "lr_d=0.0: must be > 0"),
    (["steps=abc"], "steps='abc': expected int"),
    (["steps=1.5"], "steps='1.5': expected int"),
    (["beta1=1"], "beta1=1.0: must be in [0, 1)"),
    (["noequals"], "expected name=value"),
])
def test_bad_overrides_name_the_key(items, message):
    with pytest.raises(HarnessError) as err:
        make_config(parse_set(items))
    assert message in str(err.value)


def test_bad_choice_lists_the_known_values():
    """Choice fields name registry entries; they are checked when a run is resolved, after plugins
    registered theirs (a Config alone is checked for types and ranges only)."""
    from harness.resolve import resolve_run

    with pytest.raises(HarnessError, match="did you mean 'hinge'.*known: hinge, .*nonsaturating"):
        resolve_run("vanilla", "ring8", 0, {"loss": "hing"})
    with pytest.raises(HarnessError, match="unknown value for update 'simultanous'"):
        resolve_run("vanilla", "ring8", 0, {"update": "simultanous"})


def test_the_harness_has_no_import_circles():
    """No module of harness/ (or baselines/) is imported by a module it imports, counting every
    import statement, also those inside functions; `import harness` does not import baselines."""
    import ast
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    mods = {}
    for pkg in ("harness", "baselines"):
        for p in (root / pkg).rglob("*.py"):
            parts = list(p.relative_to(root).with_suffix("").parts)
            mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    edges = {m: set() for m in mods}
    for m, p in mods.items():
        here = m.split(".") if p.name == "__init__.py" else m.split(".")[:-1]
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = ".".join((here[:len(here) - node.level + 1] if node.level else []) + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            edges[m] |= {t for t in targets if t in mods and t != m}

    def reaches(a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            x = todo.pop()
            if x == b:
                return True
            if x not in seen:
                seen.add(x)
                todo.extend(edges[x])
        return False

    circles = sorted((a, b) for a in edges for b in edges[a] if reaches(b, a))
    assert circles == []
    out = subprocess.run([sys.executable, "-c", "import sys, harness; harness.variant; print('baselines' in sys.modules)"],
                         capture_output=True, text=True, cwd=root)
    assert out.stdout.strip() == "False", out.stderr


def test_unknown_names_fail_with_known_ones():
    with pytest.raises(HarnessError, match="unknown variant 'wgan-gq' \\(did you mean 'wgan-gp'\\?\\); known:"):
        resolve_run("wgan-gq", "ring8", 0)
    assert resolve_run("wgangp", "ring8", 0).variant == "wgan-gp"  # case, '-', '_' and spaces are ignored
    with pytest.raises(HarnessError, match="unknown data set 'ring9'"):
        resolve_run("wgan", "ring9", 0)
    with pytest.raises(HarnessError, match="seed"):
        resolve_run("wgan", "ring8", -1)
    with pytest.raises(HarnessError, match="CUDA is not available|unsupported device|unknown device"):
        resolve_run("wgan", "ring8", 0, device="tpu")


def test_a_variant_with_a_misspelt_default_is_rejected():
    with pytest.raises(HarnessError, match="disc_iters"):
        Variant(name="typo", defaults={"disc_iters": 5})


def test_a_users_own_variant_registers_with_one_call_and_trains(tmp_path, tiny):
    # least-squares GAN (Mao et al. 2017) from a user-defined loss pair
    LOSSES.register("test-least-squares", LossPair(
        d=lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean(),
        g=lambda f: 0.5 * ((f - 1) ** 2).mean()), replace=True)
    register_variant(Variant(name="test-lsgan", defaults={"loss": "test-least-squares", "lr_g": 1e-4, "lr_d": 1e-4}),
                     replace=True)
    assert "test-lsgan" in variant_names()
    assert get_variant("test-lsgan").defaults["loss"] == "test-least-squares"
    summary = train(resolve_run("test-lsgan", "ring8", 0, tiny), tmp_path)
    assert summary["status"] == "completed"
    assert harness.load_runs(tmp_path).loc[0, "variant"] == "test-lsgan"


def test_fingerprint_ignores_device_but_not_config():
    a = resolve_run("wgan", "ring8", 0)
    b = resolve_run("wgan", "ring8", 0, {"steps": 7})
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == harness.RunSpec.from_dict(a.to_dict()).fingerprint()


def test_a_setting_lies_between_the_variant_and_the_overrides_and_keeps_the_method():
    from harness.settings import SETTING_2D, Setting

    authors = resolve_run("wgan", "ring8", 0).config
    two_d = resolve_run("wgan", "ring8", 0, setting="2d")
    cfg = two_d.config
    assert two_d.setting == "2d" and two_d.to_dict()["setting"] == "2d"
    for key, value in SETTING_2D.items():
        assert getattr(cfg, key) == value, key
    # the method is the variant's: loss, constraint and clip bound untouched
    assert (cfg.loss, cfg.constraint, cfg.clip_value) == (authors.loss, authors.constraint, authors.clip_value)
    assert (authors.optimizer, authors.n_dis) == ("rmsprop", 5)  # the authors' values under the default setting
    # --set and suite overrides beat the setting
    assert resolve_run("wgan", "ring8", 0, {"lr_g": 1e-4}, setting="2d").config.lr_g == 1e-4
    assert resolve_run("wgan", "ring8", 0, suite_overrides={"n_dis": 3}, setting="2d").config.n_dis == 3
    # a stored spec reads back with its setting; specs that predate settings were the authors'
    from harness.spec import RunSpec

    assert RunSpec.from_dict(two_d.to_dict()).setting == "2d"
    assert RunSpec.from_dict({k: v for k, v in two_d.to_dict().items() if k != "setting"}).setting == "authors"
    with pytest.raises(HarnessError, match="may not set 'loss': it is part of a variant's method"):
        Setting(name="bad", description="", overrides={"loss": "hinge"})
    with pytest.raises(HarnessError, match="unknown config key 'lr_gg'"):
        Setting(name="bad", description="", overrides={"lr_gg": 1e-3})
    with pytest.raises(HarnessError, match="unknown setting '2-d'"):
        resolve_run("wgan", "ring8", 0, setting="2-d")


def test_the_zoo_variants_are_their_papers_methods_and_train_on_ring8():
    """Issue 19: LSGAN, GAN + R1, DRAGAN and the unrolled GAN as reference variants, each the parts
    its paper names with its reference code's values; each trains (a tiny budget) on ring8."""
    from harness.trainer import resolve_run, train

    want = {"lsgan": dict(loss="least_squares", penalty="none", optimizer="adam", lr_d=2e-4, beta1=0.5),
            "gan-r1": dict(loss="nonsaturating", penalty="r1", penalty_weight=10.0, optimizer="rmsprop", lr_d=1e-4),
            "dragan": dict(loss="nonsaturating", penalty="dragan", penalty_weight=10.0, lr_d=1e-4, beta2=0.9),
            "unrolled": dict(loss="nonsaturating", update="unrolled", unrolled_steps=5, lr_g=1e-3, lr_d=1e-4)}
    tiny = {"steps": 6, "batch_size": 32, "eval_every": 0, "n_eval": 300, "n_w1": 100, "g_hidden": 16,
            "d_hidden": 16, "noise_banks": 0, "log_every": 3}
    for name, values in want.items():
        spec = resolve_run(name, "ring8", 0, tiny, setting="authors")
        assert {k: getattr(spec.config, k) for k in values} == values, name
        assert train(spec)["status"] == "completed", name


def test_the_zoo_variants_train_on_ring8_in_their_tuned_setting():
    """Issue 19: each new variant trains on ring8 under the committed setting its tuning study wrote
    (tuned-2d-zoo: the same protocol, N and budget as tuned-2d), with its method kept."""
    from harness.settings import get_setting
    from harness.trainer import resolve_run, train

    setting = get_setting("tuned-2d-zoo")
    tiny = {"steps": 6, "batch_size": 32, "eval_every": 0, "n_eval": 300, "n_w1": 100, "g_hidden": 16,
            "d_hidden": 16, "noise_banks": 0, "log_every": 3}
    for name, method in (("lsgan", {"loss": "least_squares"}), ("gan-r1", {"penalty": "r1"}),
                         ("dragan", {"penalty": "dragan"}), ("unrolled", {"update": "unrolled"})):
        spec = resolve_run(name, "ring8", 0, tiny, setting="tuned-2d-zoo")
        assert spec.setting == setting.name and {k: getattr(spec.config, k) for k in method} == method
        for key, value in setting.values_for(name, "ring8").items():
            assert getattr(spec.config, key) == value, (name, key)
        assert train(spec)["status"] == "completed", name
