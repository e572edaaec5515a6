"""Seed-vectorised training: the K seeds of one (variant, data set, config) as one batched model.

``vectorize = true`` (``gan-harness run --vectorize``) is an execution option: it changes how the
runs are carried out, never the numbers they are meant to produce, so it is kept out of the config
record and the fingerprint (harness.spec). Each member k is built exactly as the separate run of its
seed is (`trainer.setup`: its own data set, evaluator, named random streams and initial networks),
then the members' MLP parameters are stacked along a leading member axis and trained with batched
matrix products (torch.baddbmm): one forward and one backward for all members per step. Each member
draws its data batches, noise, penalty interpolates and probe points from its own seed's streams,
has its own spectral-norm power-iteration vectors, and writes its own ordinary run directory
(owned under its own lock, as a separate run's is).

Why it equals K separate runs: the members never mix. Every batched op acts member by member
(baddbmm, elementwise activations, a loss per member via torch.func.vmap, per-member penalties and
spectral norms); the backward pass of the *sum* of the members' losses gives each member's
parameters the gradient of its own loss; and Adam, RMSprop and SGD (the harness's optimisers,
foreach, no weight decay) update each element from its own gradient and state only, with a step
count and learning rate that every member shares anyway. The kernels differ from the separate
run's (batched instead of single matrix products), so a member agrees with its separate run to
float tolerance, not bit for bit: over long runs the float32 trajectories part, as they do between
two CPUs; `gan-harness check` is the comparison to use. A member that diverges is finished as
``diverged`` at its first bad step; the others go on (its slices keep being updated, unread).

Supported: arch mlp (vector data); every penalty marked @batched and every constraint that declares a
batched form (harness.parts: a part is written once, for one run and for stacked members; this module
holds no copy of any), optimisers adam, rmsprop and sgd, any registered loss pair (applied per member
by vmap), both update schemes, n_dis, the linear schedule, and resume checkpoints: at a
``checkpoint_every`` step each member's own _Run takes its slices of the stacked networks and
optimisers (`_StackedState.sync_all`, `split_optimizer`) and writes the ordinary resume.pt of
harness.trainer; a group started again restores each member as trainer.train would and stacks them
back (`merge_optimizers`), so a killed group ends bit for bit where the uninterrupted group ends.
Refused with one line before any work: image data sets (arch dcgan), packing and fixed training
sets, and other parts.
"""
from __future__ import annotations

import contextlib
import copy
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from . import runs
from .errors import HarnessError
from .hooks import HOOKS, parse_hooks
from .nets.base import resolve_arch
from .nets.mlp import MLPDiscriminator, MLPGenerator
from .parts import CONSTRAINTS, LOSSES, OPTIMIZERS, PENALTIES
from .probes import layer_name
from .resolve import check_device, make_dataset
from .rng import normal
from .spec import RunSpec
from .trainer import (Diverged, FiniteMonitor, LastStep, _Run, _State, begin, deterministic, finish,
                      resume_state)

Tensor = torch.Tensor

VECTOR_OPTIMIZERS = ("adam", "rmsprop", "sgd")  # elementwise: a stacked parameter = K separate ones


# ----------------------------------------------------------------------------- checks
def batched_names(registry) -> list[str]:
    """The registered parts that run seed-stacked (a penalty marked @batched, a Constraint.batched)."""
    return [n for n in registry.names() if getattr(registry.get(n), "batched", False)]


def group_key(spec: RunSpec) -> str:
    """What the members of one vectorised group share: everything but the seed."""
    d = spec.to_dict()
    d.pop("seed", None)
    d.pop("run_id", None)
    import json

    return json.dumps(d, sort_keys=True, default=str)


def check_specs(specs: Sequence[RunSpec], force: bool = False) -> None:
    """HarnessError (one line) for a vectorised spec (`force`: any spec) this module cannot honour;
    before any work."""
    shapes: dict[tuple[str, str, int], tuple[int, ...]] = {}
    for spec in specs:
        cfg = spec.config
        if not (cfg.vectorize or force):
            continue
        key = (spec.dataset, cfg.data_path, cfg.image_size)
        if key not in shapes:
            shapes[key] = tuple(make_dataset(spec.dataset, cfg).shape)
        arch = resolve_arch(cfg, shapes[key])
        what = None
        if arch != "mlp":
            what = f"arch {arch} (data set {spec.dataset!r}): only the 2-D/vector MLP networks are vectorised"
        elif not getattr(PENALTIES.get(cfg.penalty), "batched", False):
            what = (f"penalty {cfg.penalty!r} is not marked batched (harness.parts.penalties: write it for "
                    f"both shapes and decorate it with @batched; vectorised: {', '.join(batched_names(PENALTIES))})")
        elif not CONSTRAINTS.get(cfg.constraint).batched:
            what = (f"constraint {cfg.constraint!r} declares no batched form (Constraint.batched; vectorised: "
                    f"{', '.join(batched_names(CONSTRAINTS))})")
        elif cfg.optimizer not in VECTOR_OPTIMIZERS:
            what = f"optimizer {cfg.optimizer!r} (vectorised: {', '.join(VECTOR_OPTIMIZERS)})"
        elif getattr(cfg, "pack", 1) != 1 or getattr(cfg, "train_size", 0):
            what = "pack > 1 or train_size > 0 (PacGAN's packing and fixed training sets are not vectorised)"
        else:
            unbatched = [n for n, _ in parse_hooks(cfg.hooks) if not getattr(HOOKS.get(n), "batched", False)]
            if unbatched:
                what = f"hook {unbatched[0]!r} is not marked batched (harness.hooks: Hook.batched)"
        if what is not None:
            raise HarnessError(f"--vectorize cannot run {spec.run_id}: {what}")


# ----------------------------------------------------------------------------- stacked networks
class StackedLinear(nn.Module):
    """K linear layers as one: weight (K, out, in), bias (K, out); x (K, B, in) -> (K, B, out).
    With a constraint that reparametrises the weight (spectral norm), its stacked form
    (`Constraint.stacked_weight`) maps the weight with each member's own state (u (K, out), v (K, in))."""

    def __init__(self, weight: Tensor, bias: Tensor, u: Tensor | None = None, v: Tensor | None = None,
                 eps: float = 1e-12, normalise: Callable[..., Tensor] | None = None):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias)
        self.normalise = normalise if u is not None else None
        self.eps = eps
        if self.normalise is not None:
            self.register_buffer("u", u)
            self.register_buffer("v", v)

    @property
    def sn(self) -> bool:
        return self.normalise is not None

    def effective_weight(self) -> Tensor:
        if self.normalise is None:
            return self.weight
        return self.normalise(self.weight, self.u, self.v, self.training, self.eps)

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.effective_weight().transpose(1, 2))


class StackedMLP(nn.Module):
    """The K members' MLPs (harness.nets.mlp) as one module, built from the members' own modules."""

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        first = members[0]
        if not isinstance(first, (MLPGenerator, MLPDiscriminator)):
            raise HarnessError(f"--vectorize: cannot stack a {type(first).__name__}")
        self.squeeze = isinstance(first, MLPDiscriminator)
        self.names: list[str] = []  # 'net.0', 'net.2', ...: the members' layer names
        layers: list[nn.Module] = []
        self.acts: list[nn.Module | None] = []
        for idx, mod in first.net.named_children():
            if isinstance(mod, nn.Linear):
                name = f"net.{idx}"
                sds = [m.state_dict() for m in members]
                sn = f"{name}.parametrizations.weight.original" in sds[0]
                wkey = f"{name}.parametrizations.weight.original" if sn else f"{name}.weight"
                stack = lambda key: torch.stack([sd[key].detach().clone() for sd in sds])  # noqa: E731
                extra = (stack(f"{name}.parametrizations.weight.0._u"), stack(f"{name}.parametrizations.weight.0._v")) \
                    if sn else ()
                eps = mod.parametrizations.weight[0].eps if sn else 1e-12
                layers.append(StackedLinear(stack(wkey), stack(f"{name}.bias"), *extra, eps=eps,
                                            normalise=CONSTRAINTS.get("spectral_norm").stacked_weight))
                self.names.append(name)
                self.acts.append(None)
            else:
                self.acts[-1] = mod  # an elementwise activation after the layer
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> Tensor:
        for layer, act in zip(self.layers, self.acts):
            x = layer(x)
            if act is not None:
                x = act(x)
        return x.squeeze(-1) if self.squeeze else x

    def member_param_names(self) -> list[str]:
        """The name in a member's own module of each of this module's parameters, in order."""
        out = []
        for name, layer in zip(self.names, self.layers):
            out.append(f"{name}.parametrizations.weight.original" if layer.sn else f"{name}.weight")
            out.append(f"{name}.bias")
        return out

    def member_tensors(self, k: int) -> dict[str, Tensor]:
        """Member k's slices under the names of its own module's state_dict."""
        out = {}
        for name, layer in zip(self.names, self.layers):
            if layer.sn:
                out[f"{name}.parametrizations.weight.original"] = layer.weight[k]
                out[f"{name}.parametrizations.weight.0._u"] = layer.u[k]
                out[f"{name}.parametrizations.weight.0._v"] = layer.v[k]
            else:
                out[f"{name}.weight"] = layer.weight[k]
            out[f"{name}.bias"] = layer.bias[k]
        return out

    @torch.no_grad()
    def write_member(self, k: int, module: nn.Module) -> None:
        """Copy member k's current state into its own (unstacked) module."""
        sd = module.state_dict()
        for key, value in self.member_tensors(k).items():
            sd[key].copy_(value)

    @torch.no_grad()
    def grad_norms(self, prefix: str) -> list[dict[str, float]]:
        """probes.grad_norms for each member: total and per-layer L2 norms of its gradients."""
        names, norms = [], []
        for name, layer in zip(self.names, self.layers):
            for p in (layer.bias, layer.weight):
                if p.grad is not None:
                    names.append(layer_name(name + ".x"))
                    norms.append(p.grad.detach().flatten(1).norm(2, dim=1))
        if not norms:
            return [{} for _ in range(self.layers[0].weight.shape[0])]
        values = torch.stack(norms).double().pow(2).cpu().T.tolist()  # one sync, (K, n_params)
        out = []
        for row in values:
            per_layer: dict[str, float] = {}
            for n, v in zip(names, row):
                per_layer[n] = per_layer.get(n, 0.0) + v
            rec = {prefix: sum(per_layer.values()) ** 0.5}
            rec.update({f"{prefix}/{n}": v ** 0.5 for n, v in per_layer.items()})
            out.append(rec)
        return out


# ----------------------------------------------------------------------------- optimiser states
# Adam, RMSprop and SGD keep per element state (moments, momentum buffers) shaped like their
# parameter, plus a step count every member shares; a stacked state is its members' stacked.
def _pairs(stacked: StackedMLP, member: nn.Module) -> list[tuple[nn.Parameter, nn.Parameter]]:
    params = dict(member.named_parameters())
    return [(sp, params[name]) for sp, name in zip(stacked.parameters(), stacked.member_param_names())]


def _hyper(src: torch.optim.Optimizer, dst: torch.optim.Optimizer) -> None:
    for gs, gd in zip(src.param_groups, dst.param_groups):
        gd.update({key: value for key, value in gs.items() if key != "params"})


@torch.no_grad()
def split_optimizer(opt: torch.optim.Optimizer, stacked: StackedMLP, k: int, member_opt: torch.optim.Optimizer,
                    member: nn.Module) -> None:
    """Member k's slice of the stacked optimiser `opt` into its own optimiser (same hyper-parameters,
    scheduled learning rate included): what its separate run's optimiser would hold now."""
    _hyper(opt, member_opt)
    for sp, mp in _pairs(stacked, member):
        state = opt.state.get(sp, {})
        member_opt.state[mp] = {key: (v[k].clone() if torch.is_tensor(v) and v.dim() > 0 else
                                      v.clone() if torch.is_tensor(v) else copy.deepcopy(v))
                                for key, v in state.items()}


@torch.no_grad()
def merge_optimizers(opt: torch.optim.Optimizer, stacked: StackedMLP, member_opts: Sequence[torch.optim.Optimizer],
                     members: Sequence[nn.Module]) -> None:
    """The stacked optimiser takes its members' states (the inverse of split_optimizer)."""
    _hyper(member_opts[0], opt)
    pairs = [_pairs(stacked, m) for m in members]
    for i, sp in enumerate(stacked.parameters()):
        states = [mo.state.get(p[i][1], {}) for mo, p in zip(member_opts, pairs)]
        if not states[0]:
            continue
        merged = {}
        for key, v in states[0].items():
            if torch.is_tensor(v) and v.dim() > 0:
                merged[key] = torch.stack([s[key] for s in states]).to(sp.device)
            else:
                if any(not _same(s[key], v) for s in states[1:]):
                    raise HarnessError(f"--vectorize: the members' optimiser states differ in {key!r}")
                merged[key] = v.clone() if torch.is_tensor(v) else copy.deepcopy(v)
        opt.state[sp] = merged


def _same(a: Any, b: Any) -> bool:
    return bool(torch.equal(a, b)) if torch.is_tensor(a) and torch.is_tensor(b) else a == b


# ----------------------------------------------------------------------------- the stacked state
class _StackedState(_State):
    """A _State whose G and D are the members' stacked MLPs; losses are vectors (one per member).
    schedule_lr, iteration and check_finite are _State's own."""

    def __init__(self, members: Sequence[_Run], device: torch.device):
        cfg = members[0].cfg
        self.members = list(members)
        G = StackedMLP([m.state.G for m in members]).to(device)
        D = StackedMLP([m.state.D for m in members]).to(device)
        make_opt = OPTIMIZERS.get(cfg.optimizer)
        super().__init__(cfg, device, members[0].state.data, G, D,
                         make_opt(G.parameters(), cfg.lr_g, cfg.beta1, cfg.beta2),
                         make_opt(D.parameters(), cfg.lr_d, cfg.beta1, cfg.beta2), members[0].state.streams,
                         monitor=FiniteMonitor(cfg.explode_threshold, device, (len(members),)))
        loss = LOSSES.get(cfg.loss)
        self.loss_d = torch.func.vmap(loss.d)
        self.loss_g = torch.func.vmap(loss.g)
        self.grad_d: list[dict[str, float]] = []
        self.grad_g: list[dict[str, float]] = []
        starts = {m.start_step for m in members}
        if len(starts) != 1:
            raise HarnessError(f"--vectorize: a group's members must start from one step, not {sorted(starts)}")
        self.step = starts.pop()
        if self.step:  # resumed members: the stacked optimisers take their restored states
            merge_optimizers(self.opt_g, self.G, [m.state.opt_g for m in members], [m.state.G for m in members])
            merge_optimizers(self.opt_d, self.D, [m.state.opt_d for m in members], [m.state.D for m in members])
        self._merge_hooks()

    def _hook_generators(self, k: int) -> list[tuple[StackedMLP, nn.Module]]:
        """(the stacked hook's generator, member k's hook's generator) for each hook that has one."""
        out = []
        for hs, hm in zip(self.hooks, self.members[k].state.hooks):
            gs, gm = hs.generator(self), hm.generator(self.members[k].state)
            if gs is not None and gm is not None:
                out.append((gs, gm))
        return out

    @torch.no_grad()
    def _merge_hooks(self) -> None:
        """The stacked hooks from the members' own (fresh or restored): each generator stacked from
        the members' generators; a batched hook's other state is the same for every member, so
        member 0's is the stack's."""
        for hs, hm in zip(self.hooks, self.members[0].state.hooks):
            hs.load_state_dict(hm.state_dict())
        pairs = [self._hook_generators(k) for k in range(len(self.members))]
        for j, (stacked, _) in enumerate(pairs[0]):
            stacked.load_state_dict(StackedMLP([p[j][1] for p in pairs]).state_dict())

    def real(self) -> Tensor:
        b = self.cfg.batch_size
        return torch.stack([m.state.data.sample(b, m.state.streams["data"]) for m in self.members]).to(self.device)

    def noise(self) -> Tensor:
        shape = (self.cfg.batch_size, self.cfg.z_dim)
        return torch.stack([normal(shape, m.state.streams["noise"]) for m in self.members]).to(self.device)

    def d_objective(self, x: Tensor, fake: Tensor, d_fake: Tensor | None = None):
        d_real = self.D(x)
        if d_fake is None:
            d_fake = self.D(fake)
        loss = self.loss_d(d_real, d_fake)
        pen = self.penalty(self.D, x, fake, self.penalty_context())
        total = loss if pen is None else loss + self.cfg.penalty_weight * pen
        return loss, pen, total

    # the loop is _State's; what differs for K stacked members are these hooks
    def penalty_streams(self) -> list[torch.Generator]:
        return [m.state.streams["penalty"] for m in self.members]

    def reduce(self, loss: Tensor) -> Tensor:
        return loss.sum()  # member k's parameters get the gradient of member k's loss

    def g_loss(self, d_fake: Tensor, d_real: Tensor | None = None) -> Tensor:
        return self.loss_g(d_fake) if d_real is None else self.loss_g(d_fake, d_real)

    def record_grad_norms(self, which: str) -> None:
        if which == "d":
            self.grad_d = self.D.grad_norms("grad_norm_d")
        else:
            self.grad_g = self.G.grad_norms("grad_norm_g")

    # --- per member
    def sync(self, k: int) -> None:
        """Member k's own G and D modules take its current stacked state (for probes, evaluation,
        snapshots and the final weights, which then run the ordinary code)."""
        self.G.write_member(k, self.members[k].state.G)
        self.D.write_member(k, self.members[k].state.D)
        for gs, gm in self._hook_generators(k):
            gs.write_member(k, gm)

    def sync_all(self, k: int) -> None:
        """`sync` plus member k's optimisers and step: its own _Run then holds exactly what its
        separate run would at this step (what a resume checkpoint of it saves)."""
        self.sync(k)
        run = self.members[k]
        split_optimizer(self.opt_g, self.G, k, run.state.opt_g, run.state.G)
        split_optimizer(self.opt_d, self.D, k, run.state.opt_d, run.state.D)
        for hs, hm in zip(self.hooks, run.state.hooks):
            hm.load_state_dict(hs.state_dict())  # a batched hook's own state is every member's
        run.state.step = self.step

    def member_last(self, k: int) -> LastStep:
        last = self.last
        return LastStep(x=last.x[k], fake=last.fake[k], loss_d=last.loss_d[k], loss_d_total=last.loss_d_total[k],
                        penalty=None if last.penalty is None else last.penalty[k], loss_g=last.loss_g[k],
                        grad_d=self.grad_d[k] if self.grad_d else {}, grad_g=self.grad_g[k] if self.grad_g else {})


# ----------------------------------------------------------------------------- training a group
def _loop(st: _StackedState, writers: Sequence[runs.RunWriter], t_loops: Sequence[float]) -> list[dict[str, Any]]:
    """The members' G steps after st.step (their common start: 0, or a resume checkpoint's step),
    with each member's probes, evaluations and resume checkpoints, then their final evaluations."""
    cfg, members = st.cfg, st.members
    summaries: list[dict[str, Any] | None] = [None] * len(members)
    active = list(range(len(members)))

    def end(k: int, status: str, reason: str | None, step: int) -> None:
        st.sync(k)
        members[k].state.step = step
        others = sum(m.eval_time for i, m in enumerate(members) if i != k)  # in the loop, not training k
        summaries[k] = finish(members[k], writers[k], status, reason, t_loops[k], others)
        active.remove(k)

    for st.step in range(st.step + 1, cfg.steps + 1):
        probe, evaluate, checkpoint = st.advance()
        if not (probe or evaluate or checkpoint):
            continue
        for k, found in enumerate(st.monitor.read()):
            if found is not None and k in active:
                end(k, "diverged", found[1], found[0])
        for k in list(active):
            run = members[k]
            run.state.step = st.step
            st.sync(k)
            try:
                if probe:
                    run.state.last = st.member_last(k)
                    writers[k].history(run.state.probe_record(run.t0))
                if evaluate:
                    run.evaluate(writers[k])
            except Diverged as exc:
                end(k, "diverged", exc.reason, exc.step)
                continue
            if checkpoint and writers[k].path is not None:
                st.sync_all(k)
                writers[k].checkpoint(resume_state(run, t_loops[k]))
        if not active:
            break
    for k in list(active):
        st.sync(k)
        members[k].state.step = cfg.steps
        try:
            members[k].evaluate(writers[k])
        except Diverged as exc:
            end(k, "diverged", exc.reason, exc.step)
            continue
        end(k, "completed", None, cfg.steps)
    return summaries  # type: ignore[return-value]


def train_group(specs: Sequence[RunSpec], run_dirs: Sequence[str | Path | None] | None = None, *,
                lock: bool = True, resume: bool = True) -> list[dict[str, Any]]:
    """Train the runs `specs` (one config, different seeds) as one vectorised model and return their
    summaries, in order; with `run_dirs`, each writes its own run directory, owned under its own lock
    for the whole group (runs.RunBusy when another live process owns one).

    With `resume`, a member whose directory holds a usable resume checkpoint (``checkpoint_every``,
    written by this or by a separate run: the format is the same) continues from it, as
    trainer.train would; members that start from different steps train as separate stacks, one
    after the other (a group killed at one checkpoint resumes as one stack)."""
    specs = list(specs)
    if not specs:
        return []
    if len({group_key(s) for s in specs}) != 1:
        raise HarnessError("--vectorize: a group's runs must differ in their seed only")
    if len({s.seed for s in specs}) != len(specs):
        raise HarnessError("--vectorize: a group's seeds must differ")
    check_specs(specs, force=True)
    device = check_device(specs[0].device)
    paths = [None if p is None else Path(p) for p in (run_dirs or [None] * len(specs))]
    with contextlib.ExitStack() as locks:
        for p in paths:
            if p is not None and lock:
                locks.enter_context(runs.run_lock(p))
        writers = [runs.RunWriter(p) for p in paths]
        with deterministic(device):
            environment = runs.environment(str(device))
            extra = {"vectorized": {"members": len(specs), "seeds": [s.seed for s in specs]}}
            members, loop_s = [], []
            for spec, writer in zip(specs, writers):
                run, seconds = begin(spec, device, writer, environment, resume=resume, manifest_extra=extra)
                members.append(run)
                loop_s.append(seconds)
            summaries: list[dict[str, Any] | None] = [None] * len(specs)
            for start in sorted({m.start_step for m in members}):
                idx = [i for i, m in enumerate(members) if m.start_step == start]
                st = _StackedState([members[i] for i in idx], device)
                now = time.perf_counter()
                try:
                    out = _loop(st, [writers[i] for i in idx], [now - loop_s[i] for i in idx])
                except BaseException as exc:
                    if not isinstance(exc, KeyboardInterrupt):
                        for writer in writers:
                            if writer.path is not None and \
                                    (runs.read_status(writer.path) or {}).get("status") == "running":
                                writer.fail(st.step, exc)
                    raise
                for i, sm in zip(idx, out):
                    summaries[i] = sm
            return summaries  # type: ignore[return-value]


def execute_group(spec_dicts: list[dict[str, Any]], paths: list[str], threads: int,
                  wait: bool = False) -> list[dict[str, Any]]:
    """harness.suite's _execute for a vectorised group: never raises, one result per run. Each
    member's directory is locked as a separate run's is; members another live process owns are
    reported running elsewhere (or waited for, with `wait`), members finished meanwhile finished
    elsewhere, and the rest train together."""
    from threadpoolctl import threadpool_limits

    from .worker import FINISHED_ELSEWHERE, RUNNING_ELSEWHERE, _finished_same

    previous = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    specs = [RunSpec.from_dict(d) for d in spec_dicts]
    results: dict[str, dict[str, Any]] = {}
    todo: list[tuple[RunSpec, Path]] = []
    try:
        with contextlib.ExitStack() as locks, threadpool_limits(limits=threads if threads > 0 else None):
            for spec, path in zip(specs, map(Path, paths)):
                try:
                    locks.enter_context(runs.run_lock(path, wait=wait))
                except runs.RunBusy as exc:
                    results[spec.run_id] = {"run_id": spec.run_id, "status": RUNNING_ELSEWHERE, "step": None,
                                            "reason": str(exc)}
                    continue
                if _finished_same(spec, path):
                    status = runs.read_status(path) or {}
                    results[spec.run_id] = {"run_id": spec.run_id, "status": FINISHED_ELSEWHERE,
                                            "step": status.get("step"), "reason": status.get("reason")}
                    continue
                todo.append((spec, path))
            if todo:
                try:
                    summaries = train_group([s for s, _ in todo], [p for _, p in todo], lock=False)
                    for (spec, _), sm in zip(todo, summaries):
                        results[spec.run_id] = {"run_id": spec.run_id, "status": sm["status"], "step": sm["step"],
                                                "reason": sm["reason"], "wall_time_s": sm["wall_time_s"]}
                except Exception as exc:  # recorded in each run directory by train_group; the sweep goes on
                    for spec, _ in todo:
                        results[spec.run_id] = {"run_id": spec.run_id, "status": "failed", "step": None,
                                                "reason": f"{type(exc).__name__}: {exc}"}
    finally:
        torch.set_num_threads(previous)
    return [results[s.run_id] for s in specs]


def execute_task(task: Any, threads: int, wait: bool = False) -> list[dict[str, Any]]:
    """Execute a harness.worker.Task as the owner of its run directories (a vectorised group here, a
    single run or reference row by harness.worker._execute); one result per run, never raises. The
    one entry point of the pool, the main process and Ray tasks."""
    from .worker import _execute

    if task.vectorized:
        return execute_group(list(task.specs), list(task.paths), threads, wait)
    (spec_dict,), (path,) = task.specs, task.paths
    return [_execute(spec_dict, path, threads, wait)]
