"""``swmc prove`` and ``swmc requirements`` from the command line, and the shipped properties.

* every shipped property gets a verdict with both engines running (Z3 and the explicit engine
  must agree on invariants and reachability, or the run fails with exit code 4); CTL ones
  without fairness are recomputed by the naive evaluator of test_properties, and fair
  AG (p -> AF q) ones by the LTL tableau as G (p -> F q);
* exit codes 0, 1, 2 and 3; reports byte-identical across runs; the seed and timeout echoed;
* the requirements table covers the whole draft table, and every disagreement with the draft
  is explained.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from checker import proplang as p
from checker.cli import main
from checker.explicit import explore
from checker.propbind import NextBy, bind, nodes
from checker.propexplicit import StateGraph, check_ltl
from checker.propfile import builtin_property_paths, load_properties, load_requirements
from checker.prove import _system_for, check_properties
from checker.requirements import decide_requirements, default_requirements_path

from conftest import shared_directory
from test_properties import naive_ctl


def shipped_specs():
    return [spec for path in builtin_property_paths() for spec in load_properties(path)]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "props.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_shipped_property_files_exist_and_load():
    names = [path.name for path in builtin_property_paths()]
    assert "general.yaml" in names
    specs = shipped_specs()
    assert len(specs) >= 12
    kinds = {spec.formula.operator if isinstance(spec.formula, p.Temporal) else type(spec.formula).__name__
             for spec in specs}
    assert kinds & {"G", "F"} and kinds & {"AG", "EF"}, kinds


def test_every_shipped_property_is_decided_and_cross_checked():
    specs = shipped_specs()
    results = check_properties(specs)  # engine "both": a disagreement raises InternalError
    systems: dict = {}
    graphs: dict = {}

    def graph_of(system, fairness=()):
        key = (id(system), fairness)
        if key not in graphs:
            graphs[key] = StateGraph(explore(system), fairness)
        return graphs[key]

    for spec, result in zip(specs, results):
        assert result.status in ("holds", "violated"), (spec.name, result.evidence)
        if result.kind in ("invariant", "reachability"):
            assert result.cross_checks.get("explicit") == result.status, (spec.name, result.cross_checks)
        system = _system_for(spec, systems)
        bound = bind(spec.formula, system, spec.file)
        if result.kind == "ctl" and not spec.fairness and not _has_next_by(bound):
            graph = graph_of(system)
            assert (0 in naive_ctl(graph, bound)) == (result.status == "holds"), spec.name
        if result.kind == "ctl" and spec.fairness and _is_response(bound):
            ltl = p.Temporal(0, 0, "G", p.Implies(0, 0, bound.operand.premise,
                                                  p.Temporal(0, 0, "F", bound.operand.conclusion.operand)))
            holds, _, _ = check_ltl(graph_of(system, spec.fairness), ltl)
            assert holds == (result.status == "holds"), spec.name
        if result.status == "violated" and result.witness:
            assert result.witness_role == "counterexample"


def _has_next_by(bound) -> bool:
    return any(isinstance(node, NextBy) for node in nodes(bound))


def _is_response(bound) -> bool:
    """AG (p -> AF q) with p and q free of temporal operators."""
    return (isinstance(bound, p.Temporal) and bound.operator == "AG" and isinstance(bound.operand, p.Implies)
            and isinstance(bound.operand.conclusion, p.Temporal) and bound.operand.conclusion.operator == "AF")


PROPERTIES = """\
    properties:
      - name: eu-needs-du
        system: tr069-device
        formula: >-
          AG (forall u in du: forall e in u.eu: e is Active -> u in {Installed, Updating, Uninstalling})
      - name: never-delivered
        system: scomo-device
        formula: "AG !(exists d in dp: d is Delivered)"
    """


def test_prove_exit_codes_and_reports(tmp_path, capsys):
    path = write(tmp_path, PROPERTIES)
    out = tmp_path / "out"
    assert main(["prove", str(path), "--property", "eu-needs-du", "-o", str(out)]) == 0
    assert main(["prove", str(path), "-o", str(out)]) == 1
    text = capsys.readouterr().out
    assert "VIOLATED  never-delivered" in text and "1. dp1.Download" in text and "seed 0, Z3 timeout 60 s" in text
    report = json.loads((out / "prove.json").read_text())
    assert report["format"] == "swmc-prove-report/1"
    assert report["settings"] == {"engine": "both", "seed": 0, "timeout_seconds": 60.0, "state_limit": 500000,
                                  "bound": None}
    assert [entry["status"] for entry in report["properties"]] == ["holds", "violated"]
    violated = report["properties"][1]
    assert violated["witness_role"] == "counterexample" and len(violated["witness"]) == 3
    assert violated["id"].endswith("/never-delivered") and violated["line"] == 6
    assert "## never-delivered" in (out / "prove.md").read_text()


def test_prove_reports_are_byte_identical(tmp_path):
    path = write(tmp_path, PROPERTIES)
    for name in ("a", "b"):
        main(["prove", str(path), "-o", str(tmp_path / name)])
    for report in ("prove.json", "prove.md"):
        assert (tmp_path / "a" / report).read_bytes() == (tmp_path / "b" / report).read_bytes()
    assert str(tmp_path) not in (tmp_path / "a" / "prove.json").read_text().replace(str(path), "")


def test_prove_invalid_input_is_exit_2_and_writes_nothing(tmp_path, capsys):
    path = write(tmp_path, """\
        properties:
          - name: broken
            system: tr069-device
            formula: AG du1 is Instaled
        """)
    out = tmp_path / "out"
    assert main(["prove", str(path), "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert re.search(r"props.yaml:4:\d+: property: machine tr069_deployment_unit has no state 'Instaled' "
                     r"\(did you mean 'Installed'\?\)", error), error
    assert not out.exists()
    assert main(["prove", str(path), "--property", "nope", "-o", str(out)]) == 2
    assert main(["prove", str(tmp_path / "missing.yaml"), "-o", str(out)]) == 2


def test_prove_solver_timeout_is_exit_3_with_the_reason(tmp_path, capsys):
    path = write(tmp_path, """\
        properties:
          - name: big
            system: tr069-device
            parameters: {n: 3, m: 3}
            formula: AG !(deadlock)
        """)
    code = main(["prove", str(path), "--engine", "z3", "--timeout", "0.001", "-o", str(tmp_path / "out")])
    assert code == 3
    text = capsys.readouterr().out
    assert "UNKNOWN" in text and "timeout" in text


def test_prove_bound_gives_no_violation_up_to_k(tmp_path, capsys):
    path = write(tmp_path, PROPERTIES)
    assert main(["prove", str(path), "--property", "eu-needs-du", "--bound", "4", "-o", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "prove.json").read_text())
    (entry,) = report["properties"]
    assert entry["status"] == "no-violation-up-to" and entry["depth"] == 4
    assert "not a proof" in entry["evidence"]


def test_requirements_table_is_complete_and_disagreements_are_explained(tmp_path):
    requirements = load_requirements(default_requirements_path())
    ids = [requirement.id for requirement in requirements]
    expected = [f"SCOMO-HLFR-{i}" for i in range(1, 9)] + [f"SCOMO1_1-HLF-{i:02d}" for i in range(1, 30)]
    assert sorted(ids) == sorted(expected)
    for requirement in requirements:
        if requirement.scope == "out-of-scope":
            assert requirement.reason
        else:
            assert requirement.sides["scomo"].properties and requirement.sides["tr069"].properties
    verdicts = decide_requirements()
    for verdict in verdicts:
        if verdict.requirement.scope == "behaviour":
            assert "undecided" not in verdict.sides.values(), verdict.requirement.id
            assert verdict.explained, f"{verdict.requirement.id} disagrees with the draft without an explanation"
    download_only = next(v for v in verdicts if v.requirement.id == "SCOMO-HLFR-1")
    assert download_only.sides == {"scomo": "supported", "tr069": "not supported"}
    assert download_only.gap == "gap in TR-069" and download_only.agrees


def test_requirements_texts_are_the_drafts_own():
    seed = shared_directory() / "seeds"
    drafts = sorted(seed.glob("*.txt")) if seed.is_dir() else []
    if not drafts:
        pytest.skip(f"the 2012 draft is not at {seed} (set SWMC_SHARED_DIR)")
    draft = " ".join(drafts[0].read_text(encoding="utf-8").split())
    for requirement in load_requirements(default_requirements_path()):
        assert requirement.id in draft
        assert requirement.text in draft, requirement.id


def test_requirements_command(tmp_path, capsys):
    assert main(["requirements", "-o", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "SCOMO-HLFR-1" in text and "gap in TR-069" in text
    report = json.loads((tmp_path / "out" / "requirements.json").read_text())
    assert report["format"] == "swmc-requirements-report/1"
    assert report["summary"]["unexplained_disagreements"] == 0
    assert "## Out of scope" in (tmp_path / "out" / "requirements.md").read_text()


def test_prove_report_matches_its_schema(tmp_path):
    import jsonschema

    from conftest import REPOSITORY

    schema = json.loads((REPOSITORY / "schemas" / "prove-report.schema.json").read_text())
    path = write(tmp_path, PROPERTIES)
    main(["prove", str(path), "-o", str(tmp_path / "out")])
    report = json.loads((tmp_path / "out" / "prove.json").read_text())
    jsonschema.validate(report, schema)
    report["properties"][0]["status"] = "probably"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, schema)
