"""The catalog and received-codes streams' payloads (central → edge, docs/mqtt.md), validated
before anything is applied: a product with a price that is not a number of kopecks, a code
map that is not a map, is refused as a whole with a ``PayloadError`` naming the field."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge_agent.errors import EdgeError

Gtin = Annotated[str, Field(pattern=r"^\d{14}$")]
Kopecks = Annotated[int, Field(ge=0, le=10**10)]
Ki = Annotated[str, Field(min_length=18, max_length=128)]
Km = Annotated[str, Field(min_length=18, max_length=512)]


class PayloadError(EdgeError):
    """A stream message whose data is not what the contract says (code ``bad_payload``)."""


#: a product picture's file name: letters, digits, dot, dash, underscore; a raster format (an SVG
#: could carry script, and a name with a path could leave the images directory)
IMAGE_NAME: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(png|jpg|jpeg|webp)$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class ProductData(_Strict):
    gtin: Gtin
    name: Annotated[str, Field(min_length=1, max_length=256)]
    price: Kopecks
    vat: Annotated[int, Field(ge=0, le=100)] = 20
    category: Annotated[str, Field(max_length=64)] = ""
    group: Annotated[str, Field(max_length=64)] | None = None
    marked: bool = False
    min_age: Annotated[int, Field(ge=0, le=99)] = 0
    alcohol: bool = False
    qty_limit: Annotated[int, Field(ge=1)] | None = None
    loyalty_price: Kopecks | None = None
    #: ``weight``: ``price`` per kilogram, each item's weight in its mark code
    sold_by: Literal["piece", "weight"] = "piece"
    pack_units: Annotated[int, Field(ge=0, le=10_000)] = 0  # a marked pack sold in parts
    egais: bool = False  # stamped strong alcohol (ЕГАИС)
    volume_ml: Annotated[int, Field(ge=0, le=100_000)] = 0
    #: the product's picture: a plain file name in the store's images directory (no path)
    image: Annotated[str, Field(pattern=IMAGE_NAME)] | None = None


class CatalogData(_Strict):
    version: Annotated[int, Field(ge=0, le=2**53)]
    products: list[ProductData] = []
    delete: list[Gtin] = []


class CodesData(_Strict):
    version: Annotated[int, Field(ge=0, le=2**53)]
    #: КИ → КМ, as acceptance documents bring them
    codes: dict[Ki, Km] = {}


def stream_data(stream: str, data: Any) -> dict[str, Any]:
    """``data`` of a ``catalog`` or ``codes`` message, checked and normalised; PayloadError if not."""
    models: dict[str, type[CatalogData] | type[CodesData]] = {"catalog": CatalogData, "codes": CodesData}
    model = models.get(stream)
    if model is None:
        raise PayloadError("bad_payload", f"no stream {stream!r}")
    try:
        return model.model_validate(data).model_dump()
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "data"
        raise PayloadError("bad_payload", f"{stream}: {where}: {first['msg']}") from None
