"""Without its framework, an adapter's import fails with an ImportError naming the extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Run in a fresh interpreter where the framework's package cannot be imported.
BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {blocked!r} or name.startswith({blocked!r} + "."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Block())
"""


def run_blocked(blocked: str, code: str) -> subprocess.CompletedProcess[str]:
    source = BLOCKER.format(blocked=blocked) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("module", "framework", "extra"),
    [
        ("langchain", "langchain_core", "langchain"),
        ("langgraph", "langgraph", "langgraph"),
        ("llama_index", "llama_index", "llama-index"),
        ("mcp", "mcp", "mcp"),
    ],
)
def test_the_import_error_names_the_extra(module: str, framework: str, extra: str) -> None:
    result = run_blocked(
        framework,
        f"""
        try:
            import ferromem.integrations.{module}
        except ImportError as e:
            print("IMPORT ERROR:", e)
        """,
    )
    assert result.returncode == 0, result.stderr
    assert f"pip install 'ferromem[{extra}]'" in result.stdout
    assert f"ferromem.integrations.{module} needs {framework}" in result.stdout


def test_ferromem_itself_imports_without_any_framework() -> None:
    code = "import ferromem, ferromem.integrations; print(ferromem.SQLiteMemory.__name__)"
    for framework in ("langchain_core", "langgraph", "llama_index", "mcp"):
        result = run_blocked(framework, code)
        assert result.returncode == 0 and "SQLiteMemory" in result.stdout, result.stderr


def test_the_mcp_command_says_which_extra_is_missing(tmp_path: object) -> None:
    result = run_blocked(
        "mcp",
        f"""
        import sys
        from ferromem.cli import main
        sys.exit(main(["mcp", "--db", {str(tmp_path) + "/x.db"!r}]))
        """,
    )
    assert result.returncode == 5
    assert "pip install 'ferromem[mcp]'" in result.stderr
