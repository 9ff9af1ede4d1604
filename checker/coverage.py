"""Coverage of a mapping: which states and operations of each side have a counterpart.

The questions, each answered for the first unit of each side (its siblings are symmetric):

- a SCOMO state has *no image* when its entry maps it to nothing (or it has no entry); its
  image is *unreachable* when no behaviour of the TR-069 system ever shows any of its images;
- a TR-069 state has *no preimage* when no SCOMO state maps to it;
- a SCOMO operation has *no counterpart* when its entry maps it to nothing (or it has no
  entry); its counterpart is *not enabled* in a state when the SCOMO operation can be
  requested there but, in no reachable TR-069 state showing an image of that state, can the
  first operation of any alternative be requested;
- a SCOMO operation has *no mapped source* when every state it can be requested in maps to
  nothing;
- a TR-069 operation has *no preimage* when it appears in no alternative of any entry.

Reachability questions (is an image ever shown, is a counterpart ever enabled) are decided by
both engines, which must agree; the rest is read from the mapping. The behavioural questions
(can one side follow the other step by step) are the subject of ``simulation``;
``add_behaviour`` adds its verdicts: an operation whose counterpart exists but whose steps
one side cannot follow is a *behaviour mismatch*, with the direction that fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from .analysis import SystemAnalysis, analyse
from .errors import InternalError
from .mapping import Mapping
from .parallel import map_forked
from .symbolic import SymbolicSystem, decide_reachability
from .system import System, build_system

__all__ = ["Verdict", "MappingCoverage", "check_coverage", "add_behaviour"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """Whether one state or operation of one side can be mapped, and why."""

    id: str  # "scomo:state:dp.Delivered", "tr069:operation:du.Update", ...
    side: str  # "scomo" or "tr069"
    what: str  # "state" or "operation"
    component: str
    name: str
    mappable: bool
    # mapped | unreachable | no-image | image-unreachable | no-preimage | no-counterpart
    # | no-mapped-source | counterpart-not-enabled | behaviour-mismatch
    category: str
    rule: str  # the rule that decided, in words
    established_by: tuple[str, ...] = ()
    witness: tuple = ()  # shortest SCOMO behaviour reaching the state or operation, if any


@dataclass
class MappingCoverage:
    mapping: Mapping
    scomo: SystemAnalysis
    tr069: SystemAnalysis
    verdicts: list[Verdict]
    # the behavioural correspondence in each direction (``simulation``), once computed
    behaviour: dict = field(default_factory=dict)
    bisimulation: bool | None = None
    engines: tuple[str, ...] = ()  # the engines that established the behavioural results
    # direction -> what Z3 established about it (``simulation_z3.Z3SimulationCheck``), once checked
    behaviour_checks: dict = field(default_factory=dict)

    @property
    def unmappable(self) -> list[Verdict]:
        return [verdict for verdict in self.verdicts if not verdict.mappable]


def _first_instance(system: System, component: str) -> int:
    return next(i for i, instance in enumerate(system.instances) if instance.component == component)


def _image_configs(system: System, instance: int, images) -> set[int]:
    local = system.instances[instance].local
    configs = set()
    for config in range(len(local.configs)):
        values = local.values_of(config)
        for image in images:
            if local.state_of(config) == image.state and all(values[name] == value for name, value in image.when):
                configs.add(config)
    return configs


def _state_configs(system: System, instance: int, state: str) -> set[int]:
    local = system.instances[instance].local
    return {config for config in range(len(local.configs)) if local.state_of(config) == state}


def check_coverage(mapping: Mapping, parameters: dict[str, int] | None = None, seed: int = 0,
                   timeout: float = 60.0, analysed: dict[str, SystemAnalysis] | None = None,
                   engine: str = "both") -> MappingCoverage:
    """Decide the coverage verdicts of every state and operation of both sides.

    ``analysed`` maps system names to analyses already made (with their explorations), so
    that a check run that analysed the same compositions does not analyse them twice.
    ``engine`` ("both", "explicit" or "z3") says which engines answer the reachability
    questions; with both they must agree.
    """
    analysed = analysed or {}
    engines = ("explicit", "z3") if engine == "both" else (engine,)

    def analysis_of(composition):
        system = build_system(composition, parameters)
        known = analysed.get(system.name)
        if known is not None and known.engine == engine and known.system.composition.file == composition.file \
                and (known.exploration is not None or engine == "z3"):
            return known
        return analyse(system, engine=engine, seed=seed, timeout=timeout)

    scomo, tr069 = analysis_of(mapping.scomo), analysis_of(mapping.tr069)
    scomo_system, tr069_system = scomo.system, tr069.system

    # Reachability questions about the TR-069 side, asked of both engines.
    questions: dict[tuple, tuple[int, set[int], str | None]] = {}
    for pair in mapping.machines:
        instance = _first_instance(tr069_system, pair.tr069)
        for entry in mapping.states:
            if entry.scomo_component == pair.scomo and entry.images:
                questions[("image", entry.scomo_component, entry.scomo_state)] = (
                    instance, _image_configs(tr069_system, instance, entry.images), None)
        for entry in mapping.operations:
            if entry.scomo_component != pair.scomo or not entry.alternatives:
                continue
            machine = mapping.scomo.component(pair.scomo).machine
            sources = sorted({t.source for t in machine.transitions
                              if t.trigger == entry.scomo_trigger and t.outcome != "refused"}, key=machine.state_names.index)
            for source in sources:
                state_entry = mapping.state_entry(pair.scomo, source)
                if state_entry is None or not state_entry.images:
                    continue
                configs = _image_configs(tr069_system, instance, state_entry.images)
                for alternative in entry.alternatives:
                    first = alternative[0][1]
                    questions[("enabled", pair.scomo, entry.scomo_trigger, source, first)] = (instance, configs, first)
    answers = _answer(tr069_system, tr069, questions, engines, seed, timeout)

    verdicts: list[Verdict] = []
    for pair in mapping.machines:
        scomo_machine = mapping.scomo.component(pair.scomo).machine
        tr069_machine = mapping.tr069.component(pair.tr069).machine
        scomo_instance = _first_instance(scomo_system, pair.scomo)
        scomo_name = scomo_system.instances[scomo_instance].name

        def scomo_witness(state: str, instance_name: str = scomo_name):
            return tuple(scomo.verdict(instance_name, "state", state).witness or ())

        for state in scomo_machine.state_names:
            entry = mapping.state_entry(pair.scomo, state)
            reachable = scomo.verdict(scomo_name, "state", state).reachable
            common = dict(id=f"scomo:state:{pair.scomo}.{state}", side="scomo", what="state", component=pair.scomo, name=state)
            if not reachable:
                verdicts.append(Verdict(**common, mappable=True, category="unreachable",
                                        rule="the state is unreachable on the SCOMO side; nothing to map",
                                        established_by=engines))
            elif entry is None or not entry.images:
                rule = "no entry in the mapping" if entry is None else "the mapping maps it to nothing"
                verdicts.append(Verdict(**common, mappable=False, category="no-image", rule=rule, witness=scomo_witness(state)))
            elif answers[("image", pair.scomo, state)][0] is None:
                images = ", ".join(_image_text(image) for image in entry.images)
                verdicts.append(Verdict(**common, mappable=False, category="image-unreachable",
                                        rule=f"no behaviour of the TR-069 side shows {images}",
                                        established_by=engines, witness=scomo_witness(state)))
            else:
                verdicts.append(Verdict(**common, mappable=True, category="mapped",
                                        rule="it has an image the TR-069 side reaches", established_by=engines))

        images_of = {image.state for entry in mapping.states if entry.scomo_component == pair.scomo for image in entry.images}
        for state in tr069_machine.state_names:
            common = dict(id=f"tr069:state:{pair.tr069}.{state}", side="tr069", what="state", component=pair.tr069, name=state)
            if state in images_of:
                verdicts.append(Verdict(**common, mappable=True, category="mapped", rule="some SCOMO state maps to it"))
            else:
                verdicts.append(Verdict(**common, mappable=False, category="no-preimage", rule="no SCOMO state maps to it"))

        operations = [t for t in dict.fromkeys(t.trigger for t in scomo_machine.transitions if t.kind == "operation")]
        for trigger in operations:
            entry = mapping.operation_entry(pair.scomo, trigger)
            common = dict(id=f"scomo:operation:{pair.scomo}.{trigger}", side="scomo", what="operation",
                          component=pair.scomo, name=trigger)
            if entry is None or not entry.alternatives:
                rule = "no entry in the mapping" if entry is None else "the mapping maps it to nothing"
                verdicts.append(Verdict(**common, mappable=False, category="no-counterpart", rule=rule))
                continue
            asked = [key for key in answers if key[0] == "enabled" and key[1] == pair.scomo and key[2] == trigger]
            if not asked:
                verdicts.append(Verdict(**common, mappable=False, category="no-mapped-source",
                                        rule="every state it can be requested in maps to nothing, so no TR-069 "
                                             "state is there to request the counterpart in"))
                continue
            # Blocked: in no image of that source state can any alternative's first step be requested.
            blocked = [source for source in dict.fromkeys(key[3] for key in asked)
                       if all(answers[key][0] is None for key in asked if key[3] == source)]
            if blocked:
                firsts = " or ".join(sorted({alternative[0][1] for alternative in entry.alternatives}))
                verdicts.append(Verdict(**common, mappable=False, category="counterpart-not-enabled",
                                        rule=f"{firsts} can never be requested where {pair.scomo} is {', '.join(blocked)} "
                                             "(in any image of that state)", established_by=engines,
                                        witness=scomo_witness(blocked[0])))
            else:
                sources = list(dict.fromkeys(key[3] for key in asked))
                unmapped_sources = [t.source for t in scomo_machine.transitions
                                    if t.trigger == trigger and t.outcome != "refused" and t.source not in sources]
                rule = "a counterpart can be requested in an image of every mapped state it starts from"
                if unmapped_sources:
                    rule += f" (it also starts from {', '.join(dict.fromkeys(unmapped_sources))}, which map to nothing)"
                verdicts.append(Verdict(**common, mappable=True, category="mapped", rule=rule,
                                        established_by=engines))

        mapped_operations = {step[1] for entry in mapping.operations if entry.scomo_component == pair.scomo
                             for alternative in entry.alternatives for step in alternative}
        for trigger in dict.fromkeys(t.trigger for t in tr069_machine.transitions if t.kind == "operation"):
            common = dict(id=f"tr069:operation:{pair.tr069}.{trigger}", side="tr069", what="operation",
                          component=pair.tr069, name=trigger)
            if trigger in mapped_operations:
                verdicts.append(Verdict(**common, mappable=True, category="mapped", rule="some SCOMO operation maps to it"))
            else:
                verdicts.append(Verdict(**common, mappable=False, category="no-preimage",
                                        rule="no SCOMO operation maps to it"))
    return MappingCoverage(mapping=mapping, scomo=scomo, tr069=tr069, verdicts=verdicts)


def _image_text(image) -> str:
    condition = " and ".join(f"{name}={value}" for name, value in image.when)
    return f"{image.component}.{image.state}" + (f" with {condition}" if condition else "")


def _answer(system: System, analysis: SystemAnalysis, questions: dict, engines: tuple[str, ...], seed: int,
            timeout: float) -> dict:
    """(True or None, shortest depth or None) per question: is it ever the case? With both
    engines, they must agree on the answer and the depth."""
    answers: dict = {}
    if "explicit" in engines:
        exploration = analysis.exploration
        for key, (instance, configs, trigger) in questions.items():
            if trigger is None:
                index = exploration.first_state_in(instance, configs)
            else:
                index = exploration.first_state_enabling(instance, configs, trigger)
            answers[key] = (None, None) if index is None else (True, exploration.depth[index])
    if "z3" in engines and questions:
        symbolic = SymbolicSystem(system, seed=seed)
        predicates = {}
        for key, (instance, configs, trigger) in questions.items():
            if trigger is None:
                predicates[key] = symbolic.local_predicate(instance, configs)
            else:
                predicates[key] = symbolic.global_predicate(symbolic.trigger_enabled(instance, trigger, configs))
        for key, decision in decide_reachability(symbolic, predicates, timeout_seconds=timeout).items():
            answer = (True, decision.depth) if decision.reachable else (None, None)
            if key in answers and answers[key] != answer:
                raise InternalError(f"engines disagree on mapping question {key}: explicit {answers[key]}, Z3 {answer}")
            answers[key] = answer
    return answers


# Mismatch reasons that point at the step itself; "leads-to-mismatch" only follows from others.
ROOT_REASONS = ("cannot-follow", "no-correspondent", "unmapped-operation")


def add_behaviour(coverage: MappingCoverage, children: int, units: int = 1, cross_check: bool = True,
                  seed: int = 0, timeout: float = 60.0) -> MappingCoverage:
    """Compute both simulation directions and mark operations whose counterpart exists but
    whose behaviour does not correspond (category ``behaviour-mismatch``, with direction).

    With ``cross_check``, Z3 (``simulation_z3``) independently confirms each direction's
    game, its relation (a simulation, and the largest one) and every reported mismatch; any
    difference is an internal error. Every mismatch witness is replayed on the executable
    machines of both sides.
    """
    from .executable import replay
    from .simulation import SCOMO_BY_TR069, correspondences, is_bisimulation
    from .simulation_z3 import check_simulation_with_z3

    results = correspondences(coverage.mapping, k=children, n=units)
    coverage.engines = ("explicit",)
    if cross_check:
        directions = list(results)

        def check_direction(index: int):
            direction = directions[index]
            return check_simulation_with_z3(coverage.mapping, direction, results[direction], k=children, n=units,
                                            seed=seed, timeout=timeout)

        for direction, check in zip(directions, map_forked(check_direction, len(directions))):
            if not check.agrees:
                raise InternalError(f"the engines disagree on {direction} for {coverage.mapping.id}: "
                                    + "; ".join(check.failures()))
            coverage.behaviour_checks[direction] = check
        coverage.engines = ("explicit", "z3")
    scomo_system, tr069_system = coverage.scomo.system, coverage.tr069.system
    for direction, result in results.items():
        simulated, simulating = (scomo_system, tr069_system) if direction == SCOMO_BY_TR069 else (tr069_system, scomo_system)
        for mismatch in result.mismatches:
            replay(simulated, list(mismatch.simulated_witness))
            replay(simulating, list(mismatch.simulating_path))

    offending: dict[str, list[str]] = {}  # verdict id -> mismatch ids
    for direction, result in results.items():
        side, system = ("scomo", scomo_system) if direction == SCOMO_BY_TR069 else ("tr069", tr069_system)
        for mismatch in result.mismatches:
            if mismatch.reason not in ROOT_REASONS or mismatch.trigger is None:
                continue
            instance = system.instance_named(mismatch.instance)
            if instance is not None:
                offending.setdefault(f"{side}:operation:{instance.component}.{mismatch.trigger}", []).append(mismatch.id)

    verdicts = []
    for verdict in coverage.verdicts:
        ids = offending.get(verdict.id)
        if verdict.mappable and verdict.category == "mapped" and ids:
            direction = ids[0].split("/")[0]
            verdict = replace(verdict, mappable=False, category="behaviour-mismatch",
                              rule=f"its counterpart exists, but the behaviours part ({direction}): see {', '.join(ids)}")
        verdicts.append(verdict)
    coverage.verdicts = verdicts
    coverage.behaviour = results
    coverage.bisimulation = is_bisimulation(results)
    return coverage
