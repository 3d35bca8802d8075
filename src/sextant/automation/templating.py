"""Templated values in actions: `{{ record.first_name }}`, `{{ payload.score }}`, `{{ now }}`.

Jinja2's sandbox, because workflow authors are users, not developers: no attribute access to Python
internals, no imports. Plain-text rendering (emails are sent as text/plain), a missing value renders empty.
"""

from __future__ import annotations

from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

# None renders as nothing: "Hi {{ record.title }}" with no title reads "Hi ", not "Hi None".
_env = SandboxedEnvironment(
    undefined=ChainableUndefined, autoescape=False, finalize=lambda v: "" if v is None else v
)
MAX_TEMPLATE = 10_000


def syntax_error(value: Any) -> str | None:
    """Why a template (or any string inside a structure) does not parse, or None."""
    if isinstance(value, str):
        if len(value) > MAX_TEMPLATE:
            return f"a template is limited to {MAX_TEMPLATE} characters"
        if "{{" in value or "{%" in value:
            try:
                _env.parse(value)
            except TemplateSyntaxError as exc:
                return f"template error: {exc.message}"
        return None
    if isinstance(value, dict):
        return next((e for v in value.values() if (e := syntax_error(v))), None)
    if isinstance(value, list):
        return next((e for v in value if (e := syntax_error(v))), None)
    return None


def has_template(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return False


def render(value: Any, context: dict[str, Any]) -> Any:
    """Fill templates in a string, or in every string of a dict/list; other values pass unchanged. A string
    that is exactly one `{{ expression }}` keeps its value's type (a number stays a number)."""
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return value
        stripped = value.strip()
        if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
            result = _env.compile_expression(stripped[2:-2].strip(), undefined_to_none=True)(**context)
            return None if isinstance(result, ChainableUndefined) else result
        return _env.from_string(value).render(**context)
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value
