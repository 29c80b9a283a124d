"""What a lazy package facade (``tg_base.lazy_names``) tells type checkers, read from its source."""

from __future__ import annotations

import ast
import inspect
from types import ModuleType

__all__ = ["type_checking_imports"]


def type_checking_imports(package: ModuleType) -> dict[str, tuple[str, ...]]:
    """Module -> names imported in ``package``'s ``if TYPE_CHECKING:`` block."""
    tree = ast.parse(inspect.getsource(package))
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    return {
        f"{node.module}": tuple(alias.name for alias in node.names)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
    }
