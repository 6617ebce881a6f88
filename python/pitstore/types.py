"""Feature types, spelled as Feast spells them (``feast.types``) so a Feast user recognises them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureType:
    """A feature's type: its name in pitstore's definitions files, and a vector's length."""

    name: str
    dim: int = 0

    def __repr__(self) -> str:
        return f"Array(Float32, dim={self.dim})" if self.dim else _FEAST_NAMES.get(self.name, self.name)


Bool = FeatureType("bool")
Int32 = FeatureType("int32")
Int64 = FeatureType("int64")
Float32 = FeatureType("float32")
Float64 = FeatureType("float64")
String = FeatureType("string")
Bytes = FeatureType("bytes")
UnixTimestamp = FeatureType("timestamp")

_FEAST_NAMES = {"bool": "Bool", "int32": "Int32", "int64": "Int64", "float32": "Float32", "float64": "Float64",
                "string": "String", "bytes": "Bytes", "timestamp": "UnixTimestamp"}


def Array(element: FeatureType, dim: int) -> FeatureType:  # noqa: N802 (Feast's spelling)
    """A fixed-length vector of float32 (embeddings). pitstore stores vectors of one length per
    feature, so ``dim`` is required; Float64 elements are stored as float32."""
    if element not in (Float32, Float64):
        raise ValueError("pitstore stores vectors of float32 only: Array(Float32, dim=N)")
    if dim <= 0:
        raise ValueError("Array(Float32, dim=N) needs the vector's length N > 0")
    return FeatureType("float32_vector", dim)
