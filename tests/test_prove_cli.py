"""``swmc prove`` and ``swmc requirements`` from the command line, and the shipped properties.

* the shipped property files load (every verdict is confirmed in test_property_reference);
* ``swmc prove`` takes the requirements file too; a file named twice is read once, a name
  defined in two files is an error naming both places;
* exit codes 0, 1, 2 and 3; reports byte-identical across runs; the seed and timeout echoed;
  the evidence of a proof (k, cone, fixed points) in the reports; no path of 0 steps;
* the requirements table covers the whole draft table, and every disagreement with the draft
  is explained; its reports match schemas/requirements-report.schema.json, and give each
  side's evidence (test_requirements has the disagreements, on files of its own).
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from checker import proplang as p
from checker.cli import main
from checker.propfile import builtin_property_paths, load_properties, load_requirements
from checker.requirements import decide_requirements, default_requirements_path

from conftest import shared_directory


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
    import jsonschema

    from conftest import REPOSITORY

    assert main(["requirements", "-o", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "requirements.json").read_text())
    assert report["format"] == "swmc-requirements-report/1"
    assert report["summary"]["unexplained_disagreements"] == 0
    schema = json.loads((REPOSITORY / "schemas" / "requirements-report.schema.json").read_text())
    jsonschema.validate(report, schema)
    report["requirements"][0]["gap"] = "some gap"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, schema)
    # the terminal: a row with the draft's TR-069 column, each side's evidence below it, within
    # 100 columns, and the settings at the end
    lines = text.splitlines()
    assert all(len(line) <= 100 for line in lines), max(lines, key=len)
    at = next(i for i, line in enumerate(lines) if line.startswith("SCOMO-HLFR-1 "))
    assert lines[at].split() == ["SCOMO-HLFR-1", "supported", "not", "supported", "No", "gap", "in", "TR-069",
                                 "gap", "in", "TR-069", "yes"]
    assert lines[at + 1].strip() == "SCOMO: fixed point, example of 2 steps; TR-069: unreachable (z3 structure)"
    at = next(i for i, line in enumerate(lines) if line.startswith("SCOMO1_1-HLF-08 "))
    assert "No with remark" in lines[at] and lines[at + 1].strip().endswith("TR-069: counterexample of 2 steps")
    assert lines[-1].startswith("seed 0, Z3 timeout 60 s;")
    # the Markdown: the evidence in the table, and in each requirement's section the whole
    # evidence and the counterexample as numbered steps
    markdown = (tmp_path / "out" / "requirements.md").read_text()
    assert "## Out of scope" in markdown
    assert "| [SCOMO-HLFR-1](#scomo-hlfr-1) | supported | not supported | gap in TR-069 | No | Gap in TR69 | yes | " \
           "SCOMO: fixed point, example of 2 steps<br>TR-069: unreachable (z3 structure) |" in markdown
    entries = [entry for row in report["requirements"] for side in row.get("properties", {}).values()
               for entry in side]
    assert max(len(entry["evidence"]) for entry in entries) > 300  # longer than the table's cell ever was
    assert all(entry["evidence"] in markdown for entry in entries)
    section = markdown[markdown.index("### SCOMO1_1-HLF-08"):markdown.index("### SCOMO1_1-HLF-09")]
    (violated,) = [entry for entry in next(row for row in report["requirements"] if row["id"] == "SCOMO1_1-HLF-08")
                   ["properties"]["tr069"] if entry["status"] == "violated"]
    assert "  Counterexample:" in section
    assert all(f"    {step}. " in section for step in range(len(violated["witness"])))


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


def test_prove_takes_the_requirements_file(tmp_path):
    out = tmp_path / "out"
    assert main(["prove", "requirements", "-o", str(out)]) == 1  # some requirement is not supported
    report = json.loads((out / "prove.json").read_text())
    expected = [spec.name for requirement in load_requirements(default_requirements_path())
                for side in ("scomo", "tr069") if side in requirement.sides for spec in requirement.sides[side].properties]
    assert [entry["name"] for entry in report["properties"]] == expected
    assert all(entry["id"].startswith("property/properties/requirements.yaml/") for entry in report["properties"])


def test_a_file_named_twice_is_read_once(tmp_path, capsys):
    path = write(tmp_path, PROPERTIES)
    out = tmp_path / "out"
    main(["prove", str(path), str(tmp_path / "." / "props.yaml"), "-o", str(out)])
    assert json.loads((out / "prove.json").read_text())["summary"]["properties"] == 2
    assert "2 properties: 1 holds, 1 violated" in capsys.readouterr().out


def test_a_name_defined_in_two_files_is_an_error_naming_both(tmp_path, capsys):
    first = write(tmp_path, PROPERTIES)
    second = tmp_path / "more.yaml"
    second.write_text(textwrap.dedent("""\
        properties:
          - name: other
            system: scomo-device
            formula: EF dp1 is Delivered
          - name: never-delivered
            system: scomo-device
            formula: EF dp1 is Installed
        """), encoding="utf-8")
    assert main(["prove", str(first), str(second), "-o", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert re.search(r"more.yaml:5: duplicate: property 'never-delivered' is also defined at \S*props.yaml:6", error), error
    assert not (tmp_path / "out").exists()


def test_one_property_is_one_property(tmp_path, capsys):
    path = write(tmp_path, PROPERTIES)
    assert main(["prove", str(path), "--property", "eu-needs-du", "-o", str(tmp_path / "out")]) == 0
    assert "\n1 property: 1 holds (seed 0" in capsys.readouterr().out


def test_proof_evidence_is_in_every_report(tmp_path, capsys):
    path = write(tmp_path, PROPERTIES.rstrip(" ") + """\
      - name: refusals-change-nothing
        system: tr069-device
        formula: "AG (du1 is Installing -> AX[du1.Update] du1 is Installing)"
    """)
    out = tmp_path / "out"
    main(["prove", str(path), "-o", str(out)])
    text = capsys.readouterr().out
    report = {entry["name"]: entry for entry in json.loads((out / "prove.json").read_text())["properties"]}
    ctl = report["refusals-change-nothing"]
    assert ctl["kind"] == "ctl" and ctl["status"] == "holds"
    assert [point["formula"] for point in ctl["fixed_points"]] == [
        "AX[du1.Update] du1 is Installing", "AG (du1 is Installing -> (AX[du1.Update] du1 is Installing))"]
    assert ctl["fixed_points"][-1]["states"] == ctl["states"] > 0
    assert report["eu-needs-du"]["fixed_points"] is None and report["eu-needs-du"]["evidence"]
    markdown = (out / "prove.md").read_text()
    assert "- fixed points (states satisfying each temporal subformula" in markdown
    assert f"  - `AX[du1.Update] du1 is Installing`: {ctl['fixed_points'][0]['states']}" in markdown
    # the terminal: one line of evidence under each verdict, holds included
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("HOLDS     refusals-change-nothing"))
    assert lines[at + 1].startswith(f"  fixed points over {ctl['states']} reachable states: the formula holds in ")


def test_no_verdict_is_a_path_of_no_steps(tmp_path, capsys):
    assert main(["requirements", "-o", str(tmp_path / "out")]) == 0
    texts = [capsys.readouterr().out] + [(tmp_path / "out" / name).read_text()
                                          for name in ("requirements.md", "requirements.json")]
    for text in texts:
        assert not re.search(r"\b0 steps?\b", text)
    report = json.loads(texts[2])
    for row in report["requirements"]:
        for entry in [entry for side in row.get("properties", {}).values() for entry in side]:
            if entry["kind"] in ("ctl", "ltl") and entry["witness"] is not None:
                assert len(entry["witness"]) > 1, entry["name"]
