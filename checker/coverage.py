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

from .analysis import SystemAnalysis, analyse, witness_steps
from .errors import InputError, InternalError
from .mapping import Mapping
from .parallel import in_background
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
    # mapped | unreachable | unpaired | no-image | image-unreachable | no-preimage | no-counterpart
    # | no-mapped-source | counterpart-not-enabled | behaviour-mismatch
    category: str
    rule: str  # the rule that decided, in words
    established_by: tuple[str, ...] = ()
    # the shortest behaviour of the element's own side reaching the state or taking the
    # operation (for the first unit of its component), if any; replayed before it is reported
    witness: tuple = ()
    # ids of the behavioural mismatches about the element (see ``add_behaviour``)
    mismatches: tuple[str, ...] = ()
    # the witness side by side: the first of its mismatches, or its own witness followed by the
    # other side (``simulation.follow``); set by ``add_behaviour`` for every unmappable element
    side_by_side: object = None


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
    pairing: object = None  # the ``simulation.Pairing`` the behaviour was computed on
    # Z3's answers still to come, each with the explicit answers to compare (see ``confirm``)
    pending: list = field(default_factory=list, repr=False)
    behaviour_skipped: str = ""  # why the behaviour was not analysed, if it was not

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


def _operations(machine) -> list[str]:
    """The machine's operation triggers, in order of first appearance."""
    return list(dict.fromkeys(t.trigger for t in machine.transitions if t.kind == "operation"))


def check_coverage(mapping: Mapping, parameters: dict[str, int] | None = None, seed: int = 0,
                   timeout: float = 60.0, analysed: dict[str, SystemAnalysis] | None = None,
                   engine: str = "both", defer_confirmation: bool = False) -> MappingCoverage:
    """Decide the coverage verdicts of every state and operation of both sides.

    ``analysed`` maps system names to analyses already made (with their explorations), so
    that a check run that analysed the same compositions does not analyse them twice.
    ``engine`` ("both", "explicit" or "z3") says which engines answer the reachability
    questions; with both they must agree. With both, Z3 answers in background processes
    while the verdicts are built from the explicit answers; with ``defer_confirmation`` the
    comparison is left to ``confirm`` (``add_behaviour`` does it after its own work, so that
    the two overlap).
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

    # Reachability questions about the TR-069 side, asked of both engines: is an image ever
    # shown, can a counterpart be requested where an image is shown.
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
    # And, on each side, whether each operation of the first unit of each component is ever
    # requested: the shortest way to it is the witness of its verdict.
    # An operation is shown where it is accepted: from a source of one of its transitions that
    # is not refused, when it has one.
    side_questions: dict[str, dict[tuple, tuple[int, set[int], str | None]]] = {"scomo": {}, "tr069": {}}
    for side, composition, system in (("scomo", mapping.scomo, scomo_system), ("tr069", mapping.tr069, tr069_system)):
        for component in composition.components:
            instance = _first_instance(system, component.name)
            local = system.instances[instance].local
            for trigger in _operations(component.machine):
                accepted = {t.source for t in component.machine.transitions
                            if t.trigger == trigger and t.outcome != "refused"}
                configs = {config for config in range(len(local.configs))
                           if not accepted or local.state_of(config) in accepted}
                side_questions[side][("operation", component.name, trigger)] = (instance, configs, trigger)
    pending: list = []
    answers = _answer(tr069_system, tr069, {**questions, **side_questions["tr069"]}, engines, seed, timeout, pending)
    answers.update(_answer(scomo_system, scomo, side_questions["scomo"], engines, seed, timeout, pending))

    def state_witness(analysis: SystemAnalysis, component: str, state: str) -> tuple:
        """The shortest way to a state of the first unit of ``component``; () if unreachable."""
        system = analysis.system
        name = system.instances[_first_instance(system, component)].name
        return tuple(analysis.verdict(name, "state", state).witness or ())

    def operation_witness(system: System, component: str, trigger: str) -> tuple:
        """The shortest way to the operation, then the operation itself (its first move)."""
        reachable, _depth, trace = answers[("operation", component, trigger)]
        if not reachable:
            return ()
        states, labels = trace
        instance = _first_instance(system, component)
        machine = system.instances[instance].local.machine
        moves = [(move, target) for move, target in system.enabled_moves(states[-1])
                 if move.instance == instance and machine.transitions[move.transition].trigger == trigger]
        move, target = min(moves, key=lambda found: machine.transitions[found[0].transition].outcome == "refused")
        return tuple(witness_steps(system, [*states, target], [*labels, move.label]))

    verdicts: list[Verdict] = []
    pairs = {pair.scomo: pair.tr069 for pair in mapping.machines}
    for side, composition, analysis in (("scomo", mapping.scomo, scomo), ("tr069", mapping.tr069, tr069)):
        partners = pairs if side == "scomo" else {b: a for a, b in pairs.items()}
        for component in composition.components:
            machine = component.machine
            paired = component.name in partners
            elements = [("state", state, state_witness(analysis, component.name, state)) for state in machine.state_names]
            elements += [("operation", trigger, operation_witness(analysis.system, component.name, trigger))
                         for trigger in _operations(machine)]
            for what, name, witness in elements:
                common = dict(id=f"{side}:{what}:{component.name}.{name}", side=side, what=what,
                              component=component.name, name=name, established_by=engines, witness=witness)
                if not witness:  # a reachable element always has one
                    never = "is unreachable" if what == "state" else "can never be requested"
                    verdicts.append(Verdict(**common, mappable=True, category="unreachable",
                                            rule=f"the {what} {never} on the {SIDE_TITLES[side]} side; nothing to map"))
                elif not paired:
                    verdicts.append(_unpaired(common, side, component.name))
                elif side == "scomo":
                    decide = _scomo_state_verdict if what == "state" else _scomo_operation_verdict
                    verdicts.append(decide(mapping, common, component.name, name, answers))
                else:
                    decide = _tr069_state_verdict if what == "state" else _tr069_operation_verdict
                    verdicts.append(decide(mapping, common, partners[component.name], name))
    coverage = MappingCoverage(mapping=mapping, scomo=scomo, tr069=tr069, verdicts=verdicts, pending=pending)
    return coverage if defer_confirmation else confirm(coverage)


SIDE_TITLES = {"scomo": "SCOMO", "tr069": "TR-069"}


def _unpaired(common: dict, side: str, component: str) -> Verdict:
    other = "TR-069" if side == "scomo" else "SCOMO"
    return Verdict(**common, mappable=False, category="unpaired",
                   rule=f"its component {component} is paired with no {other} component in the mapping")


def _scomo_state_verdict(mapping: Mapping, common: dict, component: str, state: str, answers) -> Verdict:
    entry = mapping.state_entry(component, state)
    if entry is None or not entry.images:
        rule = "no entry in the mapping" if entry is None else "the mapping maps it to nothing"
        return Verdict(**common, mappable=False, category="no-image", rule=rule)
    if answers[("image", component, state)][0] is None:
        images = ", ".join(_image_text(image) for image in entry.images)
        return Verdict(**common, mappable=False, category="image-unreachable",
                       rule=f"no behaviour of the TR-069 side shows {images}")
    return Verdict(**common, mappable=True, category="mapped", rule="it has an image the TR-069 side reaches")


def _tr069_state_verdict(mapping: Mapping, common: dict, scomo_component: str, state: str) -> Verdict:
    images_of = {image.state for entry in mapping.states if entry.scomo_component == scomo_component
                 for image in entry.images}
    if state in images_of:
        return Verdict(**common, mappable=True, category="mapped", rule="some SCOMO state maps to it")
    return Verdict(**common, mappable=False, category="no-preimage", rule="no SCOMO state maps to it")


def _scomo_operation_verdict(mapping: Mapping, common: dict, component: str, trigger: str, answers) -> Verdict:
    entry = mapping.operation_entry(component, trigger)
    machine = mapping.scomo.component(component).machine
    if entry is None or not entry.alternatives:
        rule = "no entry in the mapping" if entry is None else "the mapping maps it to nothing"
        return Verdict(**common, mappable=False, category="no-counterpart", rule=rule)
    asked = [key for key in answers if key[0] == "enabled" and key[1] == component and key[2] == trigger]
    starts = list(dict.fromkeys(t.source for t in machine.transitions if t.trigger == trigger and t.outcome != "refused"))
    if not asked:
        return Verdict(**common, mappable=False, category="no-mapped-source",
                       rule=f"it can be requested only where {component} is {_either(starts)}, which the mapping maps "
                            "to nothing, so no TR-069 state is there to request the counterpart in")
    # Blocked: in no image of that source state can any alternative's first step be requested.
    blocked = [source for source in dict.fromkeys(key[3] for key in asked)
               if all(answers[key][0] is None for key in asked if key[3] == source)]
    if blocked:
        firsts = " or ".join(sorted({alternative[0][1] for alternative in entry.alternatives}))
        return Verdict(**common, mappable=False, category="counterpart-not-enabled",
                       rule=f"{firsts} can never be requested where {component} is {', '.join(blocked)} "
                            "(in any image of that state)")
    sources = list(dict.fromkeys(key[3] for key in asked))
    unmapped_sources = [source for source in starts if source not in sources]
    rule = "a counterpart can be requested in an image of every mapped state it starts from"
    if unmapped_sources:
        rule += f" (it also starts from {', '.join(unmapped_sources)}, which map to nothing)"
    return Verdict(**common, mappable=True, category="mapped", rule=rule)


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _tr069_operation_verdict(mapping: Mapping, common: dict, scomo_component: str, trigger: str) -> Verdict:
    mapped_operations = {step[1] for entry in mapping.operations if entry.scomo_component == scomo_component
                         for alternative in entry.alternatives for step in alternative}
    if trigger in mapped_operations:
        return Verdict(**common, mappable=True, category="mapped", rule="some SCOMO operation maps to it")
    return Verdict(**common, mappable=False, category="no-preimage", rule="no SCOMO operation maps to it")


def _image_text(image) -> str:
    condition = " and ".join(f"{name}={value}" for name, value in image.when)
    return f"{image.component}.{image.state}" + (f" with {condition}" if condition else "")


def _answer(system: System, analysis: SystemAnalysis, questions: dict, engines: tuple[str, ...], seed: int,
            timeout: float, pending: list) -> dict:
    """(True or None, shortest depth or None, shortest trace or None) per question: is it ever
    the case? The trace is (states, labels), from the explicit engine when it ran. With both
    engines, Z3 answers in a background process and ``pending`` gets what to compare its
    answers with (``_confirm``): the engines must agree on the answer and the depth."""
    answers: dict = {}
    if "explicit" in engines:
        exploration = analysis.exploration
        for key, (instance, configs, trigger) in questions.items():
            if trigger is None:
                index = exploration.first_state_in(instance, configs)
            else:
                index = exploration.first_state_enabling(instance, configs, trigger)
            if index is None:
                answers[key] = (None, None, None)
            else:
                path = exploration.path_to(index)
                trace = ([exploration.state(i) for _, i in path], [label for label, _ in path[1:]])
                answers[key] = (True, exploration.depth[index], trace)
    if "z3" in engines and questions:
        def ask_z3() -> dict:
            return _z3_answers(system, questions, seed, timeout)

        if answers:
            pending.append((in_background(ask_z3), dict(answers)))
        else:
            answers = ask_z3()
    return answers


def _z3_answers(system: System, questions: dict, seed: int, timeout: float) -> dict:
    symbolic = SymbolicSystem(system, seed=seed)
    predicates = {}
    for key, (instance, configs, trigger) in questions.items():
        if trigger is None:
            predicates[key] = symbolic.local_predicate(instance, configs)
        else:
            predicates[key] = symbolic.global_predicate(symbolic.trigger_enabled(instance, trigger, configs))
    answers = {}
    for key, decision in decide_reachability(symbolic, predicates, timeout_seconds=timeout).items():
        trace = (decision.trace, decision.labels) if decision.reachable else None
        answers[key] = (True, decision.depth, trace) if decision.reachable else (None, None, None)
    return answers


def confirm(coverage: MappingCoverage) -> MappingCoverage:
    """Wait for Z3's answers to the reachability questions asked in the background and raise
    ``InternalError`` where they differ from the explicit engine's."""
    while coverage.pending:
        job, explicit = coverage.pending.pop(0)
        for key, answer in job.result().items():
            if explicit[key][:2] != answer[:2]:
                raise InternalError(f"engines disagree on mapping question {key}: explicit {explicit[key][:2]}, "
                                    f"Z3 {answer[:2]}")
    return coverage


# Mismatch reasons that point at the step itself; "leads-to-mismatch" only follows from others.
ROOT_REASONS = ("cannot-follow", "no-correspondent", "unmapped-operation")


def _elements_of(mismatch, side: str, system: System) -> list[str]:
    """The verdict ids a root-cause mismatch is about (docs/mapping-format.md, Verdicts): the
    operation of its step, if the step is an operation; for a completion, the operation it
    completes; for any other silent step, the state it leaves; and the states without image
    its step leads to."""
    found = []
    if mismatch.offending_step is not None:
        instance = system.instance_named(mismatch.instance)
        kinds = {t.kind for t in instance.local.machine.transitions if t.trigger == mismatch.trigger}
        if "operation" in kinds:
            found.append(f"{side}:operation:{instance.component}.{mismatch.trigger}")
        elif mismatch.in_progress is not None:
            found.append(f"{side}:operation:{instance.component}.{mismatch.in_progress}")
        elif not mismatch.no_correspondent:
            state = mismatch.simulated_state[mismatch.instance].split(" ")[0]
            found.append(f"{side}:state:{instance.component}.{state}")
    for missing in mismatch.no_correspondent:
        name, state = missing.split("=", 1)
        found.append(f"{side}:state:{system.instance_named(name).component}.{state}")
    return found


def add_behaviour(coverage: MappingCoverage, children: int, units: int = 1, cross_check: bool = True,
                  seed: int = 0, timeout: float = 60.0) -> MappingCoverage:
    """Compute both simulation directions, mark states and operations whose counterpart exists
    but whose behaviour does not correspond (category ``behaviour-mismatch``, with the
    direction), and give every unmappable state and operation its witness side by side.

    With ``cross_check``, Z3 (``simulation_z3``) independently confirms each direction's
    game, its relation (a simulation, and the largest one) and every reported mismatch; any
    difference is an internal error. Every witness reported (each element's own, each
    mismatch's and each side-by-side one, on both sides) is replayed on the executable
    machines first.
    """
    from .executable import replay
    from .simulation import SCOMO_BY_TR069, TR069_BY_SCOMO, build_pairing, follow, is_bisimulation, simulation
    from .simulation_z3 import check_simulation_with_z3

    mapping = coverage.mapping
    scomo_system, tr069_system = coverage.scomo.system, coverage.tr069.system
    try:
        pairing = build_pairing(mapping, systems=(scomo_system, tr069_system),
                                explorations=(coverage.scomo.exploration, coverage.tr069.exploration))
        results = {direction: simulation(mapping, direction, pairing=pairing)
                   for direction in (SCOMO_BY_TR069, TR069_BY_SCOMO)}
    except InputError as error:
        if not any(problem.rule == "state-limit" for problem in error.problems):
            raise
        # The game needs every reachable state of the side that follows; beyond the explicit
        # engine's limit the behaviour is not analysed, and the report says so.
        coverage.behaviour_skipped = f"not analysed: {error.problems[0].message}"
        log.warning("mapping %s: behaviour %s", mapping.id, coverage.behaviour_skipped)
        systems = {"scomo": scomo_system, "tr069": tr069_system}
        for verdict in coverage.verdicts:
            if not verdict.mappable and verdict.witness:
                replay(systems[verdict.side], list(verdict.witness))
        return confirm(coverage)
    coverage.engines = ("explicit",)
    checks = {}
    if cross_check:  # Z3 checks each direction in the background, while the witnesses are made
        for direction, result in results.items():
            checks[direction] = in_background(
                lambda direction=direction, result=result: check_simulation_with_z3(
                    mapping, direction, result, k=children, n=units, seed=seed, timeout=timeout, pairing=pairing))
    systems = {"scomo": scomo_system, "tr069": tr069_system}
    for direction, result in results.items():
        simulated, simulating = (scomo_system, tr069_system) if direction == SCOMO_BY_TR069 else (tr069_system, scomo_system)
        for mismatch in result.mismatches:
            replay(simulated, [*mismatch.simulated_witness, *([mismatch.offending_step] if mismatch.offending_step else [])])
            replay(simulating, list(mismatch.simulating_path))

    about: dict[str, list] = {}  # verdict id -> the root-cause mismatches about it
    for direction, result in results.items():
        side = "scomo" if direction == SCOMO_BY_TR069 else "tr069"
        for mismatch in result.mismatches:
            if mismatch.reason in ROOT_REASONS or mismatch.reason == "initial":
                for verdict_id in _elements_of(mismatch, side, systems[side]):
                    if mismatch not in about.setdefault(verdict_id, []):
                        about[verdict_id].append(mismatch)

    verdicts = []
    for verdict in coverage.verdicts:
        found = about.get(verdict.id, [])
        if found:
            verdict = replace(verdict, mismatches=tuple(mismatch.id for mismatch in found))
            if verdict.mappable and verdict.category == "mapped":
                direction = found[0].direction
                verdict = replace(verdict, mappable=False, category="behaviour-mismatch",
                                  rule=f"its counterpart exists, but the behaviours part ({direction}): "
                                       f"see {', '.join(verdict.mismatches)}")
        if not verdict.mappable and verdict.witness:
            # A behaviour mismatch is shown by its mismatch; what the mapping itself leaves
            # out (no image, no counterpart, ...) by the shortest way there, followed.
            side_by_side = found[0] if verdict.category == "behaviour-mismatch" else None
            if side_by_side is None:
                direction = SCOMO_BY_TR069 if verdict.side == "scomo" else TR069_BY_SCOMO
                side_by_side = follow(pairing, direction, list(verdict.witness), verdict.id, verdict.category,
                                      f"{verdict.component}.{verdict.name}: {verdict.category} ({verdict.rule})")
                simulated, simulating = ((scomo_system, tr069_system) if direction == SCOMO_BY_TR069
                                         else (tr069_system, scomo_system))
                replay(simulated, list(side_by_side.simulated_witness))
                replay(simulating, list(side_by_side.simulating_path))
            replay(systems[verdict.side], list(verdict.witness))
            verdict = replace(verdict, side_by_side=side_by_side)
        verdicts.append(verdict)
    coverage.verdicts = verdicts
    coverage.pairing = pairing
    coverage.behaviour = results
    coverage.bisimulation = is_bisimulation(results)
    confirm(coverage)
    for direction, job in checks.items():
        check = job.result()
        if not check.agrees:
            raise InternalError(f"the engines disagree on {direction} for {mapping.id}: " + "; ".join(check.failures()))
        coverage.behaviour_checks[direction] = check
    if checks:
        coverage.engines = ("explicit", "z3")
    return coverage
