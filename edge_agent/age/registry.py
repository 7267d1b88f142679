"""The age-document services: one line each, and the one ``[age] backend`` picks.

``staff`` (the default) means no document service: staff check every age, as before. The
configuration accepts every registered service's keys, so switching is one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pydantic import create_model, field_validator

from edge_agent.age import max_id
from edge_agent.age.backend import AgeBackend
from edge_agent.config_types import Section


@dataclass(frozen=True, slots=True)
class AgeService:
    keys: type[Section]
    build: Callable[[Any], AgeBackend]


#: [age] backend -> the service
SERVICES: Final[dict[str, AgeService]] = {
    "max": AgeService(max_id.MaxIdKeys, max_id.build),
}


class AgeSettings(Section):
    """``[age]``: which document service the kiosks' scanners take age proofs to."""

    #: ``staff`` (staff check ages), or a service of ``SERVICES``
    backend: str = "staff"

    @field_validator("backend")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value != "staff" and value not in SERVICES:
            raise ValueError(f"unknown age-document service {value!r} (known: staff, {', '.join(sorted(SERVICES))})")
        return value


if TYPE_CHECKING:
    Age = AgeSettings
else:
    Age = create_model("Age", __base__=(AgeSettings, *(s.keys for s in SERVICES.values())))


def age_backend(settings: AgeSettings) -> AgeBackend | None:
    service = SERVICES.get(settings.backend)
    if service is None:
        return None
    keys = service.keys.model_validate(settings.model_dump(include=set(service.keys.model_fields)))
    return service.build(keys)
