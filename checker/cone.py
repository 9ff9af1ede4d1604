"""Cone of influence: the part of a system a property can see, as a system of its own.

A set C of instances is *closed* when every move that changes an instance of C depends only on
instances of C: its leader, the instances its guards read, and its followers of mode "all"
(which can block it) all belong to C. Followers of mode "enabled" outside C may be dropped,
since they never block their leader. For a closed C, the states of the restricted system are
exactly the projections onto C of the reachable states of the whole: every step of the whole
either leaves C unchanged or is a step of the restriction, enabled by C alone; and every step
of the restriction is enabled in each state of the whole that projects onto its source.

So a property that names only instances of C holds in the whole system exactly when it holds in
the restriction. For a device of n Deployment Units with m Execution Units each, the cone of
one unit's property holds the Execution Environment, that unit and its m Execution Units,
whatever n is; this is what makes the unbounded proofs independent of n.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from .system import Instance, Move, System

__all__ = ["closed_cone", "restrict", "lift_labels"]

log = logging.getLogger(__name__)


def closed_cone(system: System, seeds: set[int]) -> set[int]:
    """The least closed set of instances containing ``seeds``."""
    cone = set(seeds)
    changed = True
    while changed:
        changed = False
        for leader, per_config in enumerate(system.moves):
            for moves in per_config:
                for move in moves:
                    touched = {leader, *(step.instance for step in move.followers)}
                    if not touched & cone:
                        continue
                    needed = {leader, *(j for j, _ in move.requires),
                              *(step.instance for step in move.followers if step.mode == "all")}
                    if not needed <= cone:
                        cone |= needed
                        changed = True
    return cone


def restrict(system: System, cone: set[int]) -> tuple[System, list[int]]:
    """The system of the instances in ``cone`` (which must be closed), and for each of its
    instances the index of the same instance in ``system``."""
    kept = sorted(cone)
    if len(kept) == len(system.instances):
        return system, kept
    position = {old: new for new, old in enumerate(kept)}
    instances = [Instance(name=system.instances[old].name, component=system.instances[old].component,
                          local=system.instances[old].local,
                          parent=position.get(system.instances[old].parent) if system.instances[old].parent is not None
                          else None)
                 for old in kept]
    moves = []
    for old in kept:
        per_config = []
        for config_moves in system.moves[old]:
            rewritten = []
            for move in config_moves:
                followers = tuple(replace(step, instance=position[step.instance]) for step in move.followers
                                  if step.instance in position)
                rewritten.append(Move(instance=position[old], transition=move.transition, target=move.target,
                                      label=move.label, requires=tuple((position[j], allowed) for j, allowed in move.requires),
                                      followers=followers))
            per_config.append(rewritten)
        moves.append(per_config)
    restricted = System(composition=system.composition, parameters=dict(system.parameters), instances=instances,
                        moves=moves, labels=system.labels, initial=tuple(system.initial[old] for old in kept))
    log.debug("cone of influence: %d of %d instances of %s", len(kept), len(system.instances), system.name)
    return restricted, kept


def lift_labels(system: System, labels: list[int]) -> list[tuple[int, ...]]:
    """The states of the whole ``system`` along a path given by its step labels (a path of a
    restriction is one of the whole: the instances outside the cone stay where they are)."""
    state = system.initial
    trace = [state]
    for label in labels:
        for move, successor in system.enabled_moves(state):
            if move.label == label:
                state = successor
                break
        else:
            raise ValueError(f"step {system.labels[label]} is not enabled in {system.state_name(state)}")
        trace.append(state)
    return trace
