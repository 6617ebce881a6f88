"""pitstore: an embedded, single-file, bitemporal feature store.

Point-in-time training sets (``Store.get_historical_features``) and online features
(``Store.get_online_features``) from one file, with Feast's vocabulary::

    import pitstore
    from pitstore import Entity, FeatureView, Field
    from pitstore.types import Float64, Int64

    store = pitstore.Store("features.pit")
    user = Entity(name="user", join_keys=["user_id"])
    stats = FeatureView(name="user_stats", entities=[user], schema=[Field("sessions", Int64)],
                        timestamp_field="event_timestamp")
    store.apply([user, stats])
    store.ingest("user_stats", rows_df)
    training = store.get_historical_features(labels_df, ["user_stats:sessions"]).to_df()
    online = store.get_online_features(["user_stats:sessions"], [{"user_id": 42}]).to_dict()
"""

from . import errors, types
from .definitions import Entity, FeatureService, FeatureView, FeatureViewProjection, Field
from .errors import Error
from .store import Lookup, OnlineResponse, RetrievalJob, Store

__all__ = ["Store", "Entity", "FeatureView", "Field", "FeatureService", "FeatureViewProjection", "RetrievalJob",
           "OnlineResponse", "Lookup", "Error", "errors", "types"]
__version__ = "0.1.0"
