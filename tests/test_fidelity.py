"""Fidelity of the shipped models to the published Broadband Forum definitions.

The observable domains of the TR-069 machines must be exactly the enumerations of the data
models they cite (same values, same order), and the values their completions report must be
those the CWMP schema allows. The reference files are not part of the project: they live in
``shared/reference/data/bbf/`` beside the checkout (or under ``$SWMC_SHARED_DIR``), and every
test that reads one skips with the file's path when it is absent.

A last, pure model test checks that every value a state or transition uses lies inside the
domain its machine declares.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import pytest

from checker.catalog import builtin_model_paths, load_models
from checker.model import Machine, Observable


# --- where the reference material lives ---------------------------------------------------------

def shared_dir() -> Path:
    override = os.environ.get("SWMC_SHARED_DIR")
    if override:
        return Path(override)
    # tests/ -> the checkout -> its parent, which holds shared/ beside the checkout (also in CI)
    return Path(__file__).resolve().parents[1].parent / "shared"


BBF_DIR = shared_dir() / "reference" / "data" / "bbf"
TR181_SM = "tr-181-2-19-0-softwaremodules.xml"
TR181_CWMP = "tr-181-2-19-1-cwmp.xml"
TR157 = "tr-157-1-3-0.xml"
CWMP_XSD = "cwmp-1-2.xsd"


def reference_file(name: str) -> Path:
    path = BBF_DIR / name
    if not path.is_file():
        pytest.skip(f"reference file {path} is absent (set SWMC_SHARED_DIR to the directory holding reference/)")
    return path


@lru_cache(maxsize=None)
def parse(name: str) -> ET.Element:
    return ET.parse(reference_file(name)).getroot()


def local(tag: Any) -> str:
    """The local name of an element tag, whatever its namespace."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if local(child.tag) == name]


def descendants(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element.iter() if local(child.tag) == name]


# --- the models ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def shipped_machines() -> dict[str, Machine]:
    machines: dict[str, Machine] = {}
    for composition in load_models(builtin_model_paths()):
        for machine in composition.machines:
            machines.setdefault(machine.id, machine)
    return machines


def observable_of(machine_id: str, name: str) -> Observable:
    machine = shipped_machines()[machine_id]
    for observable in (*machine.observables, *machine.reports):
        if observable.name == name:
            return observable
    raise AssertionError(f"machine {machine_id} declares no observable or report {name!r}")


def model_values(machine_id: str, name: str) -> list[str]:
    return [str(value) for value in observable_of(machine_id, name).values]


# --- data-model XML (TR-181 / TR-157) -----------------------------------------------------------

def _object_path(text: str) -> str:
    """An object name without its root, so that TR-181 ``Device.SoftwareModules.X.{i}.`` and
    TR-157 component-relative ``SoftwareModules.X.{i}.`` compare equal."""
    for root in ("Device.", "InternetGatewayDevice."):
        if text.startswith(root):
            return text[len(root):]
    return text


def enumerations(file: str, object_path: str, parameter: str) -> list[list[str]]:
    """Every distinct enumeration the file gives ``object_path`` + ``parameter``.

    Objects are matched on their ``name`` (a definition) or ``base`` (a later amendment of
    one); ``ref`` elements belong to profiles and define nothing. Parameters likewise. A
    definition without enumerations (say, a ``base`` that only rewrites the description) is
    not counted. An empty result means the file does not enumerate the parameter.
    """
    found: list[list[str]] = []
    for obj in descendants(parse(file), "object"):
        path = obj.get("name") or obj.get("base")
        if path is None or _object_path(path) != _object_path(object_path):
            continue
        for param in children(obj, "parameter"):
            if (param.get("name") or param.get("base")) != parameter:
                continue
            for syntax in children(param, "syntax"):
                values = [enum.get("value") for enum in descendants(syntax, "enumeration")]
                if values and values not in found:
                    found.append(values)
    return found


def syntax_types(file: str, object_path: str, parameter: str) -> set[str]:
    """The local names of the type elements (string, boolean, ...) under the parameter's syntax."""
    kinds: set[str] = set()
    for obj in descendants(parse(file), "object"):
        path = obj.get("name") or obj.get("base")
        if path is None or _object_path(path) != _object_path(object_path):
            continue
        for param in children(obj, "parameter"):
            if (param.get("name") or param.get("base")) == parameter:
                for syntax in children(param, "syntax"):
                    kinds.update(local(child.tag) for child in syntax)
    return kinds


DU = "SoftwareModules.DeploymentUnit.{i}."
EU = "SoftwareModules.ExecutionUnit.{i}."
EE = "SoftwareModules.ExecEnv.{i}."

# (machine, observable or report, object, parameter, file)
ENUMERATED = [
    ("tr069_deployment_unit", "Status", DU, "Status", TR181_SM),
    ("tr069_execution_unit", "Status", EU, "Status", TR181_SM),
    ("tr069_execution_unit", "ExecutionFaultCode", EU, "ExecutionFaultCode", TR181_SM),
    ("tr069_execution_environment", "Status", EE, "Status", TR181_SM),
    # RequestedState is CWMP-only: TR-181 keeps it in the CWMP file, not the common one.
    ("tr069_execution_unit", "RequestedState", EU, "RequestedState", TR181_CWMP),
]


@pytest.mark.parametrize(("machine_id", "name", "object_path", "parameter", "file"), ENUMERATED,
                         ids=[f"{m}.{n}" for m, n, *_ in ENUMERATED])
def test_domain_equals_tr181_enumeration(machine_id, name, object_path, parameter, file):
    published = enumerations(file, object_path, parameter)
    assert len(published) == 1, f"{file} enumerates {object_path}{parameter} {len(published)} times: {published}"
    # Exactly and in order: the values and their order are what reports and diagrams show.
    # Optional enumeration values (ExecEnv Status Error) are part of the published set.
    assert model_values(machine_id, name) == published[0]


def test_requested_state_is_not_in_the_common_softwaremodules_file():
    """The model cites the CWMP file for RequestedState because only that file defines it."""
    assert enumerations(TR181_SM, EU, "RequestedState") == []


# TR-157 Amendment 3 first defined SoftwareModules. Its enumerations of these parameters are
# identical to TR-181 2.19 (checked value by value, in order): nothing was renamed, added or
# dropped since, RequestedState included (TR-157 keeps it in the one data model file, TR-181
# moved it to the CWMP-only file). If a future file differs, this test says where.
TR157_ENUMERATED = [
    ("tr069_deployment_unit", "Status", DU, "Status"),
    ("tr069_execution_unit", "Status", EU, "Status"),
    ("tr069_execution_unit", "ExecutionFaultCode", EU, "ExecutionFaultCode"),
    ("tr069_execution_environment", "Status", EE, "Status"),
    ("tr069_execution_unit", "RequestedState", EU, "RequestedState"),
]


@pytest.mark.parametrize(("machine_id", "name", "object_path", "parameter"), TR157_ENUMERATED,
                         ids=[f"{m}.{n}" for m, n, *_ in TR157_ENUMERATED])
def test_domain_equals_tr157_enumeration(machine_id, name, object_path, parameter):
    published = enumerations(TR157, object_path, parameter)
    assert len(published) == 1, f"{TR157} enumerates {object_path}{parameter} {len(published)} times: {published}"
    assert model_values(machine_id, name) == published[0]


@pytest.mark.parametrize(("machine_id", "name", "object_path", "parameter"), [
    ("tr069_deployment_unit", "Resolved", DU, "Resolved"),
    ("tr069_execution_unit", "AutoStart", EU, "AutoStart"),
])
@pytest.mark.parametrize("file", [TR181_SM, TR157])
def test_boolean_parameters_have_boolean_domains(machine_id, name, object_path, parameter, file):
    assert syntax_types(file, object_path, parameter) == {"boolean"}
    assert set(observable_of(machine_id, name).values) == {True, False}
    assert all(type(value) is bool for value in observable_of(machine_id, name).values)


# --- XML Schema simple types (cwmp-1-2.xsd) -----------------------------------------------------

INTEGER_BUILTINS = {
    "unsignedInt": (0, 2**32 - 1), "unsignedShort": (0, 2**16 - 1), "unsignedByte": (0, 255),
    "unsignedLong": (0, 2**64 - 1), "int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1),
    "integer": (None, None), "nonNegativeInteger": (0, None), "positiveInteger": (1, None),
}
STRING_BUILTINS = {"string", "normalizedString", "token", "anyURI", "dateTime"}


@dataclass
class SimpleType:
    """What an XSD simple type accepts, tested on lexical forms ("9017", "Installed")."""

    numeric: bool
    accepts: Callable[[str], bool]
    enumeration: list[str] | None = None  # the listed values, where the type is a plain list
    members: list["SimpleType"] = field(default_factory=list)


class Schema:
    """A small resolver of named and anonymous xs:simpleType: restrictions (enumeration,
    min/max Inclusive/Exclusive facets, on a built-in or a named base), unions (memberTypes
    and nested simple types), and the built-in integer and string types."""

    def __init__(self, root: ET.Element):
        self.root = root
        self.named = {element.get("name"): element for element in children(root, "simpleType")}

    def named_type(self, name: str) -> SimpleType:
        if name not in self.named:
            raise AssertionError(f"{CWMP_XSD} declares no simpleType {name!r}")
        return self.simple_type(self.named[name])

    def by_qname(self, qname: str) -> SimpleType:
        prefix, _, name = qname.rpartition(":")
        if name in self.named and prefix != "xs":
            return self.named_type(name)
        if name in INTEGER_BUILTINS:
            low, high = INTEGER_BUILTINS[name]
            return SimpleType(numeric=True, accepts=lambda text: _integer(text) is not None
                              and (low is None or _integer(text) >= low) and (high is None or _integer(text) <= high))
        if name in STRING_BUILTINS:
            return SimpleType(numeric=False, accepts=lambda text: True)
        if name == "boolean":
            return SimpleType(numeric=False, accepts=lambda text: text in ("true", "false", "1", "0"))
        raise AssertionError(f"unsupported XSD type {qname!r}")

    def simple_type(self, element: ET.Element) -> SimpleType:
        for child in element:
            kind = local(child.tag)
            if kind == "restriction":
                return self._restriction(child)
            if kind == "union":
                return self._union(child)
        raise AssertionError(f"simpleType {element.get('name')!r} is neither a restriction nor a union")

    def _restriction(self, element: ET.Element) -> SimpleType:
        if element.get("base"):
            base = self.by_qname(element.get("base"))
        else:
            base = self.simple_type(children(element, "simpleType")[0])
        listed = [facet.get("value") for facet in children(element, "enumeration")]

        def same(a: str, b: str) -> bool:
            return _integer(a) == _integer(b) if base.numeric else a == b

        bounds = []
        for facet in element:
            kind, value = local(facet.tag), facet.get("value")
            if kind in ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive"):
                bounds.append((kind, int(value)))

        def accepts(text: str) -> bool:
            if not base.accepts(text):
                return False
            if listed and not any(same(text, value) for value in listed):
                return False
            number = _integer(text)
            for kind, bound in bounds:
                if number is None:
                    return False
                if ((kind == "minInclusive" and number < bound) or (kind == "maxInclusive" and number > bound)
                        or (kind == "minExclusive" and number <= bound)
                        or (kind == "maxExclusive" and number >= bound)):
                    return False
            return True

        return SimpleType(numeric=base.numeric, accepts=accepts, enumeration=listed or None)

    def _union(self, element: ET.Element) -> SimpleType:
        members = [self.by_qname(name) for name in (element.get("memberTypes") or "").split()]
        members += [self.simple_type(child) for child in children(element, "simpleType")]
        return SimpleType(numeric=all(member.numeric for member in members),
                          accepts=lambda text: any(member.accepts(text) for member in members), members=members)

    def element_type(self, complex_type: str, element_name: str) -> SimpleType:
        """The simple type of ``element_name`` inside the named complexType (a ``type`` reference
        or an anonymous simpleType)."""
        for complex_element in descendants(self.root, "complexType"):
            if complex_element.get("name") != complex_type:
                continue
            for element in descendants(complex_element, "element"):
                if element.get("name") != element_name:
                    continue
                if element.get("type"):
                    return self.by_qname(element.get("type"))
                return self.simple_type(children(element, "simpleType")[0])
        raise AssertionError(f"{CWMP_XSD}: no element {element_name!r} in complexType {complex_type!r}")


def _integer(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def lexical(value: Any) -> str:
    """A model value written as it would appear in a CWMP message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema(parse(CWMP_XSD))


def test_schema_resolver_handles_ranges_and_unions(schema):
    """The resolver itself, on types whose answers the schema text states plainly."""
    extension = schema.named_type("CPEExtensionFaultCodeType")
    assert extension.accepts("9033") and extension.accepts("9799")
    assert not extension.accepts("9032") and not extension.accepts("9800")
    fault_code = schema.element_type("DeploymentUnitFaultStruct", "FaultCode")
    assert len(fault_code.members) == 4  # 0, the DU codes, the extension range, the vendor range
    for accepted in ("0", "9001", "9032", "9033", "9500", "9799", "9800", "9899"):
        assert fault_code.accepts(accepted), accepted
    for refused in ("1", "9000", "9002", "9019", "9900", "Installed"):
        assert not fault_code.accepts(refused), refused


def test_current_state_report_equals_deployment_unit_state(schema):
    published = schema.named_type("DeploymentUnitState").enumeration
    assert published, "DeploymentUnitState lists no values"
    assert model_values("tr069_deployment_unit", "CurrentState") == published
    # and the completion's CurrentState is indeed of that type
    assert schema.element_type("OpResultStruct", "CurrentState").enumeration == published


def test_fault_code_report_values_are_deployment_unit_fault_codes(schema):
    du_codes = schema.named_type("DeploymentUnitCPEFaultCodeType")
    fault_code = schema.element_type("DeploymentUnitFaultStruct", "FaultCode")
    values = observable_of("tr069_deployment_unit", "FaultCode").values
    assert 0 in values, "a successful completion reports FaultCode 0"
    for value in values:
        assert fault_code.accepts(lexical(value)), f"FaultCode {value} is not allowed by DeploymentUnitFaultStruct"
        if value != 0:
            assert du_codes.accepts(lexical(value)), f"FaultCode {value} is not in DeploymentUnitCPEFaultCodeType"


# --- every value a model uses is in its declared domain (no reference files) ---------------------

def _member(value: Any, allowed: tuple[Any, ...]) -> bool:
    # type and value, so that True is not 1
    return any(type(value) is type(candidate) and value == candidate for candidate in allowed)


@pytest.mark.parametrize("machine_id", sorted(shipped_machines()))
def test_every_used_value_is_in_its_domain(machine_id):
    machine = shipped_machines()[machine_id]
    observables = {observable.name: observable for observable in machine.observables}
    reports = {report.name: report for report in machine.reports}
    problems = []
    for observable in (*machine.observables, *machine.reports):
        assert observable.values, f"{observable.name} has an empty domain"
        assert len(set(map(repr, observable.values))) == len(observable.values), f"{observable.name} repeats a value"
        if not _member(observable.initial, observable.domain):
            problems.append(f"{observable.name}: initial {observable.initial!r}")
    for state in machine.states:
        for name, value in state.observe:
            if name not in observables or not _member(value, observables[name].domain):
                problems.append(f"state {state.name} observe {name}={value!r}")
    for transition in machine.transitions:
        where = f"transition {transition.trigger} {transition.source}->{transition.dest}"
        for section, pairs in (("when", transition.when), ("set", transition.set)):
            for name, value in pairs:
                if name not in observables or not _member(value, observables[name].domain):
                    problems.append(f"{where} {section} {name}={value!r}")
        for name, value in transition.reports:
            # a report carries a value: null ("not present") is not one
            if name not in reports or not _member(value, reports[name].values):
                problems.append(f"{where} reports {name}={value!r}")
        fixed = machine.state(transition.dest).fixed
        for name, value in transition.set:
            if name in fixed and not _member(value, (fixed[name],)):
                problems.append(f"{where} sets {name}={value!r} but {transition.dest} fixes {fixed[name]!r}")
    assert not problems, "\n".join(problems)


def test_every_declared_report_value_is_used():
    """A report value no transition carries would be a domain the model does not exercise."""
    for machine in shipped_machines().values():
        for report in machine.reports:
            used = {repr(value) for t in machine.transitions for name, value in t.reports if name == report.name}
            assert used == {repr(value) for value in report.values}, f"{machine.id}.{report.name}"


# --- RPCs and operation types the models name (cwmp-1-2.xsd, tr-181-2-19-1-cwmp.xml) --------------

def _top_element(name: str) -> ET.Element:
    found = [element for element in children(parse(CWMP_XSD), "element") if element.get("name") == name]
    assert len(found) == 1, f"{CWMP_XSD} declares {len(found)} top-level elements {name!r}"
    return found[0]


def _sequence_children(element: ET.Element) -> list[ET.Element]:
    """The elements declared inside ``element`` (its message parameters), not itself."""
    return [child for child in element.iter() if child is not element and local(child.tag) == "element"]


def _transitions(machine_id: str, trigger: str):
    return [t for t in shipped_machines()[machine_id].transitions if t.trigger == trigger]


def _composition(composition_id: str):
    return next(model for model in load_models(builtin_model_paths()) if model.id == composition_id)


def test_ee_reboot_is_the_cwmp_reboot_rpc():
    """The EE's Reboot is the ACS's Reboot RPC: an RPC of the schema, with an empty response, whose
    Inform event the schema names; the model offers it as a server operation and cites the schema."""
    reboot = _top_element("Reboot")
    assert [child.get("name") for child in _sequence_children(reboot)] == ["CommandKey"]
    assert _sequence_children(_top_element("RebootResponse")) == []
    event_codes = ET.tostring(next(t for t in children(parse(CWMP_XSD), "simpleType")
                                   if t.get("name") == "EventCodeType"), encoding="unicode")
    assert "M Reboot" in event_codes
    moves = _transitions("tr069_execution_environment", "Reboot")
    assert moves and all(t.kind == "operation" and "cwmp-1-2.xsd Reboot" in t.spec for t in moves)
    # A reboot restarts the EE, so the composition drags the EUs' restart along, as for ee.restart.
    syncs = {(s.leader, s.leader_trigger): s for s in _composition("tr069_device").synchronizations}
    assert syncs[("ee", "Reboot")].followers == syncs[("ee", "restart")].followers == (("eu", "ee_restarted"),)


def test_change_du_state_carries_several_operations_each_with_its_own_result():
    operations = next(e for e in _sequence_children(_top_element("ChangeDUState")) if e.get("name") == "Operations")
    results = next(e for e in _sequence_children(_top_element("DUStateChangeComplete")) if e.get("name") == "Results")
    assert operations.get("maxOccurs") == "unbounded" and results.get("maxOccurs") == "unbounded"
    assert results.get("type", "").endswith("OpResultStruct")
    (request,) = _transitions("tr069_change_du_state", "ChangeDUState")
    assert request.kind == "operation" and "cwmp-1-2.xsd ChangeDUState Operations[1..unbounded]" in request.spec
    syncs = {(s.leader, s.leader_trigger): s for s in _composition("tr069_device").synchronizations}
    assert syncs[("cds", "ChangeDUState")].followers == (("du", "change_du_state_install"),)
    # The operation the request carries starts a DU as the RPC's own Install operation does.
    (install,) = _transitions("tr069_deployment_unit", "Install")
    (carried,) = _transitions("tr069_deployment_unit", "change_du_state_install")
    assert (carried.source, carried.dest) == (install.source, install.dest) and "InstallOpStruct" in carried.spec


def test_autonomous_operations_are_the_schemas_operation_types():
    """One autonomous DU transition for each OperationPerformed value of an
    AutonomousDUStateChangeComplete, from the state the matching ChangeDUState operation starts in."""
    schema = Schema(parse(CWMP_XSD))
    published = schema.named_type("DefaultDeploymentUnitOperationType").enumeration
    assert published == ["Install", "Update", "Uninstall"]
    machine = shipped_machines()["tr069_deployment_unit"]
    for operation in published:
        requested = [(t.source, t.dest) for t in machine.transitions if t.trigger == operation and t.outcome == "success"]
        autonomous = [(t.source, t.dest) for t in machine.transitions if t.trigger == f"autonomous_{operation.lower()}"]
        assert autonomous and autonomous == requested, operation
        (transition,) = [t for t in machine.transitions if t.trigger == f"autonomous_{operation.lower()}"]
        assert transition.kind == "autonomous" and f"OperationPerformed {operation}" in transition.spec


def test_requested_state_writes_fault_on_a_disabled_execution_environment():
    """TR-181 (CWMP) says any write of RequestedState on a disabled EE MUST fault: every EU trigger
    that writes it is guarded on an enabled EE in the device composition."""
    descriptions = []
    for obj in descendants(parse(TR181_CWMP), "object"):
        if _object_path(obj.get("name") or obj.get("base") or "") == EU:
            for param in children(obj, "parameter"):
                if (param.get("name") or param.get("base")) == "RequestedState":
                    descriptions += [" ".join("".join(d.itertext()).split()) for d in children(param, "description")]
    assert any("disabled" in text and "CWMP Fault MUST be generated" in text for text in descriptions), descriptions
    machine = shipped_machines()["tr069_execution_unit"]
    writes = {t.trigger for t in machine.transitions
              if any(name == "RequestedState" for name, _ in t.reports) or "RequestedState" in t.spec and t.kind == "operation"}
    assert writes == {"RequestActive", "RequestIdle"}
    guards = {}
    for guard in _composition("tr069_device").guards:
        if guard.component == "eu" and guard.requires == "ee":
            guards.setdefault(guard.trigger, []).append(guard)
    for trigger in writes:
        assert guards.get(trigger), f"eu.{trigger} is not guarded on the Execution Environment"
        assert all(g.states and "Disabled" not in g.states for g in guards[trigger]), trigger


# --- the TR-069 firmware image (tr-181-2-19-0-deviceinfo.xml, cwmp-1-2.xsd) ---------------------

TR181_DEVINFO = "tr-181-2-19-0-deviceinfo.xml"
FIRMWARE_IMAGE = "DeviceInfo.FirmwareImage.{i}."
DEVICE_INFO = "DeviceInfo."


def deviceinfo_file() -> str:
    """The DeviceInfo data model; the shared snapshot lists it as a source (BBF-DEVINFO) but, as
    of its README, does not carry a copy: skip with where to get it."""
    if not (BBF_DIR / TR181_DEVINFO).is_file():
        pytest.skip(f"reference file {BBF_DIR / TR181_DEVINFO} is absent: the shared snapshot does not carry the "
                    f"DeviceInfo data model (BroadbandForum/cwmp-data-models, {TR181_DEVINFO}); put a copy there "
                    "or set SWMC_SHARED_DIR to a directory holding reference/data/bbf/ with it")
    return TR181_DEVINFO


def test_firmware_image_status_equals_the_deviceinfo_enumeration():
    """FirmwareImage.{i}.Status exactly as TR-181 2.19 enumerates it, Active (added in 2.14) included."""
    published = enumerations(deviceinfo_file(), FIRMWARE_IMAGE, "Status")
    assert len(published) == 1, f"{TR181_DEVINFO} enumerates {FIRMWARE_IMAGE}Status {len(published)} times: {published}"
    assert model_values("tr069_firmware_image", "Status") == published[0]


def test_firmware_image_parameters_the_model_keeps_are_the_data_models():
    """Available is the instance's boolean parameter; BootFirmwareImage a reference to a row of the
    FirmwareImage table (the model keeps whether it is this row), writable, ActiveFirmwareImage read-only."""
    file = deviceinfo_file()
    assert syntax_types(file, FIRMWARE_IMAGE, "Available") == {"boolean"}
    assert set(observable_of("tr069_firmware_image", "Available").values) == {True, False}
    access = {}
    for obj in descendants(parse(file), "object"):
        if _object_path(obj.get("name") or obj.get("base") or "") == DEVICE_INFO:
            for param in children(obj, "parameter"):
                if param.get("name") in ("BootFirmwareImage", "ActiveFirmwareImage"):
                    access[param.get("name")] = param.get("access")
                    assert syntax_types(file, DEVICE_INFO, param.get("name")) == {"string"}
    assert access == {"BootFirmwareImage": "readWrite", "ActiveFirmwareImage": "readOnly"}
    assert observable_of("tr069_firmware_image", "BootFirmwareImage").values == ("This", "Other")


def test_firmware_transfer_fault_codes_are_transfer_complete_codes(schema):
    """The codes the image's completions report are those a TransferComplete may carry; the code of
    a rejected parameter write is a CPE fault code named as such."""
    fault_code = schema.element_type("TransferCompleteFaultStruct", "FaultCode")
    transfer_codes = schema.named_type("TransferCompleteCPEFaultCodeType")
    values = observable_of("tr069_firmware_image", "FaultCode").values
    assert 0 in values, "a successful transfer reports FaultCode 0"
    for value in values:
        assert fault_code.accepts(lexical(value)), f"FaultCode {value} is not allowed by TransferCompleteFaultStruct"
        if value != 0:
            assert transfer_codes.accepts(lexical(value)), f"FaultCode {value} is not in TransferCompleteCPEFaultCodeType"
    cpe_codes = schema.named_type("CPEFaultCodeType")
    documentation = " ".join(ET.tostring(schema.named["CPEFaultCodeType"], encoding="unicode").split())
    for value in observable_of("tr069_firmware_image", "SetParameterValuesFault").values:
        assert cpe_codes.accepts(lexical(value)) and f"{value} - Invalid parameter value" in documentation


def _documentation(name: str) -> str:
    return " ".join(ET.tostring(next(t for t in children(parse(CWMP_XSD), "simpleType") if t.get("name") == name),
                                encoding="unicode").split())


def test_firmware_requests_are_the_schemas_rpcs_with_the_firmware_file_type():
    """Download, ScheduleDownload and the CPE's RequestDownload carry a DownloadFileType, whose
    '1 Firmware Upgrade Image' the model's requests name; the ScheduleDownload's window can ask for
    the user's confirmation; the Inform events of a transfer and a request exist."""
    assert "1 Firmware Upgrade Image" in _documentation("DownloadFileType")
    for rpc in ("Download", "ScheduleDownload", "RequestDownload"):
        file_type = [e for e in _sequence_children(_top_element(rpc)) if e.get("name") == "FileType"]
        assert [e.get("type") for e in file_type] == ["tns:DownloadFileType"], rpc
    _top_element("Reboot")
    assert "4 Confirmation Needed" in _documentation("TimeWindowModeValueType")
    window = next(t for t in descendants(parse(CWMP_XSD), "complexType") if t.get("name") == "TimeWindowStruct")
    assert {"WindowMode", "UserMessage"} <= {e.get("name") for e in descendants(window, "element")}
    events = _documentation("EventCodeType")
    for event in ("7 TRANSFER COMPLETE", "9 REQUEST DOWNLOAD", "10 AUTONOMOUS TRANSFER COMPLETE", "M Download", "1 BOOT"):
        assert event in events, event
    assert _sequence_children(_top_element("RequestDownloadResponse")) == []
    machine = shipped_machines()["tr069_firmware_image"]
    requests = dict(machine.requests)
    assert requests["Download"].startswith("Download: FileType 1 Firmware Upgrade Image")
    assert requests["ScheduleDownload"].startswith("ScheduleDownload: FileType 1 Firmware Upgrade Image")
    assert "4 Confirmation Needed" in requests["ScheduleDownload"] and requests["Reboot"] == "Reboot"
    for trigger, cited in (("Download", "cwmp-1-2.xsd Download"), ("ScheduleDownload", "cwmp-1-2.xsd ScheduleDownload"),
                           ("request_download", "cwmp-1-2.xsd RequestDownload"),
                           ("autonomous_download", "cwmp-1-2.xsd AutonomousTransferComplete")):
        moves = _transitions("tr069_firmware_image", trigger)
        assert moves and all(cited in " ".join(t.spec.split()) for t in moves), trigger
    # The CPE asks, from every state it rests in; nothing changes on the device.
    requests_sent = _transitions("tr069_firmware_image", "request_download")
    assert all(t.kind == "autonomous" and t.dest == t.source for t in requests_sent)
    assert {t.source for t in requests_sent} == {s.name for s in machine.states if s.kind == "stable"}
