"""The fiscal register models: one line each.

A model is a driver file (``fiscal/<vendor>.py``) with its ``FiscalRegister`` and its settings
(a ``RegisterSettings`` subclass whose ``model`` is a literal, with the keys only that model
has, and ``build()``). ``RegisterConfig`` is what ``[[fiscal.registers]]`` is validated
against: ``model`` picks the settings (``atol`` when it is left out, as before there were
models), so a key of another model is a configuration error that names the register.

To add a model: ``edge_agent/fiscal/<vendor>.py``, its simulator in ``sim/``, and its settings
class in ``MODELS`` below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Final, Union

from pydantic import Discriminator, Tag

from edge_agent.fiscal.atol import AtolSettings
from edge_agent.fiscal.register import RegisterSettings


def _models(*models: type[RegisterSettings]) -> tuple[type[RegisterSettings], ...]:
    return models


#: the register models, by their ``model`` key
MODELS: Final[tuple[type[RegisterSettings], ...]] = _models(
    AtolSettings,
)
DEFAULT_MODEL: Final = "atol"


def _model_of(value: Any) -> str:
    return str(value.get("model", DEFAULT_MODEL) if isinstance(value, dict) else value.model)


def _config_type() -> Any:
    tagged = [Annotated[m, Tag(m.model_fields["model"].default)] for m in MODELS]
    if len(tagged) == 1:
        return MODELS[0]
    return Annotated[Union[tuple(tagged)], Discriminator(_model_of)]  # noqa: UP007


if TYPE_CHECKING:
    RegisterConfig = RegisterSettings
else:
    RegisterConfig = _config_type()
