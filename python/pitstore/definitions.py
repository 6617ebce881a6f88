"""Definitions as Python objects, with the names and arguments Feast uses (``Entity``,
``FeatureView``, ``Field``, ``FeatureService``). ``Store.apply`` takes them, a YAML file or a
YAML string, and commits every change in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Optional, Sequence, Union

from .types import FeatureType, Int64, String


@dataclass
class Entity:
    """What features describe (a user, a driver), named by its join keys.

    ``join_keys`` lists the key columns; each is an int64 unless ``value_type`` (one type for
    all) says ``String``, or the key is given as ``(name, type)``.
    """

    name: str
    join_keys: Sequence[Union[str, tuple]] = ()
    value_type: FeatureType = Int64
    description: str = ""

    def _to_dict(self) -> dict:
        keys = []
        for k in self.join_keys or [self.name + "_id"]:
            name, kind = (k if isinstance(k, tuple) else (k, self.value_type))
            if kind not in (Int64, String):
                raise ValueError(f"entity '{self.name}': join key '{name}' must be Int64 or String")
            keys.append((name, kind.name))
        return {"name": self.name, "join_keys": keys, "description": self.description}


@dataclass
class Field:
    """One feature of a view: a name and a type (``pitstore.types``)."""

    name: str
    dtype: FeatureType
    description: str = ""


@dataclass
class FeatureView:
    """Versioned rows of features per entity key.

    ``schema`` lists the features; fields named like a join key of the view's entities are
    skipped (Feast lists them in the schema too). ``ttl`` withholds values older than it;
    ``timestamp_field`` and ``created_timestamp_column`` name the source columns of event time
    and of the time a row was learned (then its ``system_ts``), as Feast's sources do.
    ``retention`` (None: all history) lets merges drop versions whose event time is older than
    that, keeping each key's newest such version. ``freshness`` is an objective: the view is
    stale when the newest row it learned is older than that (``pitstore freshness``).
    """

    name: str
    entities: Sequence[Union[Entity, str]]
    schema: Sequence[Field]
    ttl: Optional[timedelta] = None
    timestamp_field: str = ""
    created_timestamp_column: str = ""
    description: str = ""
    owner: str = ""
    tags: dict = field(default_factory=dict)
    source: Any = None  # accepted for Feast's signature; pitstore ingests with Store.ingest
    retention: Optional[timedelta] = None
    freshness: Optional[timedelta] = None

    def __getitem__(self, features: Sequence[str]) -> "FeatureViewProjection":
        """``view[["a", "b"]]``: some of the view's features, for a FeatureService."""
        names = [f.name for f in self.schema]
        for f in features:
            if f not in names:
                raise KeyError(f"feature view '{self.name}' has no feature '{f}'")
        return FeatureViewProjection(self.name, list(features))

    def _to_dict(self) -> dict:
        keys = set()
        for e in self.entities:
            if isinstance(e, Entity):
                keys.update(k if isinstance(k, str) else k[0] for k in (e.join_keys or [e.name + "_id"]))
        ts_source = getattr(self.source, "timestamp_field", "") or ""
        created_source = getattr(self.source, "created_timestamp_column", "") or ""
        features = []
        for f in self.schema:
            if f.name in keys:
                continue
            d = {"name": f.name, "type": f.dtype.name, "description": f.description}
            if f.dtype.dim:
                d["dim"] = f.dtype.dim
            features.append(d)
        return {
            "name": self.name,
            "entities": [e.name if isinstance(e, Entity) else e for e in self.entities],
            "features": features,
            "ttl_us": int(self.ttl.total_seconds() * 1_000_000) if self.ttl else 0,
            "retention_us": int(self.retention.total_seconds() * 1_000_000) if self.retention else 0,
            "freshness_us": int(self.freshness.total_seconds() * 1_000_000) if self.freshness else 0,
            "description": self.description,
            "owner": self.owner,
            "tags": {str(k): str(v) for k, v in self.tags.items()},
            "event_timestamp": self.timestamp_field or ts_source,
            "created_timestamp": self.created_timestamp_column or created_source,
        }

    def _refs(self) -> list[str]:
        return [f"{self.name}:{f}" for f in self._feature_names()]

    def _feature_names(self) -> list[str]:
        return [f["name"] for f in self._to_dict()["features"]]


@dataclass
class FeatureViewProjection:
    """Some features of one view (``view[["a", "b"]]``)."""

    view: str
    features: list

    def _refs(self) -> list[str]:
        return [f"{self.view}:{f}" for f in self.features]


@dataclass
class FeatureService:
    """The named set of features one model reads: views (all their features), projections
    (``view[["a"]]``) or ``"view:feature"`` references."""

    name: str
    features: Sequence[Union[FeatureView, FeatureViewProjection, str]]
    description: str = ""
    owner: str = ""
    tags: dict = field(default_factory=dict)

    def _to_dict(self) -> dict:
        refs: list[str] = []
        for f in self.features:
            refs.extend([f] if isinstance(f, str) else f._refs())
        return {"name": self.name, "features": refs, "description": self.description, "owner": self.owner,
                "tags": {str(k): str(v) for k, v in self.tags.items()}}
