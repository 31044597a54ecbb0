"""The shape of crm/ holds: no import cycles, arrows only point down the layers, every refusal code has
words and every word a refusal, follow-up sources are never parsed, and each scheduled job is declared once.

Static: the modules are read with `ast`, never imported (except the refusal catalogue, for its keys), so
no app is needed. docs/architecture.md explains the rules these tests enforce.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CRM = Path(__file__).resolve().parents[1] / "crm"


# ---------------------------------------------------------------- reading crm/

@dataclass(frozen=True)
class Import:
    """One name a module imports: `module` is the dotted target, `name` the imported name (from-imports)."""

    source: str
    module: str
    name: str | None
    line: int


def module_name(path: Path) -> str:
    """crm/services/jobs.py -> crm.services.jobs; crm/labels/__init__.py -> crm.labels."""
    parts = path.relative_to(CRM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every Python module under crm/, by dotted name."""
    return {module_name(path): path for path in sorted(CRM.rglob("*.py"))}


@cache
def tree(name: str) -> ast.Module:
    """The parsed source of a crm module."""
    path = modules()[name]
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def relative_where(name: str) -> str:
    """The module's file, relative to the repository, for messages."""
    return str(modules()[name].relative_to(CRM.parent))


def crm_sources() -> dict[str, ast.Module]:
    """Every crm module's parsed source, by its file (the checkers below also take synthetic sources)."""
    return {relative_where(name): tree(name) for name in modules()}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node, function bodies included, leaving out `if TYPE_CHECKING:` blocks (never run)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for orelse in child.orelse:
                yield orelse
                yield from _runtime_nodes(orelse)
            continue
        yield child
        yield from _runtime_nodes(child)


def _package_of(name: str) -> str:
    """The package a module's relative imports start from."""
    return name if modules()[name].name == "__init__.py" else name.rpartition(".")[0]


def read_imports(source: ast.Module, module: str, package: str) -> list[Import]:
    """What a module imports at run time: top level and inside functions, relative imports resolved."""
    found = []
    for node in _runtime_nodes(source):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found += [Import(module, base, alias.name, node.lineno) for alias in node.names]
    return found


@cache
def imports_of(name: str) -> list[Import]:
    """What a crm module imports at run time."""
    return read_imports(tree(name), name, _package_of(name))


def crm_target(imported: Import) -> str | None:
    """The crm module an import loads: `from crm.services import access` is crm.services.access itself."""
    known = modules()
    if imported.name is not None and f"{imported.module}.{imported.name}" in known:
        return f"{imported.module}.{imported.name}"
    module = imported.module
    while module and module not in known:
        module = module.rpartition(".")[0]
    return module if module.startswith("crm") and module else None


@cache
def import_graph() -> dict[str, dict[str, int]]:
    """crm module -> {crm module it imports: line of the first such import}."""
    graph: dict[str, dict[str, int]] = {}
    for name in modules():
        edges = graph.setdefault(name, {})
        for imported in imports_of(name):
            target = crm_target(imported)
            if target is not None and target != name:
                edges.setdefault(target, imported.line)
    return graph


# ---------------------------------------------------------------- import cycles

def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle path (first node repeated at the end) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        # Tarjan's algorithm; the module graph is small enough for recursion.
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_through(group, graph) for group in sorted(groups)]


def _cycle_through(group: list[str], graph: Mapping[str, Iterable[str]]) -> list[str]:
    """The shortest path from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph.get(node, ())):
                if target == start:
                    return [*paths[node], start]
                if target in members and target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {group}")  # unreachable for a strongly connected group


def test_the_cycle_finder_reports_a_synthetic_cycle_and_passes_a_tree():
    cyclic = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["a"], "f": ["f"]}
    assert find_cycles(cyclic) == [["a", "b", "c", "a"], ["f", "f"]]
    assert find_cycles({"a": ["b", "c"], "b": ["c"], "c": [], "d": ["a"]}) == []


def test_the_import_reader_sees_submodules_function_level_and_relative_imports():
    source = ast.parse(
        "from crm.services import access\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from crm.routes import loaders\n"
        "def later():\n"
        "    from . import access as visibility\n"
        "    import crm.domain.clock\n")
    found = read_imports(source, "crm.services.x", "crm.services")
    assert [(i.module, i.name, i.line) for i in found] == [
        ("crm.services", "access", 1), ("typing", "TYPE_CHECKING", 2), ("crm.services", "access", 6),
        ("crm.domain.clock", None, 7)]
    assert [crm_target(i) for i in found] == ["crm.services.access", None, "crm.services.access",
                                              "crm.domain.clock"]
    assert crm_target(Import("x", "crm.models", "Client", 1)) == "crm.models"
    graph = import_graph()
    assert "crm.services.access" in graph["crm.routes.loaders"]
    assert any(target.startswith("crm.routes.") for target in graph["crm"]), "create_app's imports"


def test_no_import_cycles_between_crm_modules():
    graph = import_graph()
    cycles = find_cycles(graph)
    described = [" -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"
                 for cycle in cycles]
    assert not described, "import cycles (break each: move the shared piece down a layer):\n" + "\n".join(
        described)


# ---------------------------------------------------------------- layers

def _in(name: str, *packages: str) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def names_used(source: ast.Module, imports: list[Import]) -> Iterator[tuple[str, int]]:
    """Dotted names a module imports or reaches as attributes (`flask.abort`), with their line."""
    for imported in imports:
        yield (f"{imported.module}.{imported.name}" if imported.name else imported.module), imported.line
    for node in _runtime_nodes(source):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            yield f"{node.value.id}.{node.attr}", node.lineno


@dataclass(frozen=True)
class Layer:
    """What the modules of a layer never use (`forbidden`), but for the `except_in` modules and `except_for` names."""

    modules: tuple[str, ...]
    forbidden: tuple[str, ...]
    why: str
    except_in: tuple[str, ...] = ()
    except_for: tuple[str, ...] = ()


BELOW_ROUTES = ("crm.services", "crm.domain", "crm.models", "crm.labels", "crm.seed")
LAYERS = [
    Layer(("crm.services", "crm.domain"), ("flask.abort", "werkzeug.exceptions.abort"),
          "raise NotFound/NotAllowed (crm.domain.refusals); the routes turn them into 404/403"),
    Layer(BELOW_ROUTES, ("crm.routes", "crm.forms"), "arrows point down: routes and forms call services"),
    Layer(("crm.services", "crm.domain"),
          ("flask.render_template", "flask.render_template_string", "jinja2_fragments"),
          "services render nothing but emails, through crm.services.mail", except_in=("crm.services.mail",)),
    # The three allowed are about the request itself: its session cookie, the address an audit row records
    # when there is a request (jobs pass none), the page a form draft was saved from.
    Layer(("crm.services", "crm.domain"), ("flask.request",),
          "a workflow takes what it needs as arguments, so jobs and the CLI can call it",
          except_in=("crm.services.sessions", "crm.services.audit", "crm.services.drafts")),
    Layer(("crm.models",), ("crm.services", "crm.labels", "crm.seed"),
          "models are the bottom layer: they import crm.domain and crm.extensions only"),
    Layer(("crm.labels",), ("crm.services", "crm.seed"),
          "labels are words keyed by the models' enums; services (audit, emails) and routes read them"),
    # A form shows a format refusal in words, so it may read the refusal catalogue, no other route module.
    Layer(("crm.forms",), ("crm.routes",), "routes use forms, not the other way",
          except_for=("crm.routes.refusals",)),
    Layer((*BELOW_ROUTES, "crm.forms"), ("crm.jobs", "crm.scheduler", "crm.cli"),
          "the job registry, the scheduler and the CLI sit on top and call services"),
]


def violations_in(name: str, where: str, source: ast.Module, imports: list[Import]) -> list[str]:
    """Every import of one module that points up a layer, as 'file:line: name (why)'."""
    found = []
    everything_used = list(names_used(source, imports))
    for layer in LAYERS:
        if not _in(name, *layer.modules) or _in(name, *layer.except_in) or _in(name, *layer.forbidden):
            continue
        for used, line in everything_used:
            if _in(used, *layer.forbidden) and not _in(used, *layer.except_for):
                found.append(f"{where}:{line}: {used} ({layer.why})")
    if _in(name, "crm.domain"):
        for imported in imports:
            target = crm_target(imported)
            if target is not None and not _in(target, "crm.domain"):
                found.append(f"{where}:{imported.line}: {target} "
                             "(crm.domain imports nothing from crm outside crm.domain)")
    return found


def layer_violations() -> list[str]:
    """Every import under crm/ that points up a layer."""
    return sorted({violation for name in modules()
                   for violation in violations_in(name, relative_where(name), tree(name), imports_of(name))})


def test_the_layer_check_sees_what_a_service_or_domain_module_must_not_import():
    source = ast.parse("import flask\nfrom flask import request\nfrom crm.routes import loaders\n"
                       "def f():\n    flask.abort(404)\n")
    imports = read_imports(source, "crm.services.x", "crm.services")
    found = violations_in("crm.services.x", "x.py", source, imports)
    assert [line.split(" (")[0] for line in found] == [
        "x.py:5: flask.abort", "x.py:3: crm.routes.loaders", "x.py:2: flask.request"]
    domain = ast.parse("from crm.extensions import db\nfrom crm.domain.clock import SHANGHAI\n")
    found = violations_in("crm.domain.x", "d.py", domain, read_imports(domain, "crm.domain.x", "crm.domain"))
    assert [line.split(" (")[0] for line in found] == ["d.py:1: crm.extensions"]
    mail = ast.parse("from flask import render_template\n")
    assert violations_in("crm.services.mail", "m.py", mail, read_imports(mail, "crm.services.mail", "")) == []
    form = ast.parse("from crm.routes.refusals import text\nfrom crm.routes.helpers import render\n")
    found = violations_in("crm.forms.x", "f.py", form, read_imports(form, "crm.forms.x", "crm.forms"))
    assert [line.split(" (")[0] for line in found] == ["f.py:2: crm.routes.helpers.render"]


def test_imports_point_down_the_layers():
    violations = layer_violations()
    assert not violations, "imports against the layers (docs/architecture.md):\n" + "\n".join(violations)


# ---------------------------------------------------------------- refusal codes and their words

REFUSAL_BASE = "RuleError"


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


@dataclass
class RefusalClass:
    """A RuleError subclass: `fixed` is the code it always raises, `takes_code` whether argument 1 is one."""

    name: str
    bases: list[str]
    fixed: str | None = None
    takes_code: bool | None = None  # None: inherits the answer of its base
    fixed_params: frozenset[str] | None = None  # the parameters its fixed code is raised with (None: unknown)


def refusal_classes(sources: Mapping[str, ast.Module]) -> dict[str, RefusalClass]:
    """RuleError and every class deriving from it in these sources, by class name."""
    classes: dict[str, RefusalClass] = {REFUSAL_BASE: RefusalClass(REFUSAL_BASE, [], takes_code=True)}
    declared = {}
    for source in sources.values():
        for node in ast.walk(source):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                         for b in node.bases]
                declared.setdefault(node.name, (node, bases))
    changed = True
    while changed:
        changed = False
        for class_name, (node, bases) in declared.items():
            if class_name not in classes and any(base in classes for base in bases):
                classes[class_name] = _describe(node, bases)
                changed = True
    for described in classes.values():  # a subclass without its own __init__ behaves like its base
        base = described
        while base.takes_code is None and base.fixed is None and base.bases:
            base = classes[next(b for b in base.bases if b in classes)]
        if described.takes_code is None and described.fixed is None:
            described.takes_code, described.fixed = base.takes_code, base.fixed
            described.fixed_params = base.fixed_params
    return classes


def _describe(node: ast.ClassDef, bases: list[str]) -> RefusalClass:
    described = RefusalClass(node.name, bases)
    for statement in node.body:
        if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in statement.targets):
            described.fixed = _literal(statement.value)
        if isinstance(statement, ast.FunctionDef) and statement.name == "__init__":
            params = [a.arg for a in [*statement.args.posonlyargs, *statement.args.args]][1:]
            for call in ast.walk(statement):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "__init__" and call.args):
                    first = call.args[0]
                    if _literal(first) is not None:
                        described.fixed, described.takes_code = _literal(first), False
                        described.fixed_params = _keywords(call)
                    elif isinstance(first, ast.Name) and params and first.id == params[0]:
                        described.takes_code = True
                    elif described.fixed is None:
                        described.takes_code = False  # the code is computed: nothing to read statically
    return described


def _keywords(call: ast.Call) -> frozenset[str] | None:
    """The keyword parameters a call passes; None when a `**mapping` may pass more."""
    names = [keyword.arg for keyword in call.keywords]
    return None if None in names else frozenset(names)


@dataclass(frozen=True)
class Raised:
    """A refusal code written in the code, where, and the parameters passed with it (None: unknown)."""

    code: str
    where: str
    params: frozenset[str] | None = None


def raised_codes(sources: Mapping[str, ast.Module]) -> list[Raised]:
    """Every literal code a RuleError (or subclass) is built with in these sources, and every fixed code."""
    classes = refusal_classes(sources)
    found = []
    for where, source in sources.items():
        for node in ast.walk(source):
            if not isinstance(node, ast.Call) or _call_name(node) not in classes:
                continue
            described = classes[_call_name(node)]
            if described.takes_code and node.args and _literal(node.args[0]) is not None:
                found.append(Raised(_literal(node.args[0]), f"{where}:{node.lineno}", _keywords(node)))
            elif described.fixed is not None:
                found.append(Raised(described.fixed, f"{where}:{node.lineno}", described.fixed_params))
    return found


def refusal_words() -> dict[str, object]:
    """The catalogue of refusal words, `crm.routes.refusals.TEXT`."""
    from crm.routes.refusals import TEXT

    return TEXT


def test_the_code_reader_knows_fixed_passed_and_inherited_codes():
    sources = {"r.py": ast.parse(
        "class RuleError(Exception): ...\n"
        "class Conflict(RuleError):\n"
        "    def __init__(self, code, field=None, /, **params):\n"
        "        super().__init__(code, field, **params)\n"
        "class NameTaken(RuleError):\n"
        "    def __init__(self, name):\n"
        "        super().__init__('user.name_taken', 'username', name=name)\n"
        "class StaleUser(Conflict): ...\n"
        "class Computed(RuleError):\n"
        "    def __init__(self, kind):\n"
        "        super().__init__(f'asset.{kind}')\n"
        "def f(code):\n"
        "    RuleError.several([RuleError('plan.a', 'x'), errors.RuleError(code)])\n"
        "    raise NameTaken('li')\n"
        "    raise StaleUser('user.edited_meanwhile')\n"
        "    raise Computed('bad_row')\n")}
    # A fixed code counts where its class is raised; a computed one cannot be read, so it is not listed.
    assert sorted((r.where, r.code, r.params) for r in raised_codes(sources)) == [
        ("r.py:13", "plan.a", frozenset()), ("r.py:14", "user.name_taken", {"name"}),
        ("r.py:15", "user.edited_meanwhile", frozenset())]
    real = {raised.code for raised in raised_codes(crm_sources())}
    assert {"not_found", "not_allowed"} <= real


def test_every_refusal_code_raised_has_words():
    words = refusal_words()
    missing = sorted(f"{raised.where}: {raised.code}" for raised in raised_codes(crm_sources())
                     if raised.code not in words)
    assert not missing, "refusal codes without words in crm/routes/refusals.py TEXT:\n" + "\n".join(missing)


# Refusals whose route supplies a display parameter (`refusals.show(error, form, name=...)`), with the reason.
PARAMETERS_FROM_THE_ROUTE = {
    "assets.running": "crm/routes/assets.py passes `since` as a local time: show(running, form, time=...)",
}


def test_the_words_of_a_refusal_use_only_the_parameters_raised_with_it():
    # text() fills %(name)s from the refusal's parameters: one missing is a KeyError, a 500 for the user.
    words = refusal_words()
    short = sorted(f"{raised.where}: {raised.code} needs {sorted(needed - raised.params)}"
                   for raised in raised_codes(crm_sources())
                   if raised.code in words and raised.params is not None
                   and raised.code not in PARAMETERS_FROM_THE_ROUTE
                   for needed in [set(re.findall(r"%\((\w+)\)", str(words[raised.code])))]
                   if not needed <= raised.params)
    assert not short, "refusals raised without a parameter their words use:\n" + "\n".join(short)


def _string_constants_outside_the_catalogue() -> set[str]:
    found = set()
    for name in modules():
        if name == "crm.routes.refusals":
            continue
        found |= {node.value for node in ast.walk(tree(name))
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    return found


def test_every_word_in_the_refusal_catalogue_is_raised_somewhere():
    # A code built at run time (a table of codes passed to a helper) counts when written anywhere in crm/.
    used = {raised.code for raised in raised_codes(crm_sources())} | _string_constants_outside_the_catalogue()
    dead = sorted(code for code in refusal_words() if code not in used)
    assert not dead, "TEXT entries no rule raises (delete them or raise them):\n" + "\n".join(dead)


def test_refusal_codes_are_feature_dot_rule():
    shared = {"not_found", "not_allowed"}
    badly_named = sorted(code for code in refusal_words()
                         if code not in shared and (code.count(".") != 1 or not all(code.split("."))))
    assert not badly_named, "codes are '<feature>.<rule>': " + ", ".join(badly_named)


# ---------------------------------------------------------------- follow-up sources are columns

SOURCES_MODULE = "crm.services.followup_sources"


KEY_QUERIES = {"startswith", "endswith", "like", "ilike", "contains", "split", "rsplit", "partition",
               "rpartition"}
SPLITS = {"split", "rsplit", "partition", "rpartition"}


def _mentions_source_key(function: ast.AST) -> bool:
    return any((isinstance(n, ast.Attribute) and n.attr == "source_key") or (isinstance(n, ast.Name) and n.id
               == "source_key") or _literal(n) == "source_key" for n in ast.walk(function))


def parsed_sources_in(where: str, source: ast.Module) -> dict[int, str]:
    """Lines that read a follow-up source back out of its key instead of its columns."""
    found: dict[int, str] = {}
    for function in ast.walk(source):
        # A ":"-split in a function that handles source keys is the key being parsed.
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and _mentions_source_key(function):
            for node in ast.walk(function):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in SPLITS and node.args and _literal(node.args[0]) == ":"):
                    found[node.lineno] = f"{where}:{node.lineno}: {ast.unparse(node)} in {function.name}()"
    for node in ast.walk(source):
        # FollowUp.source_key.startswith(...), .like(...): a prefix query on the opaque key.
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in KEY_QUERIES
                and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "source_key"):
            found.setdefault(node.lineno, f"{where}:{node.lineno}: {ast.unparse(node.func)}(...)")
    return found


def source_parsing() -> list[str]:
    """Every place under crm/ (but the one module that builds keys) that parses a source key."""
    return sorted(found for name in modules() if name != SOURCES_MODULE
                  for found in parsed_sources_in(relative_where(name), tree(name)).values())


def test_the_source_check_sees_a_split_key_and_a_prefix_query_but_not_a_time():
    source = ast.parse(
        "def progress(rows):\n"
        "    q = select(FollowUp).where(FollowUp.source_key.startswith('plan-item:'))\n"
        "    return [int(row.source_key.split(':')[1]) for row in rows]\n"
        "def parse_local_time(text):\n"
        "    return text.split(':')\n")
    assert sorted(parsed_sources_in("s.py", source)) == [2, 3]


def test_follow_up_sources_are_read_from_columns_never_parsed_from_keys():
    parsed = source_parsing()
    assert not parsed, (f"follow-up source keys parsed (query the columns; build keys only in "
                        f"{SOURCES_MODULE}):\n" + "\n".join(parsed))


def key_prefixes() -> set[str]:
    """The kinds of source key `crm.services.followup_sources` builds: 'plan-item:', 'flag:', ..."""
    prefixes = set()
    for node in ast.walk(tree(SOURCES_MODULE)):
        first = node.values[0] if isinstance(node, ast.JoinedStr) and node.values else node
        text = _literal(first)
        if text is not None and ":" in text and text.split(":", 1)[0].replace("-", "").isalpha():
            prefixes.add(text.split(":", 1)[0] + ":")
    return prefixes


def test_follow_up_source_keys_are_built_in_one_module():
    prefixes = key_prefixes()
    assert {"plan-item:", "flag:"} <= prefixes, f"{SOURCES_MODULE} builds the keys: found {sorted(prefixes)}"
    built = sorted(f"{relative_where(name)}:{node.lineno}: {node.value!r}"
                   for name in modules() if name != SOURCES_MODULE for node in ast.walk(tree(name))
                   if _literal(node) is not None and node.value.startswith(tuple(prefixes)))
    assert not built, f"source keys built outside {SOURCES_MODULE} (call its function for the kind):\n" + (
        "\n".join(built))


# ---------------------------------------------------------------- one declaration per job

REGISTRY = "crm.jobs"
JOB_DECLARATION = "Job"  # the class each registry entry is built with


def job_declarations(sources: Mapping[str, ast.Module]) -> dict[str, list[str]]:
    """Job name -> where a `Job(name, ...)` declares it."""
    found: dict[str, list[str]] = {}
    for where, source in sources.items():
        for node in ast.walk(source):
            if isinstance(node, ast.Call) and _call_name(node) == JOB_DECLARATION:
                job = _literal(node.args[0]) if node.args else _literal(
                    next((k.value for k in node.keywords if k.arg == "name"), None))
                if job is not None:
                    found.setdefault(job, []).append(f"{where}:{node.lineno}")
    return found


def test_the_job_reader_sees_a_job_declared_twice():
    sources = {"a.py": ast.parse("JOBS = (Job('scan', scan), Job(name='digest', work=send))\n"),
               "b.py": ast.parse("extra = Job('scan', rescan)\n")}
    assert job_declarations(sources) == {"scan": ["a.py:1", "b.py:1"], "digest": ["a.py:1"]}


def test_each_scheduled_job_is_declared_once_and_nowhere_else():
    declared = job_declarations(crm_sources())
    assert declared, f"no {JOB_DECLARATION}(...) declarations found under crm/"
    twice = {job: places for job, places in declared.items() if len(places) > 1}
    registries = {place.rsplit(":", 1)[0] for places in declared.values() for place in places}
    assert not twice and registries == {relative_where(REGISTRY)}, (
        f"{REGISTRY} declares each job once: {declared}")
    for builder in ("crm.scheduler", "crm.cli"):
        assert REGISTRY in import_graph()[builder], f"{builder} builds from {REGISTRY}"
    # The scheduler and the CLI build from the registry: a job's name written in them is a second declaration.
    elsewhere = []
    for name in modules():
        if relative_where(name) in registries:
            continue
        for node in ast.walk(tree(name)):
            if _literal(node) in declared:
                elsewhere.append(f"{relative_where(name)}:{node.lineno}: {_literal(node)!r}")
    assert not elsewhere, "a job named outside its registry:\n" + "\n".join(sorted(elsewhere))
