"""Meta-tests that keep the plugin surface honest: every hook documented, exercised and cheap to import."""

from __future__ import annotations

import builtins
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from unireward_sdk import Registry, hookspecs
from unireward_sdk.hookspecs import HOOK_KINDS, hookimpl
from unireward_sdk.host import PluginHost
from unireward_sdk.specs import SPEC_TYPES
from unireward_sdk.testing import spec_plugin, temporary_plugin

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "plugins.md"
HEAVY = ("torch", "transformers", "diffusers", "trl", "accelerate", "peft")


def _examples() -> dict[str, str]:
    """The code blocks of docs/plugins.md marked ``<!-- example: NAME -->``."""
    text = DOCS.read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- example: (\S+) -->\s*```\w*\n(.*?)```", text, flags=re.S))


def _signature(hook: str) -> str:
    """``unireward_register_x() -> Iterable[XSpec]`` from the hookspec itself."""
    func = getattr(hookspecs, hook)
    return f"{hook}() -> {func.__annotations__['return']}"


def _hookspec_functions() -> list[str]:
    return sorted(name for name, value in vars(hookspecs).items()
                  if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_spec"))


# --- the hook surface -----------------------------------------------------------------------------


def test_hook_kinds_lists_every_hookspec_and_every_spec_type():
    assert _hookspec_functions() == sorted(HOOK_KINDS)
    assert sorted(HOOK_KINDS.values()) == sorted(SPEC_TYPES)


@pytest.mark.parametrize("hook", sorted(HOOK_KINDS))
def test_hookspec_is_a_documented_argument_free_generator(hook):
    func = getattr(hookspecs, hook)
    assert inspect.signature(func).parameters == {}, "hooks take no arguments"
    assert inspect.isgeneratorfunction(func)
    assert func.__annotations__["return"] == f"Iterable[{SPEC_TYPES[HOOK_KINDS[hook]].__name__}]"
    doc = inspect.getdoc(func)
    assert "Yields:" in doc and "Example:" in doc and "@hookimpl" in doc


@pytest.mark.parametrize("hook", sorted(HOOK_KINDS))
def test_hook_is_in_the_docs_table_with_its_signature(hook):
    rows = [line for line in DOCS.read_text(encoding="utf-8").splitlines() if line.startswith(f"| `{hook}")]
    assert len(rows) == 1, f"docs/plugins.md needs one hooks-table row for {hook}"
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[0] == f"`{_signature(hook)}`"
    assert cells[1] == f"`{HOOK_KINDS[hook]}`"


def test_docs_table_has_no_hook_that_does_not_exist():
    documented = set(re.findall(r"^\| `(unireward_\w+)\(", DOCS.read_text(encoding="utf-8"), flags=re.M))
    assert documented == set(HOOK_KINDS)


@pytest.mark.parametrize("hook", sorted(HOOK_KINDS))
def test_every_hook_registers_a_component_the_registry_finds(hook):
    kind = HOOK_KINDS[hook]
    spec_type = SPEC_TYPES[kind]
    extra = {"task": "probe", "mode": "pairwise_rank", "family": "x"} if kind == "template" else {}
    spec = spec_type(name=f"probe.{kind}", factory=lambda **kw: ("built", kw), **extra)
    host = PluginHost.load(builtins=(), entry_points=[])
    reg = Registry.from_host(host)
    with temporary_plugin(spec_plugin(spec), name=f"probe_{kind}", host=host):
        assert host.plugins[f"probe_{kind}"].hooks == (hook,)
        assert reg.spec(kind, f"probe.{kind}") is spec
        assert getattr(reg, f"{kind}_spec")(f"probe.{kind}") is spec  # the typed accessor exists
        assert host.failures == []
    assert reg.names(kind) == []


def _run_docstring_example(hook: str):
    """Execute the ``Example:`` of a hookspec, with stand-ins for the classes it mentions."""
    doc = inspect.getdoc(getattr(hookspecs, hook))
    code = textwrap.dedent(doc.split("Example:", 1)[1])
    namespace = {"hookimpl": hookimpl, **{cls.__name__: cls for cls in SPEC_TYPES.values()}}
    compiled = compile(code, f"<{hook} example>", "exec")

    def names(co):
        yield from co.co_names
        for const in co.co_consts:
            if inspect.iscode(const):
                yield from names(const)

    for name in set(names(compiled)) - set(namespace) - set(dir(builtins)):
        namespace[name] = type(name, (), {"name": name})  # e.g. AudioModality, MY_TEMPLATE
    exec(compiled, namespace)
    return namespace


@pytest.mark.parametrize("hook", sorted(HOOK_KINDS))
def test_hookspec_docstring_example_works(hook):
    namespace = _run_docstring_example(hook)
    specs = list(namespace[hook]())
    assert specs and all(isinstance(s, SPEC_TYPES[HOOK_KINDS[hook]]) for s in specs)
    host = PluginHost.load(builtins=(), entry_points=[])
    plugin = type("Example", (), {hook: staticmethod(namespace[hook])})
    with temporary_plugin(plugin, name="example", host=host):
        assert set(host.components()[HOOK_KINDS[hook]]) == {s.name for s in specs}


# --- the guide's worked example -------------------------------------------------------------------


def test_guide_plugin_installs_and_passes_its_own_contract_tests(make_dist, site, tmp_path):
    examples = _examples()
    project = tomllib.loads(examples["pyproject.toml"])["project"]
    entry_points = project["entry-points"]["unireward"]
    assert entry_points == {"myplugin": "my_pkg.plugin"}
    make_dist(project["name"], project["version"], entry_points=entry_points,
              modules={"my_pkg.plugin": examples["my_pkg/plugin.py"]})
    test_file = tmp_path / "plugin_tests" / "test_table.py"
    test_file.parent.mkdir()
    test_file.write_text(examples["tests/test_table.py"], encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIREWARD_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH")) if p)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                            cwd=test_file.parent, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", result.stdout).group(1))
    assert passed >= 10 and "skipped" not in result.stdout


def test_guide_fake_distribution_example_runs(tmp_path, monkeypatch):
    from unireward_sdk.testing import fake_distribution

    code = _examples()["test_fake_distribution"]
    namespace = {"fake_distribution": fake_distribution, "PluginHost": PluginHost}
    exec(compile(code, "<docs example>", "exec"), namespace)
    try:
        namespace["test_broken_dependency_is_recorded"](tmp_path, monkeypatch)
    finally:
        for module in [m for m in sys.modules if m == "my_pkg" or m.startswith("my_pkg.")]:
            del sys.modules[module]


# --- import cost ----------------------------------------------------------------------------------

_PROBE = """
import contextlib, io, json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _heavy_modules_after(body: str, **env) -> list[str]:
    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("UNIREWARD_")}, **env}
    result = subprocess.run([sys.executable, "-c", _PROBE.format(body=body, heavy=HEAVY)], env=full_env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_unireward_sdk_leaves_torch_unimported():
    assert _heavy_modules_after("import unireward_sdk, unireward_sdk.testing") == []


def test_plugins_command_leaves_torch_unimported():
    body = ("from unireward_sdk.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['plugins', '--json'])")
    assert _heavy_modules_after(body) == []


def test_probe_detects_a_heavy_import():
    """The probe above can fail: importing a small heavy-listed module is seen."""
    assert _heavy_modules_after("sys.modules['torch'] = object()") == ["torch"]


def test_every_contract_module_is_in_the_guide_and_every_guide_module_exists():
    import importlib.util

    import unireward_sdk.testing as testing_pkg

    text = DOCS.read_text(encoding="utf-8")
    shipped = {p.stem for p in Path(testing_pkg.__file__).parent.glob("*.py")
               if re.search(r"^class \w+Contract\b", p.read_text(encoding="utf-8"), flags=re.M)}
    mentioned = set(re.findall(r"`unireward_sdk\.testing\.(\w+)`", text))
    assert shipped <= mentioned, f"contract modules missing from docs/plugins.md: {sorted(shipped - mentioned)}"
    missing = sorted(m for m in mentioned if importlib.util.find_spec(f"unireward_sdk.testing.{m}") is None)
    assert not missing, f"docs/plugins.md names contract modules that do not exist: {missing}"
    for name in re.findall(r"\| `unireward_sdk\.testing\.\w+` \| `(\w+Contract)`", text):
        module = next(m for m in shipped if f"`unireward_sdk.testing.{m}` | `{name}`" in text)
        assert hasattr(importlib.import_module(f"unireward_sdk.testing.{module}"), name)
