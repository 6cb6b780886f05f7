"""What every app the tests make would otherwise redo, done once a process: templates, URL builders.

The test process uses both for the apps it makes (`tests/conftest.py`), and the forker of app
servers fills them before it forks (`tests/forks.py`), so that no served app compiles either.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType

from jinja2.bccache import Bucket, BytecodeCache
from werkzeug.routing import Rule


class CompiledTemplates(BytecodeCache):
    """Templates compiled once for all the apps of a process, kept as code objects (not marshalled)."""

    def __init__(self) -> None:
        self.compiled: dict[str, tuple[str, CodeType]] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        checksum, code = self.compiled.get(bucket.key, ("", None))
        if code is not None and checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            self.compiled[bucket.key] = (bucket.checksum, bucket.code)


COMPILED_TEMPLATES = CompiledTemplates()


def route_builders_once(
    compile_builder: Callable[..., Callable[..., tuple[str, str]]],
) -> Callable[[Rule, bool], Callable[..., tuple[str, str]]]:
    """`Rule._compile_builder` that compiles each rule's URL builder once, for every app that registers it.

    Werkzeug writes a builder as Python source from the rule's parts and compiles it, which was
    most of `create_app`'s time; the function it makes depends on nothing but those parts (the
    rule's converters are reached through `self` when it runs).
    """
    builders: dict[tuple[object, ...], Callable[..., tuple[str, str]]] = {}

    def once(rule: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        defaults = rule.defaults or {}
        if any(dynamic and part in defaults for dynamic, part in rule._trace):
            return compile_builder(rule, append_unknown)
        key = (rule.rule, tuple(rule._trace), repr(sorted(defaults.items())), append_unknown)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    return once
