import json

import click
from click.testing import CliRunner

from ringebu_journal.cli.validate import validate
from ringebu_journal.errors import RingebuError


def run(args):
    """Invoke like cli.main does: RingebuError → its exit code and one line."""
    runner = CliRunner()
    result = runner.invoke(validate, args, standalone_mode=False)
    exc = result.exception
    if isinstance(exc, RingebuError):
        return exc.exit_code, result.output, str(exc)
    assert exc is None, repr(exc)
    return 0, result.output, ""


def test_good_package_exits_0(package):
    code, out, _ = run([str(package)])
    assert code == 0 and "OK" in out


def test_problems_exit_1_with_json(package):
    (package / "DOKUMENT" / "2024" / "0-0-1.txt").write_bytes(b"changed")
    code, out, msg = run([str(package), "--format", "json"])
    assert code == 1 and "problem" in msg
    data = json.loads(out)
    assert data["ok"] is False and {f["control"] for f in data["findings"]} == {"N5.30"}


def test_missing_path_exits_2(tmp_path):
    code, out, msg = run([str(tmp_path / "nope")])
    assert code == 2 and "no such file" in msg and "\n" not in msg


def test_command_is_a_click_command():
    assert isinstance(validate, click.Command) and validate.name == "validate"
