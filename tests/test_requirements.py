"""``swmc requirements`` on small requirements files of its own: the comparison with the draft.

The shipped table agrees with the draft everywhere, so it never shows a disagreement; these
files do, on a system small enough to decide at once (the single Execution Unit machine):

* a requirement whose gap differs from the draft's and that carries an explanation is a
  disagreement, reported with the explanation, and the command exits with 0;
* the same without an explanation is reported as UNEXPLAINED and the command exits with 1;
* an agreeing requirement is reported as such; an undecided side is compared with nothing
  and the command exits with 3;
* the terminal table gives each side's evidence, derived from its verdicts, within 100 columns;
* the JSON report matches schemas/requirements-report.schema.json;
* an invalid requirements file is exit code 2 with every problem at its file:line, and
  nothing is written.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import jsonschema
import pytest

from checker.cli import main
from checker.propfile import interpret_draft_gap

from conftest import REPOSITORY

SYSTEM = "tr069-execution-unit"  # one machine, 44 reachable states: every property is decided at once
UNIT = "tr069_execution_unit"  # its instance name

AGREEING = f"""\
  - id: REQ-STARTS
    text: An Execution Unit can be started.
    draft: {{tr069: "Yes", comment: "", gap: ""}}
    scope: behaviour
    question: Can the unit become Active?
    scomo:
      properties:
        - name: starts-scomo
          system: {SYSTEM}
          formula: EF {UNIT} is Active
    tr069:
      properties:
        - name: starts-tr069
          system: {SYSTEM}
          formula: EF {UNIT} is Active
"""

# The draft sees no gap; the checker finds the TR-069 side refuted (the unit does become
# Active, in 3 steps), so a gap in TR-069.
DISAGREEING = f"""\
  - id: REQ-NEVER-ACTIVE
    text: An Execution Unit is never started.
    draft: {{tr069: "Yes with remark", gap: ""}}
    scope: behaviour
    question: Does the unit stay out of Active?
    scomo:
      properties:
        - name: never-active-scomo
          system: {SYSTEM}
          formula: "AG ({UNIT} is Active -> EF {UNIT} is Idle)"
    tr069:
      properties:
        - name: never-active-tr069
          system: {SYSTEM}
          formula: AG !({UNIT} is Active)
"""

EXPLANATION = """\
    explanation: >-
      The draft reads the remark as support; the model starts the unit on a RequestActive.
"""

OUT_OF_SCOPE = """\
  - id: REQ-METADATA
    text: The unit's metadata can be read.
    draft: {tr069: "Yes", gap: ""}
    scope: out-of-scope
    reason: Metadata are data-model fields. No state depends on them.
"""


def requirements_file(tmp_path: Path, *entries: str, name: str = "requirements.yaml") -> Path:
    path = tmp_path / name
    path.write_text("requirements:\n" + "".join(entries), encoding="utf-8")
    return path


def run(path: Path, out: Path, *options: str) -> int:
    return main(["requirements", str(path), "-o", str(out), *options])


def report(out: Path) -> dict:
    return json.loads((out / "requirements.json").read_text(encoding="utf-8"))


def rows(out: Path) -> dict[str, dict]:
    return {row["id"]: row for row in report(out)["requirements"]}


def schema() -> dict:
    return json.loads((REPOSITORY / "schemas" / "requirements-report.schema.json").read_text(encoding="utf-8"))


def table_row(text: str, identity: str) -> list[str]:
    """The requirement's row and the indented lines that follow it."""
    lines = text.splitlines()
    at = next(index for index, line in enumerate(lines) if line.startswith(identity + " "))
    following = [lines[at]]
    for line in lines[at + 1:]:
        if not line.startswith(" "):
            break
        following.append(line)
    return following


# --- agreement and disagreement with the draft -------------------------------------------------


def test_an_agreeing_requirement(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(requirements_file(tmp_path, AGREEING, OUT_OF_SCOPE), out) == 0
    text = capsys.readouterr().out
    row, evidence = table_row(text, "REQ-STARTS")
    assert row.split()[-1] == "yes" and "no gap" in row and "Yes" in row
    assert evidence.strip() == "SCOMO: example of 3 steps; TR-069: example of 3 steps"
    assert "0 disagree with the draft" in text and "disagrees" not in text
    entry = rows(out)["REQ-STARTS"]
    assert entry["agrees_with_draft"] is True and entry["gap"] == entry["draft_gap"] == "no gap"
    assert entry["evidence"] == {"scomo": "example of 3 steps", "tr069": "example of 3 steps"}
    assert rows(out)["REQ-METADATA"]["reason"].startswith("Metadata are data-model fields")


def test_an_explained_disagreement_is_reported_with_its_explanation_and_exit_0(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(requirements_file(tmp_path, AGREEING, DISAGREEING + EXPLANATION), out) == 0
    text = capsys.readouterr().out
    row, *below = table_row(text, "REQ-NEVER-ACTIVE")
    assert re.search(r"supported\s+not supported\s+Yes with remark\s+gap in TR-069\s+no gap\s+no$", row), row
    assert below[0].strip() == "SCOMO: fixed point; TR-069: counterexample of 3 steps"
    explained = " ".join(line.strip() for line in below[1:])
    assert explained == ("disagrees with the draft, explained: The draft reads the remark as support; the model "
                         "starts the unit on a RequestActive.")
    assert "1 disagree with the draft" in text and "UNEXPLAINED" not in text
    document = report(out)
    assert document["summary"]["disagreements_with_draft"] == 1
    assert document["summary"]["unexplained_disagreements"] == 0
    entry = rows(out)["REQ-NEVER-ACTIVE"]
    assert entry["agrees_with_draft"] is False and entry["explanation"].startswith("The draft reads the remark")
    assert entry["evidence"]["tr069"] == "counterexample of 3 steps"
    markdown = (out / "requirements.md").read_text(encoding="utf-8")
    assert "| no (explained below) |" in markdown
    assert "Disagrees with the draft (no gap): The draft reads the remark as support" in markdown
    jsonschema.validate(document, schema())


def test_an_unexplained_disagreement_is_flagged_and_exit_1(tmp_path, capsys):
    out = tmp_path / "out"
    path = requirements_file(tmp_path, AGREEING, DISAGREEING)
    assert run(path, out) == 1
    text = capsys.readouterr().out
    row, *below = table_row(text, "REQ-NEVER-ACTIVE")
    assert row.split()[-1] == "no"
    line = AGREEING.count("\n") + 2  # the requirement's "- id:" line
    flagged = " ".join(line.strip() for line in below[1:])  # a long path wraps onto a line of its own
    assert flagged == f"disagrees with the draft, UNEXPLAINED: no explanation at {path}:{line}"
    assert "1 disagree with the draft, 1 of them UNEXPLAINED" in text
    assert report(out)["summary"]["unexplained_disagreements"] == 1
    assert rows(out)["REQ-NEVER-ACTIVE"]["explanation"] is None
    markdown = (out / "requirements.md").read_text(encoding="utf-8")
    assert "**no, unexplained**" in markdown and "**no explanation is given in the requirements file**" in markdown


def test_an_undecided_side_is_not_a_disagreement_and_exit_3(tmp_path, capsys):
    # With room for one state only, the explicit engine cannot decide the CTL formula.
    out = tmp_path / "out"
    assert run(requirements_file(tmp_path, DISAGREEING), out, "--state-limit", "1") == 3
    text = capsys.readouterr().out
    row, *evidence = table_row(text, "REQ-NEVER-ACTIVE")
    assert re.search(r"^REQ-NEVER-ACTIVE\s+undecided\s+not supported\s+.*\bundecided\s+no gap\s+undecided$", row), row
    # too long for one line with the other side's: a side per line (the first one wrapped)
    assert evidence[-1].strip() == "TR-069: counterexample of 3 steps"
    assert " ".join(line.strip() for line in evidence[:-1]) == (
        "SCOMO: unknown: more than 1 reachable states: too many for the explicit fixed point")
    assert "0 disagree with the draft; 1 undecided" in text
    document = report(out)
    assert document["summary"]["undecided"] == 1 and document["summary"]["disagreements_with_draft"] == 0
    assert rows(out)["REQ-NEVER-ACTIVE"]["agrees_with_draft"] is None
    jsonschema.validate(document, schema())


def test_the_terminal_table_fits_100_columns_and_echoes_the_settings(tmp_path, capsys):
    long_reason = OUT_OF_SCOPE.replace("Metadata are data-model fields", "Metadata " + "are fields " * 20)
    long_draft = AGREEING.replace('tr069: "Yes"', 'tr069: "Yes, through a separate RPC that the draft names"')
    out = tmp_path / "out"
    assert run(requirements_file(tmp_path, long_draft, long_reason), out, "--seed", "7", "--timeout", "30") == 0
    text = capsys.readouterr().out
    assert all(len(line) <= 100 for line in text.splitlines()), text
    assert text.splitlines()[-1].startswith("seed 7, Z3 timeout 30 s")
    row, *below = table_row(text, "REQ-STARTS")
    assert "Yes, through..." in row
    assert below[0].strip() == "draft TR-069: Yes, through a separate RPC that the draft names"
    (metadata,) = table_row(text, "REQ-METADATA")
    assert metadata.endswith("...") and "out of scope: Metadata are fields" in metadata


def test_the_help_names_the_file_argument(capsys):
    assert main(["requirements", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "FILE" in text and "a requirements file in the format of properties/requirements.yaml" in text


# --- invalid requirements files --------------------------------------------------------------


def assert_invalid(tmp_path: Path, capsys, text: str, expected: list[str]) -> None:
    path = requirements_file(tmp_path, textwrap.dedent(text), name="invalid.yaml")
    out = tmp_path / "out"
    assert run(path, out) == 2
    error = capsys.readouterr().err
    for pattern in expected:
        assert re.search(re.escape(f"{path}:") + pattern, error), (pattern, error)
    assert not out.exists()


def test_an_out_of_scope_requirement_needs_a_reason(tmp_path, capsys):
    assert_invalid(tmp_path, capsys, OUT_OF_SCOPE.replace("    reason: Metadata are data-model fields. "
                                                          "No state depends on them.\n", ""),
                   [r"2: reason: out-of-scope requirement REQ-METADATA needs a reason"])


def test_a_behaviour_requirement_needs_both_sides(tmp_path, capsys):
    without_tr069 = AGREEING[:AGREEING.index("    tr069:\n")]
    assert_invalid(tmp_path, capsys, without_tr069,
                   [r"2: side: requirement REQ-STARTS needs 'tr069: properties: \[\.\.\.\]'"])


def test_a_property_must_name_a_known_system_and_known_instances(tmp_path, capsys):
    text = AGREEING.replace(f"          system: {SYSTEM}\n          formula: EF {UNIT} is Active\n    tr069",
                            f"          system: tr069-execution-unt\n          formula: EF {UNIT} is Active\n    tr069")
    text = text.replace(f"formula: EF {UNIT} is Active\n", "formula: EF execution_unit is Active\n")
    assert text.count("execution_unit is Active") == 2
    assert_invalid(tmp_path, capsys, text, [
        r"10: system: no built-in model and no file named 'tr069-execution-unt' "
        r"\(did you mean 'tr069-execution-unit'\?\)",
    ])
    # With the system fixed, the formula's unknown instance is reported at its line and column.
    fixed = text.replace("tr069-execution-unt", SYSTEM)
    assert_invalid(tmp_path, capsys, fixed, [r"11:\d+: property: no instance or variable named 'execution_unit'",
                                             r"16:\d+: property: no instance or variable named 'execution_unit'"])


def test_the_drafts_gap_must_name_a_side(tmp_path, capsys):
    assert_invalid(tmp_path, capsys, AGREEING.replace('gap: ""', 'gap: "Gap in TR96"'),
                   [r"4: draft-gap: requirement REQ-STARTS: the draft's gap 'Gap in TR96' names neither TR-069"])


@pytest.mark.parametrize("text, reading", [("", "no gap"), ("Gap in TR69", "gap in TR-069"),
                                           ("GAP in TR69", "gap in TR-069"), ("Gap in SCOMO", "gap in SCOMO"),
                                           ("Gap in TR-069", "gap in TR-069"), ("yes", None)])
def test_how_the_drafts_gap_column_is_read(text, reading):
    assert interpret_draft_gap(text) == reading
