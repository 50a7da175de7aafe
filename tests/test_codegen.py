"""The generator: the committed codec is what asn1/ generates, and every
construct outside the supported subset is refused with a located error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import hanode._codec
from hanode.codegen import GeneratorError, generate, main
from hanode.codegen.main import DEFAULT_ASN1, DEFAULT_OUT, load_model
from hanode.codegen.model import NumericStringType, UTF8StringType
from hanode.codegen.parser import parse_module

HEADER = "M DEFINITIONS AUTOMATIC TAGS ::= BEGIN\n"


def test_committed_codec_is_what_asn1_generates():
    for name, text in generate(DEFAULT_ASN1).items():
        committed = (DEFAULT_OUT / name).read_text(encoding="utf-8")
        assert committed == text, f"{name} is stale: run `python -m hanode.codegen` and commit it"


def test_check_mode_fails_on_stale_output_and_passes_after_regeneration(tmp_path, capsys):
    for name in generate(DEFAULT_ASN1):
        shutil.copy(DEFAULT_OUT / name, tmp_path / name)
    assert main(["--check", "--out", str(tmp_path)]) == 0
    pyx = tmp_path / "_codec.pyx"
    pyx.write_text(pyx.read_text() + "# hand edit\n")
    assert main(["--check", "--out", str(tmp_path)]) == 1
    assert "_codec.pyx" in capsys.readouterr().err
    assert pyx.read_text().endswith("# hand edit\n"), "--check must not write"
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--check", "--out", str(tmp_path)]) == 0


def test_output_is_deterministic_and_undated():
    first, second = generate(DEFAULT_ASN1), generate(DEFAULT_ASN1)
    assert first == second
    assert "Do not edit" in first["_codec.pyx"].splitlines()[0]
    assert "2026" not in first["_codec.pyx"]


def test_the_compiled_extension_is_loaded():
    # No silent fallback exists; make sure the module is the built extension.
    assert Path(hanode._codec.__file__).suffix in (".so", ".pyd")


def test_model_of_the_seed_modules():
    model = load_model(DEFAULT_ASN1)
    assert model.modules == (
        "Failover-election-interface",
        "Failover-monitor-interface",
        "Failover-role-interface",
        "Failover-status-interface",
    )
    assert [p.name for p in model.pdus] == [
        "ElectionMessage", "HealthMonitorMessage", "RoleMessage", "ServiceStatusMessage",
    ]
    hm = next(p for p in model.pdus if p.name == "HealthMonitorMessage")
    corr, comp, message = hm.fields
    assert corr.attr == "correlation_id" and comp.attr == "component_id"
    assert corr.type == NumericStringType(0, 16)
    assert (corr.type.length_bits, corr.type.char_bits) == (5, 4)
    assert message.type.index_bits == 2
    em = next(p for p in model.pdus if p.name == "ElectionMessage")
    leaves = [(tuple(a.name for _, a in path), leaf.name) for path, leaf in em.fields[1].type.leaves()]
    assert leaves == [
        (("nominationMsg",), "NominationMessage"),
        (("electionResult", "electionError"), "ElectionError"),
        (("electionResult", "assigment"), "Assigment"),
        (("electionResult", "veto"), "Veto"),
    ]
    nominee = next(c for c in model.classes if c.name == "NominationMessage").fields[0]
    assert nominee.type == UTF8StringType(0, 16)
    # Classes come after the classes they hold (Cython needs them declared first).
    names = [c.name for c in model.classes]
    assert names.index("BillOfHealth") < names.index("HeartBeat") < names.index("HealthMonitorMessage")


def test_exports_and_imports_as_the_seed_writes_them_are_accepted():
    text = "M DEFINITIONS AUTOMATIC TAGS ::= BEGIN EXPORTS ; IMPORTS ; A ::= SEQUENCE { x UTF8String } END"
    assert parse_module(text, "m.asn").assignments[0].name == "A"
    for exports in ("EXPORTS ALL ;", "EXPORTS A ;", ""):
        parse_module(text.replace("EXPORTS ;", exports), "m.asn")


def _model_of(tmp_path: Path, **files: str):
    for name, text in files.items():
        (tmp_path / f"{name}.asn").write_text(text)
    return load_model(tmp_path)


@pytest.mark.parametrize(
    "source, location, words",
    [
        ("m DEFINITIONS AUTOMATIC TAGS ::= BEGIN END", "m.asn:1:1", "upper-case"),
        ("M DEFINITIONS EXPLICIT TAGS ::= BEGIN END", "m.asn:1:15", "AUTOMATIC TAGS"),
        ("M DEFINITIONS ::= BEGIN END", "m.asn:1:15", "AUTOMATIC TAGS"),
        (HEADER + "A ::= INTEGER\nEND", "m.asn:2:7: M.A", "INTEGER is not supported"),
        (HEADER + "A ::= SEQUENCE {\n  x UTF8String OPTIONAL\n}\nEND", "m.asn:3:16: M.A.x", "OPTIONAL"),
        (HEADER + "A ::= SEQUENCE { x UTF8String, ... }\nEND", "M.A", "extension markers"),
        (HEADER + "A ::= SEQUENCE { x [0] UTF8String }\nEND", "M.A.x", "expected a type"),
        (HEADER + "A ::= SEQUENCE OF UTF8String\nEND", "M.A", "SEQUENCE OF"),
        (HEADER + "A ::= ENUMERATED { a(1), b }\nEND", "M.A", "explicit enumeration values"),
        (HEADER + "A ::= ENUMERATED { a, ... }\nEND", "M.A", "extensible ENUMERATED"),
        (HEADER + "A ::= NumericString (SIZE(1..MAX))\nEND", "M.A", "MIN/MAX"),
        (HEADER + "A ::= UTF8String (FROM(\"a\"))\nEND", "M.A", "only SIZE constraints"),
        (HEADER + "a INTEGER ::= 1\nEND", "m.asn:2:1", "value assignments"),
        ("M DEFINITIONS AUTOMATIC TAGS ::= BEGIN IMPORTS A FROM N ; END", "m.asn:1:48", "IMPORTS ;"),
        (HEADER + "A ::= SEQUENCE { x UTF8String, x UTF8String }\nEND", "M.A", "appears twice"),
        (HEADER + "A ::= CHOICE { }\nEND", "M.A", "at least one alternative"),
        (HEADER + "A ::= SEQUENCE { x UTF8String }", "m.asn:2:32", "end of the file"),
        (HEADER + "A ::= SEQUENCE { x UTF8String } END B", "M", "one module per file"),
        (HEADER + "A ::= SEQUENCE { x # }\nEND", "m.asn:2:20", "unexpected character '#'"),
    ],
)
def test_unsupported_syntax_is_refused_with_its_location(tmp_path, source, location, words):
    with pytest.raises(GeneratorError) as info:
        _model_of(tmp_path, m=source)
    assert location in str(info.value)
    assert words in str(info.value)


@pytest.mark.parametrize(
    "body, where, words",
    [
        ("A ::= SEQUENCE { x B }", "M.A.x", "unknown type 'B'"),
        ("A ::= SEQUENCE { x A }", "M.A", "recursive types"),
        ("A ::= SEQUENCE { c CHOICE { s UTF8String } }", "M.A.c.s", "must be a SEQUENCE or CHOICE"),
        ("A ::= SEQUENCE { c CHOICE { p B, q B } }\nB ::= SEQUENCE { }", "M.A.c", "both B"),
        ("A ::= SEQUENCE { s SEQUENCE { x UTF8String } }", "M.A.s", "needs a name"),
        ("A ::= SEQUENCE { e ENUMERATED { a, b } }", "M.A.e", "needs a name"),
        ("A ::= SEQUENCE { n NumericString }", "M.A.n", "unbounded NumericString"),
        ("A ::= CHOICE { b B }\nB ::= SEQUENCE { }", "M.A", "top-level CHOICE"),
        ("A ::= SEQUENCE { }\nA ::= SEQUENCE { }", "M.A", "defined twice"),
        ("A ::= SEQUENCE { x B }\nB ::= NumericString (SIZE(0..8)) (SIZE(1))", "M.B", "only one SIZE constraint"),
    ],
)
def test_unsupported_types_are_refused_with_a_dotted_location(tmp_path, body, where, words):
    with pytest.raises(GeneratorError) as info:
        _model_of(tmp_path, m=HEADER + body + "\nEND")
    assert f" {where}: " in str(info.value)
    assert words in str(info.value)


def test_same_name_across_modules_must_be_the_same_type(tmp_path):
    one = HEADER.replace("M ", "One ") + "T ::= SEQUENCE { x UTF8String }\nEND"
    same = HEADER.replace("M ", "Two ") + "T ::= SEQUENCE { x UTF8String }\nU ::= SEQUENCE { t T }\nEND"
    model = _model_of(tmp_path, a=one, b=same)
    assert [c.name for c in model.classes] == ["T", "U"]
    (tmp_path / "b.asn").write_text(same.replace("T ::= SEQUENCE { x UTF8String }", "T ::= SEQUENCE { y UTF8String }"))
    with pytest.raises(GeneratorError, match="also defined, differently"):
        load_model(tmp_path)


def test_cli_reports_errors_with_exit_status_2(tmp_path, capsys):
    (tmp_path / "bad.asn").write_text(HEADER + "A ::= REAL\nEND")
    assert main(["--asn1", str(tmp_path), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "bad.asn:2:7" in err and "REAL is not supported" in err
    assert not (tmp_path / "_codec.pyx").exists()


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(GeneratorError, match="no .asn files"):
        load_model(tmp_path)
